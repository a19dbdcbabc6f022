// Hot paths of the load generator: SSE framing plus chunk decoding per streamed token, and the
// statistics over a large run.
#include <benchmark/benchmark.h>

#include "core/rng.h"
#include "load/openai.h"
#include "load/sse.h"
#include "load/stats.h"

namespace gpuscale::load {
namespace {

void BM_SseDecodeTokens(benchmark::State& state) {
  std::string body;
  for (int i = 0; i < 100; ++i) {
    body +=
        "data: {\"id\":\"cmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
        "\"delta\":{\"content\":\" word\"},\"finish_reason\":null}]}\n\n";
  }
  std::vector<SseEvent> events;
  for (auto _ : state) {
    SseParser p;
    events.clear();
    p.Feed(body, &events);
    int tokens = 0;
    for (const SseEvent& e : events) tokens += DecodeChunk(e.data)->content_pieces;
    benchmark::DoNotOptimize(tokens);
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_SseDecodeTokens);

void BM_Summarize(benchmark::State& state) {
  core::Rng rng(1);
  std::vector<RequestRecord> rs(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < rs.size(); ++i) {
    rs[i].sent_s = static_cast<double>(i) * 0.001;
    rs[i].scheduled_s = rs[i].sent_s;
    rs[i].ttft_s = rng.Exponential(10);
    rs[i].e2e_s = rs[i].ttft_s + rng.Exponential(1);
    rs[i].output_tokens = 20;
    rs[i].itl_s.assign(19, 0.01f);
  }
  for (auto _ : state) benchmark::DoNotOptimize(Summarize(rs, {}, 0));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Summarize)->Arg(100000);

}  // namespace
}  // namespace gpuscale::load

BENCHMARK_MAIN();
