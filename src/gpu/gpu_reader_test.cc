// The reader against the emulated NVML library: the same code path the exporter runs on real
// GPUs, with faults injected through the state directory.
#include "gpu/gpu_reader.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "gpu/emu_state.h"
#include "gpu/nvml_library.h"

namespace gpuscale::gpu {
namespace {

using namespace std::chrono_literals;

std::string TempDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "gpu_reader_XXXXXX").string();
  return mkdtemp(templ.data());
}

core::Timestamp Now() { return core::SystemClock().Now(); }

// Advances a GPU's busy counter at `fraction` of wall time on a thread, until destroyed.
class BusyTicker {
 public:
  BusyTicker(const std::string& dir, int index, double fraction)
      : mapping_(
            std::move(emu::CountersMapping::Open(emu::CountersPath(dir, index), false).value())),
        thread_([this, fraction] {
          auto last = std::chrono::steady_clock::now();
          for (int i = 0; i < 20000 && !stop_; ++i) {  // bounded: at most ~100 s
            std::this_thread::sleep_for(5ms);
            auto now = std::chrono::steady_clock::now();
            auto ns = static_cast<std::uint64_t>((now - last).count() * fraction);
            last = now;
            mapping_->busy_ns.fetch_add(ns);
            mapping_->sm_active_ns.fetch_add(ns / 2);
            mapping_->tensor_active_ns.fetch_add(ns / 4);
            mapping_->dram_active_ns.fetch_add(ns / 5);
          }
        }) {}
  ~BusyTicker() {
    stop_ = true;
    thread_.join();
  }

 private:
  emu::CountersMapping mapping_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class GpuReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    setenv("GPUSCALE_EMU_DIR", dir_.c_str(), 1);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void AddGpu(int index, emu::GpuConfig c) { ASSERT_TRUE(emu::CreateGpu(dir_, index, c).ok()); }
  emu::GpuConfig H100() {
    emu::GpuConfig c;
    c.name = "NVIDIA H100 80GB HBM3";
    c.architecture = "hopper";
    c.memory_total_mib = 81559;
    c.power_idle_w = 70;
    c.power_max_w = 700;
    c.temp_idle_c = 30;
    c.temp_max_c = 80;
    c.sm_clock_max_mhz = 1980;
    c.mem_clock_mhz = 2619;
    return c;
  }
  void Edit(int index, const std::function<void(emu::GpuConfig&)>& change) {
    auto c = emu::ReadConfig(emu::ConfigPath(dir_, index));
    ASSERT_TRUE(c.ok());
    change(*c);
    ASSERT_TRUE(emu::WriteConfig(emu::ConfigPath(dir_, index), *c).ok());
  }
  std::optional<double> Value(const Reading& r, int gpu, FieldId f,
                              const std::vector<FieldId>& fields) {
    for (const EntityReading& e : r.entities) {
      if (e.entity.gpu != gpu) continue;
      for (size_t i = 0; i < fields.size(); ++i) {
        if (fields[i] == f) return e.values[i];
      }
    }
    return std::nullopt;
  }

  std::string dir_;
};

