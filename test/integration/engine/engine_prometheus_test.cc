// A real Prometheus scrapes `gpuscale engine` and `gpuscale exporter` (over the emulated GPU the
// engine drives) and sees vllm:num_requests_running and DCGM_FI_DEV_GPU_UTIL rise under load
// and fall after it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>

#include "http/client.h"
#include "prom/api.h"
#include "test/support/process.h"
#include "test/support/prometheus.h"

namespace gpuscale {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// The value of the single series `query` returns, or nullopt.
std::optional<double> Scalar(prom::ApiClient& api, const std::string& query) {
  auto r = api.Query(query);
  if (!r.ok() || r->vector.size() != 1) return std::nullopt;
  return r->vector[0].value;
}

TEST(EnginePrometheus, RunningRequestsAndGpuUtilizationRiseAndFall) {
  std::string dir = testing::MakeTempDir("engine-emu");
  std::uint16_t engine_port = testing::FreePort();
  std::uint16_t exporter_port = testing::FreePort();
  auto engine =
      testing::Subprocess::Start({{testing::GpuscaleBinary(), "engine", "--host", "127.0.0.1",
                                   "--port", std::to_string(engine_port), "--profile",
                                   "gemma-3-1b-it-l4", "--seed", "1", "--emu-dir", dir}});
  ASSERT_TRUE(engine.ok()) << engine.error().ToString();
  ASSERT_TRUE(testing::WaitForPort(engine_port, seconds(20))) << (*engine)->ReadLog();
  auto exporter = testing::Subprocess::Start(
      {{testing::GpuscaleBinary(), "exporter", "-a", fmt::format("127.0.0.1:{}", exporter_port),
        "-c", "500", "--emu-dir", dir}});
  ASSERT_TRUE(exporter.ok()) << exporter.error().ToString();
  ASSERT_TRUE(testing::WaitForPort(exporter_port, seconds(20))) << (*exporter)->ReadLog();

  testing::PrometheusServer::Options po;
  po.scrape_configs = fmt::format(
      "  - job_name: engine\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n"
      "  - job_name: exporter\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n",
      engine_port, exporter_port);
  po.scrape_interval = milliseconds(500);
  auto prometheus = testing::PrometheusServer::Start(po);
  ASSERT_TRUE(prometheus.ok()) << prometheus.error().ToString();
  auto api = prom::ApiClient::Create({.url = (*prometheus)->url()});
  ASSERT_TRUE(api.ok());
  prom::ApiClient& q = **api;

  const std::string running = R"(vllm:num_requests_running{job="engine"})";
  const std::string util = R"(DCGM_FI_DEV_GPU_UTIL{job="exporter"})";
  // Idle first: both series exist and read 0.
  ASSERT_TRUE(testing::WaitFor([&] { return Scalar(q, running) == 0.0 && Scalar(q, util) == 0.0; },
                               seconds(30)))
      << "engine log:\n"
      << (*engine)->ReadLog() << "\nexporter log:\n"
      << (*exporter)->ReadLog();

  // Load: 32 streams of 600 tokens (~10 s on the L4 profile). The GPU is busy through every
  // step; utilization reads below 100 only where the step loop lagged (a loaded test machine).
  auto client = http::AsyncClient::Create({}, 1);
  auto url = http::ParseUrl(fmt::format("http://127.0.0.1:{}/v1/completions", engine_port));
  ASSERT_TRUE(url.ok());
  std::atomic<int> done{0}, ok{0};
  const int kStreams = 32;
  for (int i = 0; i < kStreams; ++i) {
    http::Request req = http::Request::PostJson(
        R"({"prompt":"hello","max_tokens":600,"ignore_eos":true,"stream":true})");
    http::AsyncCallbacks cb;
    cb.on_data = [](std::string_view) { return true; };
    cb.on_done = [&](core::Result<http::Response> r) {
      if (r.ok() && r->status == 200) ++ok;
      ++done;
    };
    client->Send(*url, req, cb, milliseconds(60000));
  }
  double peak_running = 0, peak_util = 0;
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        peak_running = std::max(peak_running, Scalar(q, running).value_or(0));
        peak_util = std::max(peak_util, Scalar(q, util).value_or(0));
        return peak_running >= kStreams && peak_util >= 50;
      },
      seconds(30), milliseconds(200)))
      << "peak running " << peak_running << ", peak GPU util " << peak_util;

  ASSERT_TRUE(testing::WaitFor([&] { return done.load() == kStreams; }, seconds(60)));
  EXPECT_EQ(ok.load(), kStreams);
  // After the load both fall back to 0.
  EXPECT_TRUE(testing::WaitFor([&] { return Scalar(q, running) == 0.0 && Scalar(q, util) == 0.0; },
                               seconds(30)))
      << "running " << Scalar(q, running).value_or(-1) << ", util " << Scalar(q, util).value_or(-1);
  auto tokens = Scalar(q, R"(vllm:generation_tokens_total{job="engine"})");
  EXPECT_EQ(tokens, 600.0 * kStreams);
  EXPECT_EQ((*engine)->Stop(seconds(10)), 0);
}

}  // namespace
}  // namespace gpuscale
