// The runner against in-process http::Servers the tests control: timing, streaming token
// measurement, failure kinds, closed loop, trace replay.
#include "load/runner.h"

#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <mutex>
#include <sstream>

#include "core/clock.h"
#include "http/server.h"

namespace gpuscale::load {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

std::unique_ptr<http::Server> Serve(http::Handler h, int threads = 1) {
  http::ServerOptions o;
  o.io_threads = threads;
  auto s = http::Server::Start(o, std::move(h));
  EXPECT_TRUE(s.ok()) << s.error().ToString();
  return std::move(s).value();
}

std::string Base(const http::Server& s) { return "http://127.0.0.1:" + std::to_string(s.port()); }

std::string Chunk(std::string_view text) {
  return http::SseEvent("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + std::string(text) +
                        "\"}}]}");
}

// Records when each request arrived and its body.
struct Arrivals {
  std::mutex mu;
  std::vector<SteadyClock::time_point> times;
  std::vector<std::string> bodies;
  void Add(const http::Request& r) {
    std::lock_guard lock(mu);
    times.push_back(SteadyClock::now());
    bodies.push_back(r.body);
  }
};

const char* kOkJson =
    R"({"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}})";

TEST(RunnerTest, ConstantRateSendsOnScheduleAndServerSeesTheSpacing) {
  Arrivals seen;
  auto server = Serve([&](http::Request r, http::Reply reply) {
    seen.Add(r);
    reply(http::Response::Json(200, kOkJson));
  });
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {Base(*server)};
  o.request.stream = false;
  o.duration = 1s;
  Runner runner(*client, clock, o);
  auto arrivals = MakeConstantArrivals(20);
  auto r = runner.Run(arrivals.get());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  ASSERT_EQ(r->records.size(), 20u);
  Summary s = Summarize(r->records, {}, r->duration_s);
  EXPECT_EQ(s.succeeded, 20u) << s.first_error;
  // Loose bounds: test machines are shared; bench/ measures the real figure.
  EXPECT_LT(s.send_lag_s.p50, 0.005);
  EXPECT_LT(s.send_lag_s.max, 0.05);
  EXPECT_EQ(r->records[5].output_tokens, 2);
  EXPECT_EQ(r->records[5].prompt_tokens, 3);
  std::lock_guard lock(seen.mu);
  ASSERT_EQ(seen.times.size(), 20u);
  double span = std::chrono::duration<double>(seen.times.back() - seen.times.front()).count();
  EXPECT_NEAR(span, 0.95, 0.03);
  EXPECT_NE(seen.bodies[0].find("\"messages\":[{\"role\":\"user\""), std::string::npos);
}

TEST(ParseCpuStealTicks, ReadsTheAggregateLinesEighthNumber) {
  EXPECT_EQ(ParseCpuStealTicks("cpu  2475169 352105 432062 1180547 11965 0 23851 37306 0 0\n"
                               "cpu0 1 2 3 4 5 6 7 99 0 0\n"),
            37306u);
  // The aggregate line need not come first; per-CPU lines are not it.
  EXPECT_EQ(ParseCpuStealTicks("intr 5\ncpu0 1 2 3 4 5 6 7 8\ncpu 1 2 3 4 5 6 7 8"), 8u);
  EXPECT_EQ(ParseCpuStealTicks("cpu  1 2 3 4 5 6 7\n"), std::nullopt);  // no steal column
  EXPECT_EQ(ParseCpuStealTicks("cpu  1 2 x 4 5 6 7 8\n"), std::nullopt);
  EXPECT_EQ(ParseCpuStealTicks("cpu0 1 2 3 4 5 6 7 8\n"), std::nullopt);
  EXPECT_EQ(ParseCpuStealTicks(""), std::nullopt);
}

