// The collection loop through the emulated NVML library and the test kubelet: failure
// behaviour, backoff, pod attribution and its refresh.
#include "exporter/collector.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "gpu/emu_state.h"
#include "gpu/test_kubelet.h"

namespace gpuscale::exporter {
namespace {

using namespace std::chrono_literals;

bool Has(const std::string& body, std::string_view needle) {
  return body.find(needle) != std::string::npos;
}

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = "/tmp/gsc_XXXXXX";
    dir_ = mkdtemp(templ.data());
    emu_dir_ = dir_ + "/emu";
    setenv("GPUSCALE_EMU_DIR", emu_dir_.c_str(), 1);
    options_.nvml_library = GPUSCALE_NVML_EMU_PATH;
    options_.collect_interval = 1s;
    options_.render.hostname = "node-a";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void AddGpus(int n) {
    for (int i = 0; i < n; ++i) {
      gpu::emu::GpuConfig c;
      c.uuid = "GPU-" + std::to_string(i);
      ASSERT_TRUE(gpu::emu::CreateGpu(emu_dir_, i, c).ok());
    }
  }
  void Edit(int index, const std::function<void(gpu::emu::GpuConfig&)>& change) {
    auto c = gpu::emu::ReadConfig(gpu::emu::ConfigPath(emu_dir_, index));
    ASSERT_TRUE(c.ok());
    change(*c);
    ASSERT_TRUE(gpu::emu::WriteConfig(gpu::emu::ConfigPath(emu_dir_, index), *c).ok());
  }

  std::string dir_, emu_dir_;
  CollectorOptions options_;
  core::ManualClock clock_{core::FromUnixSeconds(1'700'000'000)};
};

TEST_F(CollectorTest, NvmlAbsentStaysUpRetriesWithBackoffAndRecovers) {
  options_.nvml_retry_initial = 1s;
  options_.nvml_retry_max = 4s;
  Collector c(options_, DefaultCounters(), nullptr, clock_);
  c.CollectOnce();  // no GPUs described: init fails
  EXPECT_FALSE(c.nvml_up());
  std::string body = *c.body();
  EXPECT_TRUE(Has(body, "gpuscale_exporter_nvml_up 0\n")) << body;
  EXPECT_TRUE(Has(body, "gpuscale_exporter_nvml_init_failures_total 1\n"));
  EXPECT_FALSE(Has(body, "DCGM_FI_DEV"));
  c.CollectOnce();  // within the backoff: no new attempt
  EXPECT_TRUE(Has(*c.body(), "gpuscale_exporter_nvml_init_failures_total 1\n"));
  clock_.Advance(1s);
  c.CollectOnce();  // second attempt; backoff doubles to 2 s
  EXPECT_TRUE(Has(*c.body(), "gpuscale_exporter_nvml_init_failures_total 2\n"));
  clock_.Advance(1s);
  c.CollectOnce();
  EXPECT_TRUE(Has(*c.body(), "gpuscale_exporter_nvml_init_failures_total 2\n"));
  AddGpus(2);
  clock_.Advance(1s);
  c.CollectOnce();
  EXPECT_TRUE(c.nvml_up());
  body = *c.body();
  EXPECT_TRUE(Has(body, "gpuscale_exporter_nvml_up 1\n"));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_gpus 2\n"));
  EXPECT_TRUE(Has(body, "DCGM_FI_DEV_GPU_TEMP{gpu=\"1\",UUID=\"GPU-1\""));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_last_collect_success_timestamp_seconds 1.700000003e+09"))
      << body;
}

TEST_F(CollectorTest, InjectedInitFailureRecoversWhenCleared) {
  AddGpus(1);
  Edit(0, [](gpu::emu::GpuConfig& g) { g.fail_init = true; });
  options_.nvml_retry_initial = 1s;
  Collector c(options_, DefaultCounters(), nullptr, clock_);
  c.CollectOnce();
  EXPECT_FALSE(c.nvml_up());
  Edit(0, [](gpu::emu::GpuConfig& g) { g.fail_init = false; });
  clock_.Advance(1s);
  c.CollectOnce();
  EXPECT_TRUE(c.nvml_up());
}

TEST_F(CollectorTest, LostGpuDropsItsSeriesOthersKeepReporting) {
  AddGpus(3);
  Collector c(options_, DefaultCounters(), nullptr, clock_);
  c.CollectOnce();
  EXPECT_TRUE(Has(*c.body(), "DCGM_FI_DEV_FB_USED{gpu=\"1\""));
  Edit(1, [](gpu::emu::GpuConfig& g) { g.lost = true; });
  c.CollectOnce();
  std::string body = *c.body();
  EXPECT_FALSE(Has(body, "{gpu=\"1\"")) << body;
  EXPECT_TRUE(Has(body, "DCGM_FI_DEV_FB_USED{gpu=\"0\""));
  EXPECT_TRUE(Has(body, "DCGM_FI_DEV_FB_USED{gpu=\"2\""));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_gpus_lost 1\n"));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_gpus_lost_total 1\n"));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_nvml_errors_total{call=\""));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_nvml_up 1\n"));
}

TEST_F(CollectorTest, UnsupportedFieldIsOmittedNotZero) {
  AddGpus(2);
  Edit(0, [](gpu::emu::GpuConfig& g) { g.not_supported = {"power"}; });
  Collector c(options_, DefaultCounters(), nullptr, clock_);
  c.CollectOnce();
  std::string body = *c.body();
  EXPECT_FALSE(Has(body, "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\""));
  EXPECT_TRUE(Has(body, "DCGM_FI_DEV_POWER_USAGE{gpu=\"1\""));
  // L4s have no HBM temperature, no row remapping and no GPM: those families are absent.
  EXPECT_FALSE(Has(body, "DCGM_FI_DEV_MEMORY_TEMP"));
  EXPECT_FALSE(Has(body, "DCGM_FI_PROF_"));
}

