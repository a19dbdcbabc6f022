// gpuscale engine benchmarks.
//  BM_Step/N               one engine step with N decoding sequences (model cost per step)
//  BM_AzureConvTrace       the 1-hour Azure 2023 conversation trace through 5 replicas of the
//                          gemma-3-1b-it/H100 model in virtual time (DESIGN.md §7: < 1 s)
//  BM_ConcurrentStreams/N  N concurrent streaming requests against a real EngineServer on
//                          loopback, all running at once; reports token delivery lateness
//                          (p50/p99/max, DESIGN.md §7: p99 < 2 ms) and the tokens streamed
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/model.h"
#include "engine/server.h"
#include "http/client.h"

namespace gpuscale::engine {
namespace {

using std::chrono::milliseconds;

void BM_Step(benchmark::State& state) {
  auto profile = FindProfile("gemma-3-1b-it-h100");
  const int n = static_cast<int>(state.range(0));
  EngineOptions o;
  o.max_num_seqs = n;
  o.max_num_batched_tokens = 8192;
  Engine e(*profile, o);
  Timestamp t{};
  for (int i = 0; i < n; ++i) {
    (void)e.Add(RequestSpec{static_cast<RequestId>(i), 64, 30000, FinishReason::kLength}, t);
  }
  while (e.stats().num_waiting > 0) t = e.Step(t).end();
  RequestId next = static_cast<RequestId>(n);
  for (auto _ : state) {
    const StepResult& r = e.Step(t);
    benchmark::DoNotOptimize(r.tokens.data());
    t = r.end();
    // Keep N sequences decoding: replace each finished one.
    for (std::size_t i = 0; i < r.finished.size(); ++i) {
      (void)e.Add(RequestSpec{next++, 64, 30000, FinishReason::kLength}, t);
    }
  }
  state.counters["seqs"] = n;
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Step)->Arg(8)->Arg(64)->Arg(256)->Arg(1024);

struct TraceRow {
  double t;
  int prompt;
  int output;
};

std::vector<TraceRow> ReadAzureConv() {
  std::ifstream in(std::string(GPUSCALE_TRACES_DIR) + "/AzureLLMInferenceTrace_conv.csv");
  std::vector<TraceRow> rows;
  std::string line;
  std::getline(in, line);  // header
  double t0 = -1;
  while (std::getline(in, line)) {
    // 2023-11-16 18:15:46.6805900,374,44
    std::tm tm{};
    double frac = 0;
    int prompt = 0, output = 0;
    char secs[32] = {};
    if (std::sscanf(line.c_str(), "%d-%d-%d %d:%d:%31[0-9.],%d,%d", &tm.tm_year, &tm.tm_mon,
                    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, secs, &prompt, &output) != 8) {
      continue;
    }
    frac = std::atof(secs);
    double t = tm.tm_mday * 86400.0 + tm.tm_hour * 3600.0 + tm.tm_min * 60.0 + frac;
    if (t0 < 0) t0 = t;
    rows.push_back({t - t0, std::max(1, prompt), std::max(1, output)});
  }
  return rows;
}

void BM_AzureConvTrace(benchmark::State& state) {
  std::vector<TraceRow> rows = ReadAzureConv();
  if (rows.empty()) {
    state.SkipWithError("AzureLLMInferenceTrace_conv.csv not found under " GPUSCALE_TRACES_DIR);
    return;
  }
  auto profile = FindProfile("gemma-3-1b-it-h100");
  std::uint64_t steps = 0;
  for (auto _ : state) {
    constexpr int kReplicas = 5;
    std::vector<Engine> engines;
    engines.reserve(kReplicas);
    for (int i = 0; i < kReplicas; ++i) engines.emplace_back(*profile, EngineOptions{});
    std::vector<Timestamp> busy_until(kReplicas);
    steps = 0;
    std::size_t next = 0;
    const Timestamp end = Timestamp{} + std::chrono::hours(2);
    // Event loop: the earliest of the next arrival and each replica's step end.
    while (true) {
      Timestamp arrival = next < rows.size() ? Timestamp{} + core::FromSeconds(rows[next].t) : end;
      int who = -1;
      Timestamp when = arrival;
      for (int i = 0; i < kReplicas; ++i) {
        if (engines[i].HasWork() && busy_until[i] < when) {
          when = busy_until[i];
          who = i;
        }
      }
      if (who < 0) {
        if (next >= rows.size()) break;
        const TraceRow& r = rows[next];
        int target = static_cast<int>(next % kReplicas);  // round robin
        (void)engines[target].Add(RequestSpec{next, r.prompt, r.output, FinishReason::kStop},
                                  arrival);
        if (busy_until[target] < arrival) busy_until[target] = arrival;
        ++next;
        continue;
      }
      busy_until[who] = engines[who].Step(when).end();
      ++steps;
    }
    benchmark::DoNotOptimize(steps);
  }
  state.counters["requests"] = static_cast<double>(rows.size());
  state.counters["steps"] = static_cast<double>(steps);
}
BENCHMARK(BM_AzureConvTrace)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_ConcurrentStreams(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const int tokens = 64;
  auto profile = FindProfile("gemma-3-1b-it-h100");
  for (auto _ : state) {
    core::ThreadScheduler scheduler;
    EngineServerOptions o;
    o.host = "127.0.0.1";
    o.port = 0;
    o.io_threads = 1;
    o.seed = 1;
    o.engine.max_num_seqs = n;  // every stream runs at once
    o.engine.max_num_batched_tokens = 16384;
    auto server = EngineServer::Start(*profile, o, scheduler);
    if (!server.ok()) {
      state.SkipWithError(server.error().ToString().c_str());
      return;
    }
    auto client = http::AsyncClient::Create({.request_timeout = milliseconds(300000)}, 1);
    auto url =
        http::ParseUrl("http://127.0.0.1:" + std::to_string((*server)->port()) + "/v1/completions");
    std::atomic<int> done{0}, ok{0};
    std::atomic<int> peak{0};
    std::string body = "{\"prompt\":\"hello\",\"max_tokens\":" + std::to_string(tokens) +
                       ",\"ignore_eos\":true,\"stream\":true}";
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      http::Request req = http::Request::PostJson(body);
      http::AsyncCallbacks cb;
      cb.on_data = [](std::string_view) { return true; };
      cb.on_done = [&](core::Result<http::Response> r) {
        if (r.ok() && r->status == 200) ++ok;
        ++done;
      };
      client->Send(*url, req, cb);
    }
    auto deadline = start + std::chrono::seconds(300);
    while (done.load() < n && std::chrono::steady_clock::now() < deadline) {
      peak = std::max(peak.load(), (*server)->stats().num_running);
      std::this_thread::sleep_for(milliseconds(20));
    }
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    TimingErrorStats t = (*server)->timing_error();
    state.SetIterationTime(wall);
    state.counters["streams_ok"] = ok.load();
    state.counters["peak_running"] = peak.load();
    state.counters["tokens"] = static_cast<double>(t.tokens);
    state.counters["tok_per_s"] = static_cast<double>(t.tokens) / wall;
    state.counters["late_p50_ms"] = core::ToSeconds(t.p50) * 1e3;
    state.counters["late_p99_ms"] = core::ToSeconds(t.p99) * 1e3;
    state.counters["late_max_ms"] = core::ToSeconds(t.max) * 1e3;
    (*server)->Shutdown(milliseconds(0));
  }
}
BENCHMARK(BM_ConcurrentStreams)
    ->Arg(32)
    ->Arg(256)
    ->Arg(1000)
    ->Arg(5000)
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace gpuscale::engine

BENCHMARK_MAIN();
