// Drives the real `gpuscale up` binary through a short scenario: the HPA scales the engine
// replicas up under load and back down after it, a killed replica is restarted, the custom
// metrics API and the web page answer, and SIGTERM stops everything with no process left.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "http/client.h"
#include "test/support/chromium.h"
#include "test/support/process.h"

namespace gpuscale::local {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::GpuscaleBinary;
using testing::ReadFile;
using testing::Subprocess;
using testing::WaitFor;

// The guide's GPU HPA with short windows, so the scenario fits in half a minute.
constexpr std::string_view kHpa = R"(apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: test-gpu-hpa
  namespace: vllm-example
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: vllm-gemma-deployment}
  minReplicas: 1
  maxReplicas: 3
  metrics:
    - type: Pods
      pods:
        metric: {name: gpu_utilization_percent}
        target: {type: AverageValue, averageValue: "20"}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies: [{type: Pods, value: 4, periodSeconds: 15}]
    scaleDown:
      stabilizationWindowSeconds: 4
      policies: [{type: Percent, value: 100, periodSeconds: 5}]
)";

// Processes whose command line mentions `needle` (our replicas, exporter, load).
int CountProcesses(const std::string& needle) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos && cmdline.find("gpuscale") != std::string::npos)
      ++n;
  }
  return n;
}

TEST(UpIntegrationTest, ScalesUpAndDownRestartsCrashesAndStopsCleanly) {
  std::string dir = testing::MakeTempDir("gpuscale-up-test");
  std::string out = dir + "/run";
  std::ofstream(dir + "/hpa.yaml") << kHpa;
  std::uint16_t ui_port = testing::FreePort();
  std::uint16_t api_port = testing::FreePort();
  auto up = Subprocess::Start(
      {.argv = {GpuscaleBinary(), "up", "--hpa", dir + "/hpa.yaml", "--out", out, "--router-port",
                "0", "--metrics-api-port", std::to_string(api_port), "--ui-port",
                std::to_string(ui_port), "--load", "looper", "--load-duration", "14s", "--duration",
                "120s", "--no-live-view"}});
  ASSERT_TRUE(up.ok()) << up.error().ToString();
  std::string events_path = out + "/events.jsonl";
  auto events = [&] { return ReadFile(events_path); };

  // Scale-up: one busy GPU at ~100 % against a target of 20 asks for 5; max is 3.
  ASSERT_TRUE(
      WaitFor([&] { return events().find("New size: 3") != std::string::npos; }, seconds(40)))
      << events() << (*up)->ReadLog();
  ASSERT_TRUE(WaitFor(
      [&] {
        return events().find("\"Ready\",\"object\":\"pod/vllm-gemma-deployment-2\"") !=
               std::string::npos;
      },
      seconds(20)))
      << events();

  // The local custom metrics API answers the guide's verification request.
  http::ClientOptions tls;
  tls.tls.insecure_skip_verify = true;
  auto client = http::Client::Create(tls);
  auto discovery = client->Get("https://127.0.0.1:" + std::to_string(api_port) +
                               "/apis/custom.metrics.k8s.io/v1beta1");
  ASSERT_TRUE(discovery.ok()) << discovery.error().ToString();
  EXPECT_NE(discovery->body.find("pods/gpu_utilization_percent"), std::string::npos)
      << discovery->body;

  // The page loads, draws, and its charts move between two looks.
  std::string page_url = "http://127.0.0.1:" + std::to_string(ui_port) + "/";
  auto dom1 = testing::DumpDom(page_url, 3000);
  ASSERT_TRUE(dom1.ok()) << dom1.error().ToString();
  std::regex path_re("<path d=\"M[^\"]+L[^\"]+\"");
  EXPECT_TRUE(std::regex_search(*dom1, path_re)) << dom1->substr(0, 3000);
  std::string png = dir + "/page.png";
  ASSERT_TRUE(testing::Screenshot(page_url, png, {.virtual_time_budget_ms = 3000}).ok());
  auto stats = testing::AnalysePng(png);
  ASSERT_TRUE(stats.ok()) << stats.error().ToString();
  EXPECT_GT(stats->distinct_colors, 8);
  EXPECT_GT(stats->non_background, 0.02);

  // Crash: kill replica 1; the supervisor restarts it and counts it.
  std::smatch m;
  std::string ev = events();
  ASSERT_TRUE(std::regex_search(ev, m,
                                std::regex("pod/vllm-gemma-deployment-1\",\"message\":\"port "
                                           "[0-9]+ gpu [0-9]+ pid ([0-9]+)")))
      << ev;
  ASSERT_EQ(::kill(std::stoi(m[1]), SIGKILL), 0);
  ASSERT_TRUE(
      WaitFor([&] { return events().find("\"Restarted\"") != std::string::npos; }, seconds(20)))
      << events();
  auto dom2 = testing::DumpDom(page_url, 3000);
  ASSERT_TRUE(dom2.ok());
  EXPECT_NE(*dom1, *dom2);  // the charts updated

  // Scale-down once the load is over.
  ASSERT_TRUE(
      WaitFor([&] { return events().find("New size: 1") != std::string::npos; }, seconds(60)))
      << events();

  // SIGTERM: everything stops within the grace period, the report is written, nothing is left.
  (*up)->Signal(SIGTERM);
  auto status = (*up)->Wait(seconds(15));
  ASSERT_TRUE(status.has_value()) << "gpuscale up did not stop after SIGTERM";
  EXPECT_EQ(*status, 0) << (*up)->ReadLog();
  EXPECT_EQ(CountProcesses(out), 0);
  std::string summary = ReadFile(out + "/summary.json");
  EXPECT_NE(summary.find("\"max_replicas_reached\":3"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"crashes\":1"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"reaction_time_s\":"), std::string::npos);
  EXPECT_EQ(summary.find("\"reaction_time_s\":null"), std::string::npos) << summary;
  EXPECT_NE(ReadFile(out + "/report.html").find("GPUSCALE_HISTORY=[{"), std::string::npos);
  EXPECT_NE((*up)->ReadLog().find("report: " + out + "/report.html"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(UpIntegrationTest, APortInUseIsAClearError) {
  auto holder = Subprocess::Start({.argv = {"python3", "-c",
                                            "import socket,time\n"
                                            "s=socket.socket(); s.bind(('127.0.0.1',0)); "
                                            "s.listen(); print(s.getsockname()[1], flush=True); "
                                            "time.sleep(60)"}});
  ASSERT_TRUE(holder.ok());
  std::string port;
  ASSERT_TRUE(WaitFor([&] { return !(port = (*holder)->ReadLog()).empty(); }, seconds(10)));
  port = port.substr(0, port.find('\n'));
  std::string output;
  std::string dir = testing::MakeTempDir("gpuscale-up-port");
  auto rc = testing::RunCommand({GpuscaleBinary(), "up", "--router-port", port, "--out", dir,
                                 "--duration", "5s", "--no-live-view"},
                                &output, seconds(30));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 1);
  EXPECT_NE(output.find("router: 127.0.0.1:" + port + ": address already in use"),
            std::string::npos)
      << output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gpuscale::local
