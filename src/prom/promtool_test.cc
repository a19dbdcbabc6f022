// Checks that what the writer produces is accepted by Prometheus's own `promtool check metrics`
// (Debian's prometheus package; scripts/setup installs it). A missing promtool fails the test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "prom/exposition.h"

namespace gpuscale::prom {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

struct CheckResult {
  int exit_code = -1;
  std::string output;
};

std::string FindPromtool() {
  if (const char* env = std::getenv("PROMTOOL")) return env;
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
  std::stringstream dirs(path);
  for (std::string dir; std::getline(dirs, dir, ':');) {
    fs::path candidate = fs::path(dir) / "promtool";
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Runs `promtool check metrics` with `body` on stdin; exit 0 means no problems, 3 lint only.
CheckResult PromtoolCheck(const std::string& body) {
  std::string promtool = FindPromtool();
  if (promtool.empty()) {
    ADD_FAILURE() << "promtool not found in PATH (install Debian's prometheus package: "
                     "scripts/setup, or set PROMTOOL)";
    return {};
  }
  fs::path input =
      fs::temp_directory_path() / ("gpuscale_promtool_" + std::to_string(getpid()) + ".txt");
  std::ofstream(input, std::ios::binary) << body;
  std::string command = "'" + promtool + "' check metrics < '" + input.string() + "' 2>&1";
  CheckResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "popen failed for " << command;
    return result;
  }
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) result.output.append(buf, n);
  int status = pclose(pipe);
  fs::remove(input);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// Families that follow Prometheus's naming conventions, covering every type and value kind.
std::vector<MetricFamily> ConventionalFamilies() {
  Histogram latency({0.005, 0.01, 0.25, 1, 2.5, 10, 1e6});
  for (double v : {0.001, 0.02, 0.3, 0.3, 7.0, 2e6}) latency.Observe(v);
  MetricFamily hist{
      "gpuscale_request_duration_seconds", "Request latency.", MetricType::kHistogram, {}};
  latency.AppendSamples(hist.name, {{"model", "llama"}, {"code", "200"}}, &hist.samples);
  latency.AppendSamples(hist.name, {{"model", "mistral \"7b\""}, {"code", "500"}}, &hist.samples);
  return {
      {"gpuscale_requests_total",
       "Requests served, by \\ path\nand code.",
       MetricType::kCounter,
       {{"gpuscale_requests_total", {{"path", "/v1/chat"}, {"code", "200"}}, 1027, 1700000000000},
        {"gpuscale_requests_total", {{"path", "a\\b \"q\"\nnl"}, {"code", "400"}}, 3, {}}}},
      {"gpuscale_gpu_temperature_celsius",
       "GPU temperature.",
       MetricType::kGauge,
       {{"gpuscale_gpu_temperature_celsius", {{"gpu", "0"}}, 61.5, {}},
        {"gpuscale_gpu_temperature_celsius", {{"gpu", "1"}}, NAN, {}},
        {"gpuscale_gpu_temperature_celsius", {{"gpu", "2"}}, INFINITY, {}},
        {"gpuscale_gpu_temperature_celsius", {{"gpu", "3"}}, -INFINITY, {}},
        {"gpuscale_gpu_temperature_celsius", {{"gpu", "4"}}, 1.5e-7, {}},
        {"gpuscale_gpu_temperature_celsius", {{"gpu", "5"}}, 123456789, {}},
        {"gpuscale_gpu_temperature_celsius", {{"gpu", "6"}, {"utf8", "✓ ü"}}, -0.0, {}}}},
      hist,
      {"gpuscale_rpc_duration_seconds",
       "RPC latency quantiles.",
       MetricType::kSummary,
       {{"gpuscale_rpc_duration_seconds", {{"quantile", "0.5"}}, 0.012, {}},
        {"gpuscale_rpc_duration_seconds", {{"quantile", "0.99"}}, 0.3, {}},
        {"gpuscale_rpc_duration_seconds_sum", {}, 17.5, {}},
        {"gpuscale_rpc_duration_seconds_count", {}, 1000, {}}}},
      {"gpuscale_build_info",
       "Build information.",
       MetricType::kUntyped,
       {{"gpuscale_build_info", {{"version", "0.1.0"}}, 1, {}}}},
  };
}

TEST(PromtoolTest, AcceptsConventionalFamiliesWithoutAnyProblem) {
  std::string body = Render(ConventionalFamilies());
  CheckResult r = PromtoolCheck(body);
  EXPECT_EQ(r.exit_code, 0) << r.output << "\nbody:\n" << body;
  EXPECT_EQ(r.output, "");
}

TEST(PromtoolTest, DcgmStyleLabelsGetOnlyTheIntendedLint) {
  // dcgm-exporter's label names (UUID, modelName, Hostname) are camelCase on purpose: users'
  // queries depend on them. That is the only problem promtool may report.
  MetricFamily f{"DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", MetricType::kGauge, {}};
  for (int gpu = 0; gpu < 2; ++gpu) {
    f.samples.push_back({f.name,
                         {{"gpu", std::to_string(gpu)},
                          {"UUID", "GPU-" + std::to_string(gpu)},
                          {"pci_bus_id", "00000000:3B:00.0"},
                          {"device", "nvidia" + std::to_string(gpu)},
                          {"modelName", "NVIDIA H100 80GB HBM3"},
                          {"Hostname", "node-1"}},
                         87,
                         {}});
  }
  CheckResult r = PromtoolCheck(Render({f}));
  EXPECT_EQ(r.exit_code, 3) << r.output;
  EXPECT_EQ(r.output,
            "DCGM_FI_DEV_GPU_UTIL label names should be written in 'snake_case' not "
            "'camelCase'\n"
            "DCGM_FI_DEV_GPU_UTIL label names should be written in 'snake_case' not "
            "'camelCase'\n");
}

TEST(PromtoolTest, ParsesEveryReRenderedGoldenFile) {
  int checked = 0;
  for (const auto& entry : fs::directory_iterator("testdata/text")) {
    if (entry.path().extension() != ".out") continue;
    SCOPED_TRACE(entry.path().string());
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    CheckResult r = PromtoolCheck(body.str());
    // 0: clean; 3: lint findings about the inputs' own names, which the writer keeps as given.
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 3) << r.exit_code << ": " << r.output;
    EXPECT_THAT(r.output, Not(HasSubstr("error")));
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(PromtoolTest, HarnessSeesParseErrors) {
  CheckResult r = PromtoolCheck("m{a=\"b\" 1\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("text format parsing error"));
}

}  // namespace
}  // namespace gpuscale::prom
