// The exporter end to end in-process: HTTP on 127.0.0.1 port 0 over the emulated library.
#include "exporter/exporter.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "gpu/emu_state.h"
#include "http/client.h"

namespace gpuscale::exporter {
namespace {

using namespace std::chrono_literals;

TEST(ListenAddressTest, Parses) {
  EXPECT_EQ(ParseListenAddress(":9400").value(), std::pair(std::string("0.0.0.0"), uint16_t{9400}));
  EXPECT_EQ(ParseListenAddress("127.0.0.1:0").value(),
            std::pair(std::string("127.0.0.1"), uint16_t{0}));
  EXPECT_EQ(ParseListenAddress("[::1]:80").value(), std::pair(std::string("::1"), uint16_t{80}));
  EXPECT_EQ(ParseListenAddress("9400").error().message,
            "--address: expected [host]:port, found '9400'");
  EXPECT_EQ(ParseListenAddress(":http").error().message,
            "--address: expected a port number 0-65535, found 'http'");
}

class ExporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = "/tmp/gse_XXXXXX";
    dir_ = mkdtemp(templ.data());
    setenv("GPUSCALE_EMU_DIR", dir_.c_str(), 1);
    options_.address = "127.0.0.1:0";
    options_.collector.nvml_library = GPUSCALE_NVML_EMU_PATH;
    options_.collector.collect_interval = 100ms;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
  ExporterOptions options_;
  core::SystemClock clock_;
};

TEST_F(ExporterTest, ServesMetricsAndHealth) {
  ASSERT_TRUE(gpu::emu::CreateGpu(dir_, 0, {}).ok());
  auto e = Exporter::Start(options_, clock_);
  ASSERT_TRUE(e.ok()) << e.error().ToString();
  auto client = http::Client::Create();
  std::string base = "http://127.0.0.1:" + std::to_string((*e)->port());
  auto health = client->Get(base + "/health");
  ASSERT_TRUE(health.ok()) << health.error().ToString();
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, "OK");
  std::string body;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto m = client->Get(base + "/metrics");
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->headers.Get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    body = m->body;
    if (body.find("DCGM_FI_DEV_GPU_UTIL{gpu=\"0\"") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(body.find("DCGM_FI_DEV_GPU_UTIL{gpu=\"0\""), std::string::npos) << body;
  EXPECT_EQ(client->Get(base + "/nope")->status, 404);
  (*e)->Stop();
}

TEST_F(ExporterTest, BadCountersFileIsReportedWithItsLine) {
  std::string path = dir_ + "/counters.csv";
  std::ofstream(path) << "DCGM_FI_DEV_GPU_UTIL, gauge, ok\nDCGM_FI_DEV_FB_USED, gauge\n";
  options_.collectors_file = path;
  auto e = Exporter::Start(options_, clock_);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message, path + ":2: expected 3 fields (name, type, help), found 2");
}

}  // namespace
}  // namespace gpuscale::exporter
