// A real Prometheus scrapes the real `gpuscale exporter` process over the emulated NVML library,
// with workloads served by the test kubelet. Two scrape jobs configured as the Prometheus
// Operator configures a ServiceMonitor (the exporter pod's own pod/namespace/container as
// target labels): honor_labels false, where the seed's relabel rule recovers the workload, and
// honor_labels true, where the workload labels arrive intact.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <regex>
#include <thread>

#include "gpu/emu_state.h"
#include "gpu/test_kubelet.h"
#include "test/support/process.h"
#include "test/support/prometheus.h"

namespace gpuscale::exporter {
namespace {

using namespace std::chrono_literals;
using testing::PrometheusServer;

std::string UrlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// Advances GPU `index`'s busy counter at `fraction` of wall time until destroyed.
class BusyTicker {
 public:
  BusyTicker(const std::string& dir, int index, double fraction)
      : mapping_(std::move(
            gpu::emu::CountersMapping::Open(gpu::emu::CountersPath(dir, index), false).value())),
        thread_([this, fraction] {
          auto last = std::chrono::steady_clock::now();
          for (int i = 0; i < 40000 && !stop_; ++i) {  // bounded: at most ~200 s
            std::this_thread::sleep_for(5ms);
            auto now = std::chrono::steady_clock::now();
            mapping_->busy_ns.fetch_add(
                static_cast<std::uint64_t>((now - last).count() * fraction));
            last = now;
          }
        }) {}
  ~BusyTicker() {
    stop_ = true;
    thread_.join();
  }

 private:
  gpu::emu::CountersMapping mapping_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The value of the only sample in a /api/v1/query answer whose labels contain all `want`.
std::optional<double> QueryValue(std::uint16_t port, const std::string& promql,
                                 const std::vector<std::string>& want, std::string* raw) {
  auto r = testing::RawHttpGet(port, "/api/v1/query?query=" + UrlEncode(promql), 5s);
  if (!r.ok() || r->first != 200) return std::nullopt;
  *raw = r->second;
  for (const std::string& w : want) {
    if (raw->find(w) == std::string::npos) return std::nullopt;
  }
  std::smatch m;
  static const std::regex kValue(R"re("value":\[[0-9.]+,"([^"]+)"\])re");
  if (!std::regex_search(*raw, m, kValue)) return std::nullopt;
  return std::stod(m[1]);
}

TEST(ExporterPrometheusTest, WorkloadLabelsReachPromQLWithBothScrapeStyles) {
  std::string dir = testing::MakeTempDir("gsi");
  std::string emu = dir + "/emu";
  for (int i = 0; i < 2; ++i) {
    gpu::emu::GpuConfig c;
    c.uuid = "GPU-0000000" + std::to_string(i);
    ASSERT_TRUE(gpu::emu::CreateGpu(emu, i, c).ok());
  }
  BusyTicker busy(emu, 1, 0.6);
  std::string socket = dir + "/kubelet.sock";
  auto kubelet = gpu::TestKubelet::Start(socket);
  ASSERT_TRUE(kubelet.ok()) << kubelet.error().message;
  (*kubelet)->SetContainers(
      {{"vllm-gemma-0", "vllm-example", "inference-server", "nvidia.com/gpu", {"GPU-00000001"}}});

  std::uint16_t port = testing::FreePort();
  auto exporter = testing::Subprocess::Start(
      {{testing::GpuscaleBinary(), "exporter", "--emu-dir", emu, "-a",
        "127.0.0.1:" + std::to_string(port), "-c", "500", "-k", "--pod-resources-socket", socket,
        "--pod-resources-interval", "500"},
       {{"NODE_NAME", "node-a"}}});
  ASSERT_TRUE(exporter.ok()) << exporter.error().message;
  ASSERT_TRUE(testing::WaitForPort(port, 20s)) << (*exporter)->ReadLog();

  std::string target = "127.0.0.1:" + std::to_string(port);
  PrometheusServer::Options po;
  po.scrape_interval = 500ms;
  po.scrape_configs =
      "  - job_name: operator\n"
      "    honor_labels: false\n"
      "    static_configs:\n"
      "      - targets: ['" +
      target +
      "']\n"
      "        labels: {pod: gpuscale-exporter-x1, namespace: monitoring, container: exporter}\n"
      "  - job_name: honor\n"
      "    honor_labels: true\n"
      "    static_configs:\n"
      "      - targets: ['" +
      target +
      "']\n"
      "        labels: {pod: gpuscale-exporter-x1, namespace: monitoring, container: exporter}\n";
  auto prom = PrometheusServer::Start(po);
  ASSERT_TRUE(prom.ok()) << prom.error().message;
  std::uint16_t pport = (*prom)->port();

  // honor_labels: true — the exporter's workload labels arrive as they are.
  std::string raw;
  std::optional<double> util;
  bool ok = testing::WaitFor(
      [&] {
        util =
            QueryValue(pport,
                       "DCGM_FI_DEV_GPU_UTIL{job=\"honor\",pod=\"vllm-gemma-0\","
                       "namespace=\"vllm-example\"}",
                       {"\"container\":\"inference-server\"", "\"UUID\":\"GPU-00000001\""}, &raw);
        return util && *util >= 50;  // a full one-second window of the 60 % ticker
      },
      30s, 200ms);
  ASSERT_TRUE(ok) << raw << "\n" << (*exporter)->ReadLog();
  EXPECT_NEAR(*util, 60, 6);

  // honor_labels: false — the target's labels win and the workload's become exported_*;
  // the seed's relabel rule expression copies them back.
  ok = testing::WaitFor(
      [&] {
        util = QueryValue(pport, "DCGM_FI_DEV_GPU_UTIL{job=\"operator\",UUID=\"GPU-00000001\"}",
                          {"\"pod\":\"gpuscale-exporter-x1\"", "\"exported_pod\":\"vllm-gemma-0\"",
                           "\"exported_namespace\":\"vllm-example\""},
                          &raw);
        return util.has_value();
      },
      30s, 200ms);
  ASSERT_TRUE(ok) << raw;
  std::string rule =
      "label_replace(label_replace(DCGM_FI_DEV_GPU_UTIL{job=\"operator\",exported_pod!=\"\"}, "
      "\"pod\", \"$1\", \"exported_pod\", \"(.+)\"), \"namespace\", \"$1\", "
      "\"exported_namespace\", \"(.+)\")";
  ok = testing::WaitFor(
      [&] {
        util = QueryValue(pport, rule,
                          {"\"pod\":\"vllm-gemma-0\"", "\"namespace\":\"vllm-example\"",
                           "\"UUID\":\"GPU-00000001\""},
                          &raw);
        return util && *util >= 50;
      },
      30s, 200ms);
  ASSERT_TRUE(ok) << raw;
  EXPECT_NEAR(*util, 60, 6);
  // The idle, unallocated GPU has no workload labels under either job.
  ok = testing::WaitFor(
      [&] {
        return QueryValue(pport, "DCGM_FI_DEV_GPU_UTIL{job=\"honor\",UUID=\"GPU-00000000\"}",
                          {"\"pod\":\"gpuscale-exporter-x1\""}, &raw)
            .has_value();
      },
      30s, 200ms);
  EXPECT_TRUE(ok) << raw;  // with honor_labels the target's pod label fills the gap

  EXPECT_EQ((*exporter)->Stop(5s), 0) << (*exporter)->ReadLog();  // SIGTERM: clean stop
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gpuscale::exporter
