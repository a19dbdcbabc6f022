// The load generator against real parts: the engine emulator (`gpuscale engine` as a child
// process), the `gpuscale load` command line, and headless Chromium rendering the HTML report.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "core/clock.h"
#include "engine/model.h"
#include "engine/profile.h"
#include "http/client.h"
#include "http/server.h"
#include "load/report.h"
#include "load/runner.h"
#include "test/support/chromium.h"
#include "test/support/process.h"

namespace gpuscale::load {
namespace {

using namespace std::chrono_literals;
constexpr const char* kProfile = "gemma-3-1b-it-l4";
constexpr const char* kModel = "google/gemma-3-1b-it";

// One engine emulator on a free loopback port.
class EngineProcess {
 public:
  static std::unique_ptr<EngineProcess> Start(std::vector<std::string> extra = {}) {
    auto e = std::unique_ptr<EngineProcess>(new EngineProcess);
    e->port_ = testing::FreePort();
    std::vector<std::string> argv = {
        testing::GpuscaleBinary(), "engine",    "--host", "127.0.0.1", "--port",
        std::to_string(e->port_),  "--profile", kProfile, "--seed",    "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = testing::Subprocess::Start({.argv = argv});
    EXPECT_TRUE(p.ok()) << p.error().ToString();
    if (!p.ok()) return nullptr;
    e->proc_ = std::move(p).value();
    EXPECT_TRUE(testing::WaitForPort(e->port_, 20s)) << e->proc_->ReadLog();
    return e;
  }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::uint16_t port_ = 0;
  std::unique_ptr<testing::Subprocess> proc_;
};

TEST(LoadEngineTest, MeasuredTtftAndItlEqualTheEmulatorsTiming) {
  auto engine = EngineProcess::Start();
  ASSERT_TRUE(engine);
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {engine->url()};
  o.request.api = Api::kCompletions;
  o.request.prompt_tokens = 200;
  o.request.max_tokens = *ParseMaxTokens("30");
  o.request.ignore_eos = true;
  o.concurrency = 1;  // one sequence at a time: every step has the same shape
  o.max_requests = 6;
  o.duration = 30s;
  auto r = Runner(*client, clock, o).Run(nullptr);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  Summary s = Summarize(r->records, {}, r->duration_s);
  ASSERT_EQ(s.succeeded, 6u) << s.first_error;
  for (const RequestRecord& rec : r->records) EXPECT_EQ(rec.output_tokens, 30);
  int prompt = r->records[0].prompt_tokens;  // as the engine counted it (usage)
  EXPECT_NEAR(prompt, 200, 10);

  auto profile = engine::FindProfile(kProfile);
  ASSERT_TRUE(profile.ok());
  engine::Engine model(*profile, {});
  // ITL: one decode step of one sequence, from the emulator's own timing model.
  double itl = core::ToSeconds(model.StepTime(0, 1, prompt + 15));
  EXPECT_NEAR(s.itl_s.p50, itl, 0.002) << "expected " << itl;
  // TPOT also spans the final usage chunk and [DONE]: a little above the step time.
  EXPECT_NEAR(s.tpot_s.p50, itl, 0.004);
  // TTFT: what the emulator itself recorded (vllm:time_to_first_token_seconds), seen by the
  // client plus loopback HTTP; at least the one prefill step the model says.
  auto metrics = http::Client::Create()->Get(engine->url() + "/metrics");
  ASSERT_TRUE(metrics.ok());
  auto sample = [&](const std::string& name) {
    std::smatch m;
    std::regex re("\n" + name + R"(\{[^}]*\} ([0-9.eE+-]+))");
    EXPECT_TRUE(std::regex_search(metrics->body, m, re)) << name;
    return m.empty() ? 0.0 : std::stod(m[1]);
  };
  double engine_ttft = sample("vllm:time_to_first_token_seconds_sum") /
                       sample("vllm:time_to_first_token_seconds_count");
  // The client's TTFT adds request parsing and loopback I/O on both sides (a few ms on a busy
  // shared machine) and can never be shorter.
  EXPECT_GE(s.ttft_s.mean, engine_ttft - 0.001) << "engine recorded " << engine_ttft;
  EXPECT_LE(s.ttft_s.mean, engine_ttft + 0.010) << "engine recorded " << engine_ttft;
  EXPECT_GE(s.ttft_s.p50, core::ToSeconds(model.StepTime(prompt, 0, prompt)) - 0.001);
}

TEST(LoadEngineTest, TraceReplayReproducesTimingAndTokenCounts) {
  auto engine = EngineProcess::Start();
  ASSERT_TRUE(engine);
  auto full = ReadAzureTrace("../../data/traces/AzureLLMInferenceTrace_conv.csv");
  ASSERT_TRUE(full.ok()) << full.error().ToString();
  Trace trace;
  trace.records.assign(full->records.begin(), full->records.begin() + 12);
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {engine->url()};
  o.request.api = Api::kCompletions;
  o.request.ignore_eos = true;
  o.duration = 30s;
  const double scale = 0.25;
  auto arrivals = MakeTraceArrivals(trace, {.time_scale = scale, .rate_scale = 1}, core::Rng(1));
  auto r = Runner(*client, clock, o).Run(arrivals.get());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->records.size(), 12u);
  for (std::size_t i = 0; i < 12; ++i) {
    const RequestRecord& rec = r->records[i];
    const TraceRecord& t = trace.records[i];
    ASSERT_TRUE(rec.ok()) << rec.error_message;
    EXPECT_NEAR(rec.scheduled_s, core::ToSeconds(t.offset) * scale, 1e-6);
    EXPECT_NEAR(rec.sent_s, rec.scheduled_s, 0.05);  // shared test machines
    EXPECT_EQ(rec.max_tokens, t.generated_tokens);
    EXPECT_EQ(rec.output_tokens, t.generated_tokens);
    EXPECT_NEAR(rec.prompt_tokens, t.context_tokens, 8) << i;
  }
}

TEST(LoadEngineTest, LooperSendsOneRequestPerSecond) {
  auto engine = EngineProcess::Start();
  ASSERT_TRUE(engine);
  std::string out;
  auto start = std::chrono::steady_clock::now();
  auto rc = testing::RunCommand(
      {testing::GpuscaleBinary(), "load", "looper", std::to_string(engine->port()), kModel,
       "Hello there", "--requests", "4", "--max-tokens", "5"},
      &out, 30s);
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(rc.ok()) << rc.error().ToString();
  EXPECT_EQ(*rc, 0) << out;
  for (int i = 1; i <= 4; ++i) {
    EXPECT_NE(out.find("#" + std::to_string(i) + " HTTP 200"), std::string::npos) << out;
  }
  EXPECT_NE(out.find("requests: 4 sent, 4 succeeded, 0 failed"), std::string::npos) << out;
  // Sends at 0, 1, 2 and 3 s; each answer takes well under a second.
  EXPECT_GT(wall, 3.0);
  EXPECT_LT(wall, 5.5);
}

TEST(LoadEngineTest, RunCommandWritesReportsAndCountsEngineErrors) {
  auto engine = EngineProcess::Start();
  ASSERT_TRUE(engine);
  std::string dir = testing::MakeTempDir("load-run");
  std::string out;
  auto rc = testing::RunCommand({testing::GpuscaleBinary(),
                                 "load",
                                 "run",
                                 "--url",
                                 engine->url(),
                                 "--poisson",
                                 "20",
                                 "--duration",
                                 "2s",
                                 "--max-tokens",
                                 "8",
                                 "--ignore-eos",
                                 "--seed",
                                 "3",
                                 "--slo",
                                 "ttft=1s,itl=200ms",
                                 "--json",
                                 dir + "/r.json",
                                 "--csv",
                                 dir + "/r.csv",
                                 "--html",
                                 dir + "/r.html",
                                 "--progress",
                                 "plain",
                                 "--progress-every",
                                 "1s"},
                                &out, 60s);
  ASSERT_TRUE(rc.ok()) << rc.error().ToString();
  ASSERT_EQ(*rc, 0) << out;
  EXPECT_NE(out.find("throughput:"), std::string::npos) << out;
  std::string json = testing::ReadFile(dir + "/r.json");
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(json, m, std::regex("\"requests\":([0-9]+),\"succeeded\":([0-9]+)")))
      << json.substr(0, 500);
  int sent = std::stoi(m[1]), ok = std::stoi(m[2]);
  EXPECT_NEAR(sent, 40, 25);  // Poisson, 2 s at 20/s
  EXPECT_EQ(ok, sent);
  std::string csv = testing::ReadFile(dir + "/r.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), sent + 1);
  EXPECT_NE(testing::ReadFile(dir + "/r.html").find("<svg"), std::string::npos);

  std::string bad;
  rc = testing::RunCommand(
      {testing::GpuscaleBinary(), "load", "run", "--rate", "5", "--steps", "1:1s"}, &bad, 30s);
  ASSERT_TRUE(rc.ok());
  EXPECT_NE(*rc, 0) << bad;
  rc = testing::RunCommand(
      {testing::GpuscaleBinary(), "load", "run", "--trace", "/nonexistent.csv"}, &bad, 30s);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(*rc, 2);
  EXPECT_NE(bad.find("--trace: /nonexistent.csv: cannot open"), std::string::npos) << bad;
}

TEST(LoadReportTest, HtmlReportRendersInHeadlessChromium) {
  // A real run against an in-process server whose latency grows over time.
  std::atomic<int> n{0};
  auto server = http::Server::Start({}, [&](http::Request, http::Reply reply) {
    int i = ++n;
    reply(http::Response::Json(200, "{\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":" +
                                        std::to_string(i % 7 + 1) + "}}"));
  });
  ASSERT_TRUE(server.ok());
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {"http://127.0.0.1:" + std::to_string((*server)->port())};
  o.request.stream = false;
  o.duration = 2s;
  auto arrivals = MakeRampArrivals(5, 60, 2s, true, core::Rng(2));
  auto r = Runner(*client, clock, o).Run(arrivals.get());
  ASSERT_TRUE(r.ok());
  Report rep;
  rep.title = "chromium check";
  rep.summary = Summarize(r->records, {}, r->duration_s);
  rep.series = Series(r->records, 0.25, r->duration_s);
  rep.interval_s = 0.25;
  rep.requests = &r->records;
  std::string dir = testing::MakeTempDir("load-html");
  { std::ofstream(dir + "/report.html") << ReportHtml(rep); }
  testing::ScreenshotOptions slow_machine_ok{.timeout = std::chrono::seconds(150)};
  core::Status shot =
      testing::Screenshot(dir + "/report.html", dir + "/report.png", slow_machine_ok);
  ASSERT_TRUE(shot.ok()) << shot.ToString();
  auto png = testing::AnalysePng(dir + "/report.png");
  ASSERT_TRUE(png.ok()) << png.error().ToString();
  EXPECT_EQ(png->width, 1200);
  EXPECT_EQ(png->height, 900);
  // Text, tables and coloured chart lines: many colours, and a good share of drawn pixels.
  EXPECT_GT(png->distinct_colors, 50);
  EXPECT_GT(png->non_background, 0.05);

  // The checker itself tells a blank page from a drawn one.
  { std::ofstream(dir + "/blank.html") << "<!DOCTYPE html><html><body></body></html>"; }
  ASSERT_TRUE(testing::Screenshot(dir + "/blank.html", dir + "/blank.png", slow_machine_ok).ok());
  auto blank = testing::AnalysePng(dir + "/blank.png");
  ASSERT_TRUE(blank.ok());
  EXPECT_LE(blank->distinct_colors, 2);
  EXPECT_LT(blank->non_background, 0.001);
}

}  // namespace
}  // namespace gpuscale::load
