// The simulator against real parts: its HTML report in headless Chromium, and its latencies
// against a real-time `gpuscale engine` (a child process) driven by `gpuscale load run`.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "engine/profile.h"
#include "hpa/spec.h"
#include "load/arrivals.h"
#include "sim/oracle.h"
#include "sim/report.h"
#include "sim/simulator.h"
#include "test/support/chromium.h"
#include "test/support/process.h"

namespace gpuscale::sim {
namespace {

using namespace std::chrono_literals;

std::string Testdata(const std::string& name) {
  return std::string(GPUSCALE_SIM_TESTDATA) + "/" + name;
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The report with every chart emptied: the same layout (each <svg> keeps its size), no drawing.
std::string WithEmptyCharts(std::string html) {
  for (auto at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    const auto body = html.find('>', at) + 1;
    html.erase(body, html.find("</svg>", body) - body);
  }
  return html;
}

TEST(SimReportTest, HtmlReportRendersInHeadlessChromium) {
  // Ten minutes of a load step through the guide's two HPAs, with the oracle: every chart has
  // lines that move (scale-ups, metric changes, TTFT growing while pods start).
  Options o;
  o.profile = *engine::FindProfile("gemma-3-1b-it-l4");
  o.image_pull = {DurationDist::Kind::kFixed, 30, 0};
  o.horizon = 10min;
  ReportInput in;
  in.load = "steps 2:2m,40:5m,2:3m";
  in.seed = 3;
  for (const char* name : {"requests-hpa.yaml", "gpu-hpa.yaml"}) {
    auto spec = hpa::LoadHpaSpecFile(Testdata(name));
    ASSERT_TRUE(spec.ok()) << spec.error().ToString();
    auto steps = load::ParseSteps("2:2m,40:5m,2:3m");
    ASSERT_TRUE(steps.ok());
    auto arrivals = load::MakeStepArrivals(*steps, true, core::Rng(3));
    auto r = Simulate(o, *spec, *arrivals);
    ASSERT_TRUE(r.ok()) << r.error().ToString();
    ASSERT_FALSE(r->events.empty()) << name;
    sim::Run run{name, std::move(*r), {}};
    run.summary = Summarize(run.result);
    in.runs.push_back(std::move(run));
  }
  auto oracle = ComputeOracle(o, in.runs.front().result.requests);
  ASSERT_TRUE(oracle.ok());
  in.oracle = std::move(*oracle);

  const std::string dir = testing::MakeTempDir("sim-html");
  const std::string html = FormatHtml(in);
  { std::ofstream(dir + "/report.html") << html; }
  { std::ofstream(dir + "/empty-charts.html") << WithEmptyCharts(html); }

  // The DOM Chromium built: the page title, both runs, three charts each with their titles,
  // step lines for replicas and metrics, dots for TTFT.
  // A short virtual-time budget: the page has no scripts, and a zero budget never ends.
  auto dom = testing::DumpDom(dir + "/report.html", 500, 150s);
  ASSERT_TRUE(dom.ok()) << dom.error().ToString();
  EXPECT_NE(dom->find("<title>gpuscale simulate</title>"), std::string::npos);
  EXPECT_NE(dom->find("<h1>gpuscale simulate</h1>"), std::string::npos);
  EXPECT_EQ(Count(*dom, "<svg"), 6);
  EXPECT_EQ(Count(*dom, "<title>Replicas</title>"), 2);
  EXPECT_EQ(Count(*dom, "<title>Metric values the HPA saw (per-pod average)</title>"), 2);
  EXPECT_EQ(Count(*dom, "<title>Time to first token by arrival</title>"), 2);
  EXPECT_GE(Count(*dom, "<path"), 2 * 4 + 2);  // current, desired, ready, oracle; a metric each
  EXPECT_GT(Count(*dom, "<circle"), 1000);
  EXPECT_NE(dom->find("<h2>requests-hpa.yaml</h2>"), std::string::npos);
  EXPECT_NE(dom->find("oracle"), std::string::npos);

  // Pixels: tall enough to hold all six charts. The charts must add colours and drawn pixels to
  // the same page with its charts emptied.
  testing::ScreenshotOptions shot{.width = 1200, .height = 2400, .timeout = 150s};
  core::Status s = testing::Screenshot(dir + "/report.html", dir + "/report.png", shot);
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = testing::Screenshot(dir + "/empty-charts.html", dir + "/empty-charts.png", shot);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto full = testing::AnalysePng(dir + "/report.png");
  auto empty = testing::AnalysePng(dir + "/empty-charts.png");
  ASSERT_TRUE(full.ok()) << full.error().ToString();
  ASSERT_TRUE(empty.ok()) << empty.error().ToString();
  std::printf("report: %lld colours, %.4f drawn; emptied charts: %lld colours, %.4f drawn\n",
              static_cast<long long>(full->distinct_colors), full->non_background,
              static_cast<long long>(empty->distinct_colors), empty->non_background);
  EXPECT_EQ(full->width, 1200);
  EXPECT_EQ(full->height, 2400);
  EXPECT_GT(full->distinct_colors, 100);
  EXPECT_GT(full->distinct_colors, empty->distinct_colors + 50)
      << "the charts drew few colours of their own";
  EXPECT_GT(full->non_background, empty->non_background + 0.01) << "the charts drew few pixels";
}

// A number after `key` in a JSON text (the first one, or the first after `after`).
double JsonNumber(const std::string& json, const std::string& key, const std::string& after = "") {
  std::size_t from = after.empty() ? 0 : json.find(after);
  if (from == std::string::npos) return -1;
  std::smatch m;
  std::string tail = json.substr(from);
  std::regex re("\"" + key + "\":(-?[0-9.eE+-]+)");
  if (!std::regex_search(tail, m, re)) return -1;
  return std::stod(m[1].str());
}

// Agreement within a stated tolerance: the engine sleeps each step in wall time on a shared
// 2-core machine, so every step can overrun by scheduler latency (about 0.1-2 ms under the
// build's load). That drift is proportional to the number of steps a latency spans (25 %); a
// single late wake-up or the HTTP/SSE path adds up to a few milliseconds on short quantities
// such as TTFT (5 ms). A model error such as a missing weight read (60 % of a decode step) or a
// prefill cost off by 2x is still caught.
constexpr double kRelativeTolerance = 0.25;
constexpr double kAbsoluteToleranceS = 0.005;

void ExpectAgrees(const char* what, double measured, double predicted) {
  std::printf("%-8s measured %.4f s, simulated %.4f s, allowed difference %.4f s\n", what, measured,
              predicted, kRelativeTolerance * predicted + kAbsoluteToleranceS);
  EXPECT_GT(measured, 0) << what;
  EXPECT_GT(predicted, 0) << what;
  EXPECT_NEAR(measured, predicted, kRelativeTolerance * predicted + kAbsoluteToleranceS)
      << what << ": measured " << measured << " s, simulated " << predicted << " s";
}

TEST(SimEngineAgreementTest, SimulatedLatenciesMatchARealTimeEngine) {
  // One `gpuscale engine` with the default profile; 10 s of 6 req/s, 200-token prompts and
  // exactly 64 output tokens (ignore_eos), streamed: about 4.5 requests in flight, so steps
  // batch prefill and several decodes.
  constexpr const char* kProfile = "gemma-3-1b-it-l4";
  const std::string dir = testing::MakeTempDir("sim-agree");
  const std::uint16_t port = testing::FreePort();
  auto engine = testing::Subprocess::Start(
      {.argv = {testing::GpuscaleBinary(), "engine", "--host", "127.0.0.1", "--port",
                std::to_string(port), "--profile", kProfile, "--seed", "1"}});
  ASSERT_TRUE(engine.ok()) << engine.error().ToString();
  ASSERT_TRUE(testing::WaitForPort(port, 20s)) << (*engine)->ReadLog();

  std::string out;
  auto rc = testing::RunCommand({testing::GpuscaleBinary(),
                                 "load",
                                 "run",
                                 "--url",
                                 "http://127.0.0.1:" + std::to_string(port),
                                 "--api",
                                 "completions",
                                 "--stream",
                                 "--rate",
                                 "6",
                                 "--duration",
                                 "10s",
                                 "--prompt-tokens",
                                 "200",
                                 "--max-tokens",
                                 "64",
                                 "--ignore-eos",
                                 "--seed",
                                 "1",
                                 "--progress",
                                 "off",
                                 "--json",
                                 dir + "/load.json"},
                                &out, 90s);
  ASSERT_TRUE(rc.ok()) << rc.error().ToString();
  ASSERT_EQ(*rc, 0) << out;
  const std::string measured = testing::ReadFile(dir + "/load.json");
  ASSERT_EQ(JsonNumber(measured, "succeeded"), 60) << out;
  // The prompt length as the engine counted it (usage), so both see the same tokens.
  const int prompt = static_cast<int>(JsonNumber(measured, "p50", "\"prompt_tokens\":{"));
  ASSERT_NEAR(prompt, 200, 10);

  rc = testing::RunCommand(
      {testing::GpuscaleBinary(), "simulate", "run", "--hpa", Testdata("one-replica-hpa.yaml"),
       "--profile", kProfile, "--rate", "6", "--duration", "10s", "--prompt-tokens",
       std::to_string(prompt), "--output-tokens", "64", "--no-oracle", "--json", dir + "/sim.json"},
      &out, 60s);
  ASSERT_TRUE(rc.ok()) << rc.error().ToString();
  ASSERT_EQ(*rc, 0) << out;
  const std::string predicted = testing::ReadFile(dir + "/sim.json");
  ASSERT_EQ(JsonNumber(predicted, "requests"), 60) << predicted.substr(0, 400);

  ExpectAgrees("TTFT p50", JsonNumber(measured, "p50", "\"ttft_s\":{"),
               JsonNumber(predicted, "ttft_p50_s"));
  ExpectAgrees("ITL p50", JsonNumber(measured, "p50", "\"itl_s\":{"),
               JsonNumber(predicted, "itl_p50_s"));
  ExpectAgrees("e2e p50", JsonNumber(measured, "p50", "\"e2e_s\":{"),
               JsonNumber(predicted, "e2e_p50_s"));
}

}  // namespace
}  // namespace gpuscale::sim