class CollectorPodsTest : public CollectorTest {
 protected:
  void SetUp() override {
    CollectorTest::SetUp();
    socket_ = dir_ + "/kubelet.sock";
    options_.kubernetes = true;
  }
  std::unique_ptr<PodMapper> Mapper() {
    return std::make_unique<PodMapper>(gpu::PodResourcesClient::Create(socket_), 1s, 5s);
  }
  std::string socket_;
};

TEST_F(CollectorPodsTest, AttributesGpusFromACachedMap) {
  AddGpus(2);
  auto kubelet = gpu::TestKubelet::Start(socket_);
  ASSERT_TRUE(kubelet.ok());
  (*kubelet)->SetContainers({{"vllm-0", "serving", "vllm", "nvidia.com/gpu", {"GPU-1"}}});
  auto mapper = Mapper();
  mapper->Refresh();
  Collector c(options_, DefaultCounters(), mapper.get(), clock_);
  c.CollectOnce();
  std::string body = *c.body();
  EXPECT_TRUE(Has(body,
                  "DCGM_FI_DEV_GPU_UTIL{gpu=\"1\",UUID=\"GPU-1\",pci_bus_id=\"00000000:02:00.0\","
                  "device=\"nvidia1\",modelName=\"NVIDIA L4\",Hostname=\"node-a\","
                  "DCGM_FI_DRIVER_VERSION=\"550.54.15-emu\",container=\"vllm\","
                  "namespace=\"serving\",pod=\"vllm-0\"} 0\n"))
      << body;
  EXPECT_TRUE(Has(body,
                  "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-0\",pci_bus_id=\"00000000:01:00.0\","
                  "device=\"nvidia0\",modelName=\"NVIDIA L4\",Hostname=\"node-a\","
                  "DCGM_FI_DRIVER_VERSION=\"550.54.15-emu\"} 0\n"));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_pod_resources_up 1\n"));
  // Scrapes and collections read the cache: only Refresh calls List.
  for (int i = 0; i < 5; ++i) {
    c.CollectOnce();
    (void)c.body();
  }
  EXPECT_EQ((*kubelet)->list_calls(), 1);
  // A new allocation shows after the next refresh.
  (*kubelet)->SetContainers({{"train", "ml", "main", "nvidia.com/gpu", {"GPU-0"}}});
  mapper->Refresh();
  c.CollectOnce();
  body = *c.body();
  EXPECT_TRUE(Has(body, "namespace=\"ml\",pod=\"train\"} "));
  EXPECT_FALSE(Has(body, "pod=\"vllm-0\""));
}

TEST_F(CollectorPodsTest, DeviceNameIdsFromGke) {
  AddGpus(2);
  options_.render.gpu_id_type = gpu::GpuIdType::kDeviceName;
  auto kubelet = gpu::TestKubelet::Start(socket_);
  ASSERT_TRUE(kubelet.ok());
  (*kubelet)->SetContainers({{"p", "n", "c", "nvidia.com/gpu", {"nvidia0"}}});
  auto mapper = Mapper();
  mapper->Refresh();
  Collector c(options_, DefaultCounters(), mapper.get(), clock_);
  c.CollectOnce();
  EXPECT_TRUE(Has(*c.body(), "DCGM_FI_DEV_FB_FREE{gpu=\"0\",UUID=\"GPU-0\""));
  EXPECT_TRUE(Has(*c.body(), "container=\"c\",namespace=\"n\",pod=\"p\"} "));
}

TEST_F(CollectorPodsTest, MissingSocketGivesUnlabelledSeriesAndRecovers) {
  AddGpus(1);
  auto mapper = Mapper();
  mapper->Refresh();  // no kubelet yet
  Collector c(options_, DefaultCounters(), mapper.get(), clock_);
  c.CollectOnce();
  std::string body = *c.body();
  EXPECT_TRUE(Has(body, "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\""));
  EXPECT_FALSE(Has(body, "pod="));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_pod_resources_up 0\n"));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_pod_resources_errors_total 1\n"));
  auto kubelet = gpu::TestKubelet::Start(socket_);
  ASSERT_TRUE(kubelet.ok());
  (*kubelet)->SetContainers({{"p", "n", "c", "nvidia.com/gpu", {"GPU-0"}}});
  mapper->Refresh();
  c.CollectOnce();
  body = *c.body();
  EXPECT_TRUE(Has(body, "container=\"c\",namespace=\"n\",pod=\"p\"} "));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_pod_resources_up 1\n"));
  // The kubelet goes away: labels go with it, the error counter rises.
  (*kubelet)->Stop();
  mapper->Refresh();
  c.CollectOnce();
  body = *c.body();
  EXPECT_FALSE(Has(body, "pod=\"p\""));
  EXPECT_TRUE(Has(body, "gpuscale_exporter_pod_resources_errors_total 2\n"));
}

TEST_F(CollectorTest, BackgroundThreadCollectsAndStops) {
  AddGpus(1);
  core::SystemClock clock;
  options_.collect_interval = 50ms;
  Collector c(options_, DefaultCounters(), nullptr, clock);
  c.Start();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (c.collections() < 3 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(c.collections(), 3u);
  c.Stop();
  std::uint64_t n = c.collections();
  EXPECT_EQ(c.collections(), n);
}

}  // namespace
}  // namespace gpuscale::exporter