TEST(RunnerTest, RealtimeSendsRestoreTheThreadsPolicy) {
  auto server =
      Serve([&](http::Request, http::Reply reply) { reply(http::Response::Json(200, kOkJson)); });
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {Base(*server)};
  o.request.stream = false;
  o.duration = 200ms;
  o.realtime_sends = true;
  int policy_before = sched_getscheduler(0);
  Runner runner(*client, clock, o);
  auto arrivals = MakeConstantArrivals(50);
  auto r = runner.Run(arrivals.get());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  // Permitted or not (root or CAP_SYS_NICE), the run is the same and the thread is as before.
  EXPECT_EQ(r->records.size(), 10u);
  EXPECT_EQ(Summarize(r->records, {}, r->duration_s).succeeded, 10u);
  EXPECT_EQ(sched_getscheduler(0), policy_before);

  o.realtime_sends = false;
  Runner plain(*client, clock, o);
  auto again = MakeConstantArrivals(50);
  auto r2 = plain.Run(again.get());
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(r2->realtime_sends);
}

TEST(RunnerTest, StreamingTimingsMatchTheServersPacing) {
  core::ThreadScheduler sched;
  constexpr int kTokens = 8;
  auto server = Serve([&](http::Request, http::Reply reply) {
    reply(http::Response::EventStream([&](std::shared_ptr<http::Stream> st) {
      auto t0 = sched.clock().Now();
      for (int i = 0; i < kTokens; ++i) {
        sched.ScheduleAt(t0 + 60ms + i * 25ms,
                         [st, i] { st->Write(Chunk("t" + std::to_string(i))); });
      }
      sched.ScheduleAt(t0 + 60ms + (kTokens - 1) * 25ms + 1ms, [st] {
        st->Write(
            http::SseEvent(R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":8}})"));
        st->Write(http::SseEvent("[DONE]"));
        st->Close();
      });
    }));
  });
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {Base(*server)};
  o.duration = 1s;
  Runner runner(*client, clock, o);
  auto arrivals = MakeConstantArrivals(5);
  auto r = runner.Run(arrivals.get());
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  Summary s = Summarize(r->records, {}, r->duration_s);
  ASSERT_EQ(s.succeeded, 5u) << s.first_error;
  EXPECT_NEAR(s.ttft_s.p50, 0.060, 0.010);
  EXPECT_NEAR(s.itl_s.p50, 0.025, 0.005);
  EXPECT_EQ(s.itl_s.count, 5u * (kTokens - 1));
  EXPECT_NEAR(s.tpot_s.mean, 0.025, 0.005);
  EXPECT_EQ(r->records[0].output_tokens, 8);
}

TEST(RunnerTest, FailuresAreCountedByKindAndNeverStopTheRun) {
  // Targets in turn: fine, refused, 500, silent (times out), stream cut before [DONE].
  auto ok = Serve([](http::Request, http::Reply reply) {
    reply(http::Response::EventStream([](std::shared_ptr<http::Stream> st) {
      st->Write(Chunk("a"));
      st->Write(http::SseEvent("[DONE]"));
      st->Close();
    }));
  });
  std::string refused;
  {
    auto gone =
        Serve([](http::Request, http::Reply reply) { reply(http::Response::Text(200, "")); });
    refused = Base(*gone);
    gone->Stop(0ms);
  }
  auto err500 = Serve([](http::Request, http::Reply reply) {
    reply(http::Response::Json(500, R"({"error":{"message":"engine broke"}})"));
  });
  std::mutex held_mu;
  std::vector<http::Reply> held;  // never answered until the end of the test
  auto silent = Serve([&](http::Request, http::Reply reply) {
    std::lock_guard lock(held_mu);
    held.push_back(std::move(reply));
  });
  auto cut = Serve([](http::Request, http::Reply reply) {
    reply(http::Response::EventStream([](std::shared_ptr<http::Stream> st) {
      st->Write(Chunk("a"));
      st->Write(Chunk("b"));
      st->Close();
    }));
  });
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {Base(*ok), refused, Base(*err500), Base(*silent), Base(*cut)};
  o.request.timeout = 300ms;
  o.duration = 2s;
  o.max_requests = 25;
  Runner runner(*client, clock, o);
  auto arrivals = MakeConstantArrivals(50);
  std::atomic<int> callbacks{0};
  auto r = runner.Run(arrivals.get(), {}, [&](const RequestRecord&) { ++callbacks; });
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  Summary s = Summarize(r->records, {}, r->duration_s);
  EXPECT_EQ(s.requests, 25u);
  EXPECT_EQ(callbacks.load(), 25);
  EXPECT_EQ(s.succeeded, 5u) << SummaryText(s);
  EXPECT_EQ(s.errors["connect"], 5u) << SummaryText(s);
  EXPECT_EQ(s.errors["http_5xx"], 5u);
  EXPECT_EQ(s.errors["timeout"], 5u);
  EXPECT_EQ(s.errors["truncated"], 5u);
  EXPECT_EQ(s.statuses[500], 5u);
  for (const RequestRecord& rec : r->records) {
    if (rec.error == ErrorKind::kHttp5xx) {
      EXPECT_NE(rec.error_message.find("engine broke"), std::string::npos);
    }
    if (rec.error == ErrorKind::kTimeout) {
      EXPECT_NEAR(rec.e2e_s, 0.3, 0.1);
    }
  }
  silent->Stop(0ms);
}

