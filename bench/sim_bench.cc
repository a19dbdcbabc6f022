// gpuscale simulate: the one-hour Azure conversation trace through a 5-replica deployment under
// the guide's GPU HPA, full metrics pipeline, in virtual time (target: < 1 s wall), and the same
// hour scaled 40x through 200 replicas. The peer in the same run is the same trace through the
// same engines with no HPA, pipeline or router (bench/README.md, "sim").
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>

#include "hpa/spec.h"
#include "load/arrivals.h"
#include "load/trace.h"
#include "sim/oracle.h"
#include "sim/simulator.h"

namespace {

using namespace gpuscale;

const load::Trace* Trace() {
  static const auto* trace = [] {
    auto t =
        load::ReadAzureTrace(std::string(GPUSCALE_TRACES_DIR) + "/AzureLLMInferenceTrace_conv.csv");
    return t.ok() ? new load::Trace(std::move(*t)) : nullptr;
  }();
  return trace;
}

sim::Options FiveReplicas() {
  sim::Options o;
  o.profile = *engine::FindProfile("gemma-3-1b-it-l4");
  o.initial_replicas = 5;
  return o;
}

// Simulates the trace (scaled by `scaling`) with the guide's GPU HPA pinned at `replicas`, so
// every pod takes traffic all hour; reports requests, events and simulated requests per second.
void SimulateTrace(benchmark::State& state, int replicas, load::TraceReplayOptions scaling) {
  const load::Trace* trace = Trace();
  if (trace == nullptr) {
    state.SkipWithError("AzureLLMInferenceTrace_conv.csv not found under " GPUSCALE_TRACES_DIR);
    return;
  }
  auto spec = hpa::LoadHpaSpecFile(std::string(GPUSCALE_SIM_TESTDATA) + "/gpu-hpa.yaml");
  spec->min_replicas = replicas;
  spec->max_replicas = std::max(spec->max_replicas, replicas);
  sim::Options o = FiveReplicas();
  o.initial_replicas = replicas;
  std::size_t requests = 0;
  std::uint64_t events = 0;
  for (auto _ : state) {
    auto arrivals = load::MakeTraceArrivals(*trace, scaling, core::Rng(1));
    auto r = sim::Simulate(o, *spec, *arrivals);
    requests = r->requests.size();
    events = r->events_processed;
    benchmark::DoNotOptimize(r->gpu_hours);
  }
  state.counters["requests"] = static_cast<double>(requests);
  state.counters["events"] = static_cast<double>(events);
  state.counters["sim_requests_per_s"] =
      benchmark::Counter(static_cast<double>(requests) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}

void BM_AzureConvHour5Replicas(benchmark::State& state) { SimulateTrace(state, 5, {}); }
BENCHMARK(BM_AzureConvHour5Replicas)->Unit(benchmark::kMillisecond)->Iterations(3);

// Hundreds of replicas: the same hour with 40 requests per trace row (about 775,000 requests,
// 215 req/s) through 200 replicas.
void BM_AzureConvHourX40On200Replicas(benchmark::State& state) {
  SimulateTrace(state, 200, {1.0, 40.0});
}
BENCHMARK(BM_AzureConvHourX40On200Replicas)->Unit(benchmark::kMillisecond)->Iterations(1);

// The peer: the same requests on 5 always-ready engines, round-robin, nothing else.
void BM_AzureConvHourFixedPool(benchmark::State& state) {
  const load::Trace* trace = Trace();
  if (trace == nullptr) {
    state.SkipWithError("trace not found");
    return;
  }
  std::vector<sim::RequestRecord> reqs;
  for (const load::TraceRecord& t : trace->records) {
    sim::RequestRecord r;
    r.arrival_s = core::ToSeconds(t.offset);
    r.prompt_tokens = t.context_tokens;
    r.output_tokens = t.generated_tokens;
    reqs.push_back(r);
  }
  const sim::Options o = FiveReplicas();
  for (auto _ : state) benchmark::DoNotOptimize(sim::FixedPoolAttainment(o, reqs, 5));
}
BENCHMARK(BM_AzureConvHourFixedPool)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
