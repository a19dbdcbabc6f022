#include "gpu/emu_state.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace gpuscale::gpu::emu {
namespace {

std::string TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "emu_state_XXXXXX").string();
  return mkdtemp(templ.data());
}

TEST(EmuStateTest, ConfigRoundTrips) {
  GpuConfig c;
  c.uuid = "GPU-1";
  c.name = "NVIDIA H100 80GB HBM3";
  c.architecture = "hopper";
  c.memory_total_mib = 81559;
  c.not_supported = {"power", "temperature"};
  c.lost = true;
  auto parsed = ParseConfig(FormatConfig(c), "gpu0.conf");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->uuid, "GPU-1");
  EXPECT_EQ(parsed->name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(parsed->memory_total_mib, 81559u);
  EXPECT_EQ(parsed->not_supported, (std::vector<std::string>{"power", "temperature"}));
  EXPECT_TRUE(parsed->lost);
  EXPECT_FALSE(parsed->fail_init);
}

TEST(EmuStateTest, ConfigErrorsNameTheLine) {
  EXPECT_EQ(ParseConfig("name = x\ncolour = red\n", "gpu0.conf").error().message,
            "gpu0.conf:2: unknown key 'colour'");
  EXPECT_EQ(ParseConfig("# c\n\npower_max_w = lots\n", "gpu1.conf").error().message,
            "gpu1.conf:3: expected a number, found 'lots'");
  EXPECT_EQ(ParseConfig("lost\n", "g").error().message,
            "g:1: expected 'key = value', found 'lost'");
}

TEST(EmuStateTest, CountersAreSharedBetweenMappings) {
  std::string dir = TempDir();
  ASSERT_TRUE(CreateGpu(dir, 0, {}).ok());
  ASSERT_TRUE(CreateGpu(dir, 1, {}).ok());
  EXPECT_EQ(CountGpus(dir), 2);
  auto writer = CountersMapping::Open(CountersPath(dir, 1), false);
  auto reader = CountersMapping::Open(CountersPath(dir, 1), false);
  ASSERT_TRUE(writer.ok() && reader.ok());
  EXPECT_GT((*reader)->created_unix_ns, 0u);
  (*writer)->busy_ns.fetch_add(1500);
  (*writer)->memory_used_bytes.store(1 << 20);
  EXPECT_EQ((*reader)->busy_ns.load(), 1500u);
  EXPECT_EQ((*reader)->memory_used_bytes.load(), 1u << 20);
  auto config = ReadConfig(ConfigPath(dir, 1));
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->pci_bus_id, "00000000:02:00.0");
  EXPECT_NE(config->uuid, ReadConfig(ConfigPath(dir, 0))->uuid);
  std::filesystem::remove_all(dir);
}

TEST(EmuStateTest, RejectsForeignFiles) {
  std::string dir = TempDir();
  std::string path = dir + "/junk.counters";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::string junk(4096, 'x');
    std::fwrite(junk.data(), 1, junk.size(), f);
    std::fclose(f);
  }
  auto m = CountersMapping::Open(path, false);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code, core::Code::kDataLoss);
  EXPECT_FALSE(CountersMapping::Open(dir + "/missing.counters", false).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gpuscale::gpu::emu