TEST(RunnerTest, OpenLoopIsNotHeldBackBySlowAnswers) {
  core::ThreadScheduler sched;
  auto server = Serve([&](http::Request, http::Reply reply) {
    sched.ScheduleAfter(400ms, [reply] { reply(http::Response::Json(200, kOkJson)); });
  });
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {Base(*server)};
  o.request.stream = false;
  o.duration = 1s;
  Runner runner(*client, clock, o);
  auto arrivals = MakeConstantArrivals(100);
  auto r = runner.Run(arrivals.get());
  ASSERT_TRUE(r.ok());
  Summary s = Summarize(r->records, {}, r->duration_s);
  EXPECT_EQ(s.requests, 100u);
  EXPECT_EQ(s.succeeded, 100u) << s.first_error;
  // Answers take 400 ms; sends stayed on their schedule (far under that).
  EXPECT_LT(s.send_lag_s.p50, 0.005);
  EXPECT_LT(s.send_lag_s.max, 0.1);
  EXPECT_LT(r->records.back().sent_s, 1.0);
  EXPECT_GE(s.e2e_s.p50, 0.39);
  // About 40 requests were in flight at once: sends did not wait for answers.
  auto series = Series(r->records, 0.5, r->duration_s);
  EXPECT_GE(series[1].in_flight, 30u);
}

TEST(RunnerTest, ClosedLoopKeepsConcurrencyAndStopsAtTheRequestCap) {
  std::atomic<int> now{0}, peak{0};
  core::ThreadScheduler sched;
  auto server = Serve([&](http::Request, http::Reply reply) {
    int n = ++now;
    int p = peak.load();
    while (n > p && !peak.compare_exchange_weak(p, n)) {
    }
    sched.ScheduleAfter(20ms, [&, reply] {
      --now;
      reply(http::Response::Json(200, kOkJson));
    });
  });
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {Base(*server)};
  o.request.stream = false;
  o.concurrency = 6;
  o.max_requests = 120;
  o.duration = 10s;
  Runner runner(*client, clock, o);
  auto r = runner.Run(nullptr);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->records.size(), 120u);
  EXPECT_EQ(peak.load(), 6);
  EXPECT_LT(r->duration_s, 2.0);
  Summary s = Summarize(r->records, {}, r->duration_s);
  EXPECT_EQ(s.succeeded, 120u) << s.first_error;
}

