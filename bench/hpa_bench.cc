// Decisions per second of hpa::Autoscaler::Sync for a 1,000-pod HPA. Each iteration is one
// sync 15 s after the previous one with a metric level that moves, so stabilization windows,
// policy periods and slot reuse all work as in a long-running controller. The peer in the same
// run is the legacy path (no behavior) on the same pods; the budget it is compared with is the
// controller's own load, 1,000 HPAs per 15 s sync period (67 decisions/s).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "hpa/autoscaler.h"
#include "hpa/state.h"

namespace gpuscale::hpa {
namespace {

constexpr int kPods = 1000;
const core::Timestamp kStart = core::FromUnixSeconds(1'700'000'000);

HpaSpec Spec(bool behavior, bool cpu) {
  HpaSpec spec;
  spec.name = "vllm";
  spec.scale_target_ref = {"apps/v1", "Deployment", "vllm"};
  spec.min_replicas = 1;
  spec.max_replicas = 2000;
  MetricSpec m;
  if (cpu) {
    m.type = MetricSourceType::kResource;
    m.resource = "cpu";
    m.target.type = MetricTargetType::kUtilization;
    m.target.average_utilization = 60;
  } else {
    m.type = MetricSourceType::kPods;
    m.metric_name = "DCGM_FI_DEV_GPU_UTIL";
    m.target.type = MetricTargetType::kAverageValue;
    m.target.average_value_milli = 60'000;
  }
  spec.metrics = {m};
  if (behavior) {
    spec.behavior = Behavior{DefaultScaleUpRules(), DefaultScaleDownRules()};
    spec.behavior->scale_down.stabilization_window_seconds = 120;
  }
  return spec;
}

State BaseState() {
  State s;
  s.spec_replicas = s.status_replicas = kPods;
  PodsMetricReading gpu{"DCGM_FI_DEV_GPU_UTIL"};
  ResourceMetricsReading cpu;
  for (int i = 0; i < kPods; ++i) {
    Pod p;
    p.name = "vllm-" + std::to_string(i);
    p.start_time = kStart - std::chrono::hours(1);
    p.ready = PodReadyCondition{ConditionStatus::kTrue, kStart - std::chrono::hours(1)};
    p.containers.push_back(Container{"server", {{"cpu", 4000}}});
    s.pods.push_back(std::move(p));
  }
  s.pods_metrics.push_back(std::move(gpu));
  s.resource_metrics["cpu"] = std::move(cpu);
  return s;
}

// Moves every pod's level for sync `i`: a slow wave between 40% and 80% of the target.
void SetLevels(State& s, int64_t i) {
  s.time = kStart + std::chrono::seconds(15 * i);
  const int64_t level = 40'000 + (i * 7919) % 40'000;
  auto& gpu = s.pods_metrics[0].values_milli;
  auto& cpu = s.resource_metrics["cpu"].pods;
  for (int p = 0; p < kPods; ++p) {
    const std::string& name = s.pods[p].name;
    gpu[name] = level + p;
    PodResourceUsage& u = cpu[name];
    u.timestamp = s.time;
    u.containers["server"]["cpu"] = (level + p) / 20;
  }
}

void Run(benchmark::State& bs, bool behavior, bool cpu) {
  Autoscaler a(Spec(behavior, cpu));
  State s = BaseState();
  int64_t i = 0;
  SetLevels(s, i);  // levels are set once; the time still moves every sync
  int64_t sum = 0;
  for (auto _ : bs) {
    s.time = kStart + std::chrono::seconds(15 * ++i);
    Decision d = a.Sync(s);
    sum += d.desired_replicas;
  }
  benchmark::DoNotOptimize(sum);
  bs.counters["decisions_per_s"] =
      benchmark::Counter(static_cast<double>(bs.iterations()), benchmark::Counter::kIsRate);
  bs.counters["x_controller_load"] = benchmark::Counter(
      static_cast<double>(bs.iterations()) / (1000.0 / 15.0), benchmark::Counter::kIsRate);
}

// Same, with every pod's value changing between syncs (the work a state update costs the caller
// is outside the timed region).
void RunMoving(benchmark::State& bs, bool behavior) {
  Autoscaler a(Spec(behavior, false));
  State s = BaseState();
  int64_t i = 0;
  int64_t sum = 0;
  for (auto _ : bs) {
    bs.PauseTiming();
    SetLevels(s, ++i);
    bs.ResumeTiming();
    Decision d = a.Sync(s);
    sum += d.desired_replicas;
  }
  benchmark::DoNotOptimize(sum);
  bs.counters["decisions_per_s"] =
      benchmark::Counter(static_cast<double>(bs.iterations()), benchmark::Counter::kIsRate);
}

void BM_PodsMetric1000PodsWithBehavior(benchmark::State& bs) { Run(bs, true, false); }
void BM_PodsMetric1000PodsLegacy(benchmark::State& bs) { Run(bs, false, false); }
void BM_CpuUtilization1000PodsWithBehavior(benchmark::State& bs) { Run(bs, true, true); }
void BM_PodsMetric1000PodsWithBehaviorMovingLevels(benchmark::State& bs) { RunMoving(bs, true); }

// Reading one 1,000-pod state from JSON, as `gpuscale hpa recommend` does.
void BM_ParseState1000Pods(benchmark::State& bs) {
  std::string json = R"({"time":"2025-01-01T00:00:00Z","replicas":1000,"pods":[)";
  for (int i = 0; i < kPods; ++i) {
    if (i) json += ",";
    json += R"({"name":"vllm-)" + std::to_string(i) +
            R"(","startTime":"-1h","metrics":{"DCGM_FI_DEV_GPU_UTIL":"61"}})";
  }
  json += "]}";
  for (auto _ : bs) {
    auto in = ParseState(json);
    if (!in.ok()) bs.SkipWithError(in.error().message.c_str());
    benchmark::DoNotOptimize(in);
  }
  bs.SetBytesProcessed(static_cast<int64_t>(bs.iterations() * json.size()));
}

BENCHMARK(BM_PodsMetric1000PodsWithBehavior)->Unit(benchmark::kMicrosecond)->MinTime(1.0);
BENCHMARK(BM_PodsMetric1000PodsLegacy)->Unit(benchmark::kMicrosecond)->MinTime(1.0);
BENCHMARK(BM_CpuUtilization1000PodsWithBehavior)->Unit(benchmark::kMicrosecond)->MinTime(1.0);
BENCHMARK(BM_PodsMetric1000PodsWithBehaviorMovingLevels)
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(1.0);
BENCHMARK(BM_ParseState1000Pods)->Unit(benchmark::kMillisecond)->MinTime(1.0);

}  // namespace
}  // namespace gpuscale::hpa

BENCHMARK_MAIN();
