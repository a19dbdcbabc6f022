// The adapter's CPU paths: the HPA's Pods query (label matchers + metricsQuery template) and
// answer encoding for 10/100/1,000 pods, and discovery (building the metric registry) from
// 10k and 100k series under the Helm chart's default rules.
#include <benchmark/benchmark.h>

#include <set>
#include <string>
#include <vector>

#include "adapter/config.h"
#include "adapter/encode.h"
#include "adapter/query.h"
#include "adapter/registry.h"
#include "adapter/template.h"

namespace gpuscale::adapter {
namespace {

std::vector<std::string> Pods(int n) {
  std::vector<std::string> pods;
  for (int i = 0; i < n; ++i)
    pods.push_back("vllm-gemma-deployment-7d9c5b8f6-" + std::to_string(10000 + i));
  return pods;
}

void BM_PodsQuery(benchmark::State& state) {
  auto t = Template::Parse("sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)");
  QueryInput in;
  in.series = "dcgm_fi_dev_gpu_util_relabelled";
  in.namespace_label = "namespace";
  in.namespace_value = "vllm-example";
  in.resource_label = "pod";
  in.names = Pods(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto q = BuildQuery(*t, in);
    benchmark::DoNotOptimize(q);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PodsQuery)->Arg(10)->Arg(100)->Arg(1000);

void BM_EncodeV1beta2(benchmark::State& state) {
  std::vector<MetricValue> items;
  for (const auto& p : Pods(static_cast<int>(state.range(0)))) {
    items.push_back({"Pod", "/v1", "vllm-example", p, "gpu_utilization_percent",
                     core::FromUnixSeconds(1700000000), 87500});
  }
  for (auto _ : state) {
    auto body = EncodeMetricValueList("v1beta2", items, {});
    benchmark::DoNotOptimize(body);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeV1beta2)->Arg(10)->Arg(100)->Arg(1000);

void BM_Discovery(benchmark::State& state) {
  auto config = LoadConfig(std::string(GPUSCALE_SOURCE_DIR) +
                           "/src/adapter/testdata/helm-default-rules.yaml");
  auto rules = RuleSet::Compile(*config, ResourceMapper::BuiltIn());
  // `n` series (as /api/v1/series returns them) across 500 metric names and n/500 pods each:
  // discovery reduces them to shapes, then builds the registry.
  const int n = static_cast<int>(state.range(0));
  std::vector<prom::Labels> cadvisor, app;
  for (int i = 0; i < n; ++i) {
    const int metric = i % 500;
    const std::string pod = "pod-" + std::to_string(i / 500);
    if (metric < 100) {
      cadvisor.push_back({{"__name__", "container_metric_" + std::to_string(metric) +
                                           (metric % 2 ? "_total" : "")},
                          {"container", "c"},
                          {"id", "/kubepods/" + pod},
                          {"image", "img"},
                          {"namespace", "ns"},
                          {"pod", pod}});
    } else {
      app.push_back(
          {{"__name__", "app_metric_" + std::to_string(metric) + (metric % 3 ? "_total" : "")},
           {"instance", "10.0.0.1:8080"},
           {"job", "app"},
           {"namespace", "ns"},
           {"pod", pod},
           {"service", "svc"}});
    }
  }
  std::size_t metrics = 0;
  for (auto _ : state) {
    std::vector<std::vector<SeriesShape>> shapes = {ShapesOf(cadvisor), ShapesOf(app)};
    auto snap = BuildSnapshot(*rules, shapes);
    metrics = snap.custom.size();
    benchmark::DoNotOptimize(snap);
  }
  state.counters["metrics"] = static_cast<double>(metrics);
  state.SetItemsProcessed(state.iterations() * n);
}
BENCHMARK(BM_Discovery)->Arg(10000)->Arg(100000);

}  // namespace
}  // namespace gpuscale::adapter

BENCHMARK_MAIN();