TEST(RunnerTest, TraceReplayReproducesTimingAndTokenCounts) {
  Arrivals seen;
  auto server = Serve([&](http::Request r, http::Reply reply) {
    seen.Add(r);
    reply(http::Response::Json(200, kOkJson));
  });
  auto trace = ParseAzureTrace(
      "TIMESTAMP,ContextTokens,GeneratedTokens\n"
      "2023-11-16 18:15:46.0,12,7\n2023-11-16 18:15:48.0,30,2\n2023-11-16 18:15:51.0,5,40\n");
  ASSERT_TRUE(trace.ok());
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {Base(*server)};
  o.request.stream = false;
  o.request.api = Api::kCompletions;
  o.duration = 5s;
  Runner runner(*client, clock, o);
  auto arrivals = MakeTraceArrivals(*trace, {.time_scale = 0.1, .rate_scale = 2}, core::Rng(1));
  auto r = runner.Run(arrivals.get());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->records.size(), 6u);
  std::lock_guard lock(seen.mu);
  ASSERT_EQ(seen.times.size(), 6u);
  auto at = [&](std::size_t i) {
    return std::chrono::duration<double>(seen.times[i] - seen.times[0]).count();
  };
  // Scheduled exactly at the scaled trace times, sent on time, and seen so by the server (whose
  // clock includes connection set-up, hence the looser bound).
  const double expected[] = {0, 0, 0.2, 0.2, 0.5, 0.5};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(r->records[i].scheduled_s, expected[i], 1e-9);
    EXPECT_NEAR(r->records[i].sent_s, expected[i], 0.01);
  }
  EXPECT_NEAR(at(1), 0.0, 0.04);
  EXPECT_NEAR(at(2), 0.2, 0.04);
  EXPECT_NEAR(at(4), 0.5, 0.04);
  // Bodies carry the trace's output lengths and prompts of its context lengths.
  std::vector<int> max_tokens, words;
  for (const std::string& b : seen.bodies) {
    auto p = b.find("\"max_tokens\":");
    ASSERT_NE(p, std::string::npos) << b;
    max_tokens.push_back(std::stoi(b.substr(p + 13)));
    auto q = b.find("\"prompt\":\"");
    std::string prompt = b.substr(q + 10, b.find('"', q + 10) - q - 10);
    std::istringstream in(prompt);
    int n = 0;
    for (std::string w; in >> w;) ++n;
    words.push_back(n);
  }
  std::sort(max_tokens.begin(), max_tokens.end());
  std::sort(words.begin(), words.end());
  EXPECT_EQ(max_tokens, (std::vector<int>{2, 2, 7, 7, 40, 40}));
  EXPECT_EQ(words, (std::vector<int>{5, 5, 12, 12, 30, 30}));
}

TEST(RunnerTest, StopEndsALongRunQuickly) {
  auto server =
      Serve([](http::Request, http::Reply reply) { reply(http::Response::Json(200, kOkJson)); });
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {Base(*server)};
  o.request.stream = false;
  o.duration = 60s;
  Runner runner(*client, clock, o);
  auto arrivals = MakeConstantArrivals(10);
  auto start = SteadyClock::now();
  int calls = 0;
  auto r = runner.Run(arrivals.get(), [&](const Progress& p) {
    if (++calls == 1) {
      EXPECT_GE(p.sent, 1);
    }
    if (p.elapsed_s > 0.3) runner.Stop();
  });
  ASSERT_TRUE(r.ok());
  EXPECT_LT(std::chrono::duration<double>(SteadyClock::now() - start).count(), 2.0);
  EXPECT_GE(r->records.size(), 3u);
  EXPECT_LE(r->records.size(), 15u);
}

TEST(RunnerTest, BadTargetsAndModesAreRejected) {
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {"ftp://x"};
  auto arrivals = MakeConstantArrivals(1);
  auto r = Runner(*client, clock, o).Run(arrivals.get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("targets[0] 'ftp://x'"), std::string::npos);
  o.request.targets = {"http://127.0.0.1:1"};
  EXPECT_FALSE(Runner(*client, clock, o).Run(nullptr).ok());
}

TEST(RunnerTest, ParseSweepSpecs) {
  auto a = ParseSweep("1:10:4");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (std::vector<double>{1, 4, 7, 10}));
  auto b = ParseSweep("2,5,10");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (std::vector<double>{2, 5, 10}));
  EXPECT_FALSE(ParseSweep("1:10").ok());
  EXPECT_FALSE(ParseSweep("1:10:0").ok());
  EXPECT_FALSE(ParseSweep("a,b").ok());
}

TEST(RunnerTest, SweepReportsEachRate) {
  auto server =
      Serve([](http::Request, http::Reply reply) { reply(http::Response::Json(200, kOkJson)); });
  auto client = http::AsyncClient::Create();
  core::SystemClock clock;
  RunOptions o;
  o.request.targets = {Base(*server)};
  o.request.stream = false;
  o.duration = 500ms;
  RunResult all;
  auto points = RunSweep(*client, clock, o, {10, 40}, false, {}, &all);
  ASSERT_TRUE(points.ok()) << points.error().ToString();
  ASSERT_EQ(points->size(), 2u);
  EXPECT_EQ((*points)[0].summary.requests, 5u);
  EXPECT_EQ((*points)[1].summary.requests, 20u);
  EXPECT_EQ(all.records.size(), 25u);
  EXPECT_GT(all.records.back().sent_s, 0.5);
}

}  // namespace
}  // namespace gpuscale::load