TEST_F(GpuReaderTest, MissingLibraryIsUnavailable) {
  auto r = GpuReader::Open("/nonexistent/libnvidia-ml.so.1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kUnavailable);
  EXPECT_NE(r.error().message.find("/nonexistent/libnvidia-ml.so.1"), std::string::npos);
}

TEST_F(GpuReaderTest, LibraryWithoutNvmlIsRejected) {
  auto r = GpuReader::Open("libm.so.6");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not an NVML library"), std::string::npos);
}

TEST_F(GpuReaderTest, InitFailsWithoutStateDirectoryAndWhenInjected) {
  unsetenv("GPUSCALE_EMU_DIR");
  auto r = GpuReader::Open(GPUSCALE_NVML_EMU_PATH);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Driver Not Loaded"), std::string::npos) << r.error().message;
  setenv("GPUSCALE_EMU_DIR", dir_.c_str(), 1);
  emu::GpuConfig c;
  c.fail_init = true;
  AddGpu(0, c);
  EXPECT_FALSE(GpuReader::Open(GPUSCALE_NVML_EMU_PATH).ok());
  Edit(0, [](emu::GpuConfig& g) { g.fail_init = false; });
  EXPECT_TRUE(GpuReader::Open(GPUSCALE_NVML_EMU_PATH).ok());
}

TEST_F(GpuReaderTest, ReadsIdentityAndIdleValues) {
  AddGpu(0, emu::GpuConfig{});
  AddGpu(1, H100());
  {
    auto m = emu::CountersMapping::Open(emu::CountersPath(dir_, 1), false);
    ASSERT_TRUE(m.ok());
    (*m)->memory_used_bytes = 10ull << 30;
  }
  auto reader = GpuReader::Open(GPUSCALE_NVML_EMU_PATH);
  ASSERT_TRUE(reader.ok()) << reader.error().ToString();
  std::vector<FieldId> f = {
      FieldId::kFbTotal,    FieldId::kFbUsed,  FieldId::kFbFree,    FieldId::kFbReserved,
      FieldId::kPowerUsage, FieldId::kGpuTemp, FieldId::kMemClock,  FieldId::kSmClock,
      FieldId::kMemoryTemp, FieldId::kGpuUtil, FieldId::kXidErrors, FieldId::kVgpuLicenseStatus};
  Reading r = (*reader)->Read(f, Now());
  ASSERT_EQ(r.entities.size(), 2u);
  EXPECT_EQ(r.driver_version, "550.54.15-emu");
  const Entity& e1 = r.entities[1].entity;
  EXPECT_EQ(e1.gpu, 1);
  EXPECT_EQ(e1.model_name, "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(e1.pci_bus_id, "00000000:02:00.0");
  EXPECT_TRUE(e1.uuid.starts_with("GPU-"));
  EXPECT_EQ(Value(r, 1, FieldId::kFbTotal, f), 81559);
  EXPECT_EQ(Value(r, 1, FieldId::kFbUsed, f), 10240);
  EXPECT_EQ(Value(r, 1, FieldId::kFbReserved, f), 815);
  EXPECT_EQ(Value(r, 1, FieldId::kFbFree, f), 81559 - 815 - 10240);
  EXPECT_EQ(Value(r, 1, FieldId::kPowerUsage, f), 70.0);
  EXPECT_EQ(Value(r, 1, FieldId::kGpuTemp, f), 30);
  EXPECT_EQ(Value(r, 1, FieldId::kSmClock, f), 210);
  EXPECT_EQ(Value(r, 1, FieldId::kMemClock, f), 2619);
  EXPECT_EQ(Value(r, 1, FieldId::kGpuUtil, f), 0);
  EXPECT_EQ(Value(r, 1, FieldId::kXidErrors, f), 0);
  EXPECT_EQ(Value(r, 1, FieldId::kVgpuLicenseStatus, f), 0);
  EXPECT_TRUE(Value(r, 1, FieldId::kMemoryTemp, f).has_value());   // HBM
  EXPECT_FALSE(Value(r, 0, FieldId::kMemoryTemp, f).has_value());  // GDDR6 L4: omitted
  EXPECT_EQ(Value(r, 0, FieldId::kPowerUsage, f), 16.0);
}

TEST_F(GpuReaderTest, UtilizationPowerAndTemperatureFollowTheBusyCounter) {
  AddGpu(0, H100());
  auto reader = GpuReader::Open(GPUSCALE_NVML_EMU_PATH);
  ASSERT_TRUE(reader.ok());
  BusyTicker ticker(dir_, 0, 0.5);
  std::vector<FieldId> f = {FieldId::kGpuUtil, FieldId::kPowerUsage, FieldId::kGpuTemp,
                            FieldId::kSmClock, FieldId::kTotalEnergyConsumption};
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::optional<double> util;
  Reading r;
  while (std::chrono::steady_clock::now() < deadline) {
    r = (*reader)->Read(f, Now());
    util = Value(r, 0, FieldId::kGpuUtil, f);
    // A full one-second window of the ticker, not a partial one.
    if (util && *util >= 47 && *util <= 53) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(util.has_value());
  EXPECT_NEAR(*util, 50, 3);
  double expected_w = 70 + (700 - 70) * (*util / 100.0);
  EXPECT_NEAR(*Value(r, 0, FieldId::kPowerUsage, f), expected_w, 20);
  EXPECT_NEAR(*Value(r, 0, FieldId::kGpuTemp, f), 55, 3);
  EXPECT_EQ(Value(r, 0, FieldId::kSmClock, f), 1980);
  EXPECT_GT(*Value(r, 0, FieldId::kTotalEnergyConsumption, f), 0);
}

TEST_F(GpuReaderTest, UnsupportedFieldsAreOmittedNotZero) {
  emu::GpuConfig c;
  c.not_supported = {"power", "temperature"};
  AddGpu(0, c);
  auto reader = GpuReader::Open(GPUSCALE_NVML_EMU_PATH);
  ASSERT_TRUE(reader.ok());
  std::vector<FieldId> f = {FieldId::kPowerUsage, FieldId::kGpuTemp, FieldId::kFbUsed,
                            FieldId::kRowRemapFailure, FieldId::kProfSmActive};
  Reading r = (*reader)->Read(f, Now());
  ASSERT_EQ(r.entities.size(), 1u);
  EXPECT_FALSE(r.entities[0].values[0].has_value());
  EXPECT_FALSE(r.entities[0].values[1].has_value());
  EXPECT_EQ(r.entities[0].values[2], 0);
  EXPECT_FALSE(r.entities[0].values[3].has_value());  // no row remapping on Ada
  EXPECT_FALSE(r.entities[0].values[4].has_value());  // no GPM before Hopper
  EXPECT_TRUE((*reader)->stats().errors_by_call.empty());
}

TEST_F(GpuReaderTest, MissingSymbolMakesItsFieldsUnsupported) {
  AddGpu(0, emu::GpuConfig{});
  auto lib = NvmlLibrary::Load(GPUSCALE_NVML_EMU_PATH);
  ASSERT_TRUE(lib.ok());
  (*lib)->nvmlDeviceGetPowerUsage = nullptr;
  (*lib)->nvmlDeviceGetMemoryInfo_v2 = nullptr;
  auto reader = OpenGpuReader(std::move(lib).value());
  ASSERT_TRUE(reader.ok());
  std::vector<FieldId> f = {FieldId::kPowerUsage, FieldId::kFbUsed, FieldId::kFbReserved,
                            FieldId::kGpuTemp};
  Reading r = (*reader)->Read(f, Now());
  ASSERT_EQ(r.entities.size(), 1u);
  EXPECT_FALSE(r.entities[0].values[0].has_value());
  EXPECT_EQ(r.entities[0].values[1], 230);  // v1 memory info counts reserved as used
  EXPECT_FALSE(r.entities[0].values[2].has_value());
  EXPECT_EQ(r.entities[0].values[3], 35);
}

TEST_F(GpuReaderTest, LostGpuDropsCountsAndRecovers) {
  AddGpu(0, emu::GpuConfig{});
  AddGpu(1, emu::GpuConfig{});
  auto reader = GpuReader::Open(GPUSCALE_NVML_EMU_PATH);
  ASSERT_TRUE(reader.ok());
  std::vector<FieldId> f = {FieldId::kGpuTemp, FieldId::kFbUsed};
  EXPECT_EQ((*reader)->Read(f, Now()).entities.size(), 2u);
  Edit(1, [](emu::GpuConfig& g) { g.lost = true; });
  for (int i = 0; i < 3; ++i) {
    Reading r = (*reader)->Read(f, Now());
    ASSERT_EQ(r.entities.size(), 1u);
    EXPECT_EQ(r.entities[0].entity.gpu, 0);
    EXPECT_EQ(r.gpus_lost, 1);
  }
  ReaderStats s = (*reader)->stats();
  EXPECT_EQ(s.gpus_lost_total, 1u);  // one transition, however many reads
  EXPECT_GE(s.errors_by_call["nvmlDeviceGetTemperature"], 1u);
  Edit(1, [](emu::GpuConfig& g) { g.lost = false; });
  Reading r = (*reader)->Read(f, Now());
  EXPECT_EQ(r.entities.size(), 2u);
  EXPECT_EQ(r.gpus_lost, 0);
}

TEST_F(GpuReaderTest, GpmProfilingFieldsOnHopper) {
  AddGpu(0, H100());
  auto reader = GpuReader::Open(GPUSCALE_NVML_EMU_PATH);
  ASSERT_TRUE(reader.ok());
  BusyTicker ticker(dir_, 0, 0.8);
  std::vector<FieldId> f = {FieldId::kProfGrEngineActive,   FieldId::kProfSmActive,
                            FieldId::kProfPipeTensorActive, FieldId::kProfDramActive,
                            FieldId::kProfPipeFp64Active,   FieldId::kProfPcieTxBytes};
  Reading first = (*reader)->Read(f, Now());
  EXPECT_FALSE(first.entities[0].values[0].has_value());  // one sample is not a rate yet
  // GPM needs samples more than 100 ms apart: poll until the reader has a pair.
  Reading r;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  do {
    std::this_thread::sleep_for(20ms);
    r = (*reader)->Read(f, Now());
  } while (!r.entities[0].values[0].has_value() && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(r.entities[0].values[0].has_value());
  EXPECT_NEAR(*r.entities[0].values[0], 0.8, 0.1);
  EXPECT_NEAR(*r.entities[0].values[1], 0.4, 0.1);
  EXPECT_NEAR(*r.entities[0].values[2], 0.2, 0.1);
  EXPECT_NEAR(*r.entities[0].values[3], 0.16, 0.1);
  EXPECT_FALSE(r.entities[0].values[4].has_value());  // FP64 metric not supported
  EXPECT_EQ(r.entities[0].values[5], 0);
}

TEST(MigProfileNameTest, UsesDcgmFormula) {
  EXPECT_EQ(MigProfileName(1, 9856), "1g.10gb");
  EXPECT_EQ(MigProfileName(7, 80896), "7g.79gb");
  EXPECT_EQ(MigProfileName(3, 40960), "3g.40gb");
}

}  // namespace
}  // namespace gpuscale::gpu
