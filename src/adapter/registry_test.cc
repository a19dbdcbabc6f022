#include "adapter/registry.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace gpuscale::adapter {
namespace {

std::vector<std::string> Exposed(const MetricSnapshot& s) {
  std::vector<std::string> out;
  for (const auto& [k, v] : s.custom) {
    out.push_back(k.resource.String() + "/" + k.metric + (k.namespaced ? "" : " (root)") + " <- " +
                  v.series_name + " #" + std::to_string(v.rule));
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(AdapterRegistry, ShapesAreNameAndSortedLabelNamesOncePerShape) {
  std::vector<prom::Labels> series = {
      {{"__name__", "b"}, {"pod", "p1"}, {"namespace", "x"}},
      {{"namespace", "y"}, {"__name__", "b"}, {"pod", "p2"}},
      {{"__name__", "a"}, {"pod", "p3"}},
      {{"job", "j"}},
      {{"__name__", "b"}, {"namespace", "x"}},
  };
  const std::vector<SeriesShape> expected = {
      {"", {"job"}},
      {"a", {"__name__", "pod"}},
      {"b", {"__name__", "namespace"}},
      {"b", {"__name__", "namespace", "pod"}},
  };
  EXPECT_EQ(ShapesOf(series), expected);
  ShapeCollector one_at_a_time;
  for (const auto& labels : series) one_at_a_time.Add(labels);
  EXPECT_EQ(one_at_a_time.Take(), expected);
  EXPECT_TRUE(one_at_a_time.Take().empty());
}

TEST(AdapterRegistry, HelmDefaultRules) {
  auto config = LoadConfig("testdata/helm-default-rules.yaml");
  ASSERT_TRUE(config.ok());
  auto rules = RuleSet::Compile(*config, ResourceMapper::BuiltIn());
  ASSERT_TRUE(rules.ok()) << rules.error().message;
  ASSERT_EQ(rules->series_queries.size(), 2u);  // rules sharing a seriesQuery share one call
  const std::vector<std::string> cadvisor = {"__name__", "container", "id", "namespace", "pod"};
  const std::vector<std::string> app = {"__name__", "instance", "job", "namespace", "pod"};
  std::vector<std::vector<SeriesShape>> shapes = {
      {{"container_cpu_usage_seconds_total", cadvisor},
       {"container_network_receive_bytes_total", cadvisor},
       {"container_memory_working_set_bytes", cadvisor}},
      {{"http_requests_total", app}, {"process_cpu_seconds_total", app}, {"queue_length", app}},
  };
  std::vector<RuleStats> stats;
  MetricSnapshot snap = BuildSnapshot(*rules, shapes, &stats);
  EXPECT_EQ(
      Exposed(snap),
      (std::vector<std::string>{
          "jobs.batch/http_requests <- http_requests_total #4",
          "jobs.batch/process_cpu <- process_cpu_seconds_total #5",
          "jobs.batch/queue_length <- queue_length #3",
          "namespaces/cpu_usage (root) <- container_cpu_usage_seconds_total #0",
          "namespaces/http_requests (root) <- http_requests_total #4",
          "namespaces/memory_working_set_bytes (root) <- container_memory_working_set_bytes #2",
          "namespaces/network_receive_bytes (root) <- container_network_receive_bytes_total #1",
          "namespaces/process_cpu (root) <- process_cpu_seconds_total #5",
          "namespaces/queue_length (root) <- queue_length #3",
          "pods/cpu_usage <- container_cpu_usage_seconds_total #0",
          "pods/http_requests <- http_requests_total #4",
          "pods/memory_working_set_bytes <- container_memory_working_set_bytes #2",
          "pods/network_receive_bytes <- container_network_receive_bytes_total #1",
          "pods/process_cpu <- process_cpu_seconds_total #5",
          "pods/queue_length <- queue_length #3",
      }));
  EXPECT_EQ(stats[1].series_filtered, 2);
  EXPECT_EQ(stats[4].metrics,
            (std::vector<std::string>{"jobs.batch/http_requests", "namespaces/http_requests",
                                      "pods/http_requests"}));
}

TEST(AdapterRegistry, SeedRules) {
  auto config = LoadConfig("testdata/seed-rules.yaml");
  ASSERT_TRUE(config.ok());
  auto rules = RuleSet::Compile(*config, ResourceMapper::BuiltIn());
  ASSERT_TRUE(rules.ok());
  std::vector<std::vector<SeriesShape>> shapes = {
      {{"vllm:num_requests_running", {"__name__", "instance", "model_name", "namespace", "pod"}}},
      {{"dcgm_fi_dev_gpu_util_relabelled", {"__name__", "gpu", "namespace", "pod", "UUID"}}},
  };
  auto snap = BuildSnapshot(*rules, shapes);
  EXPECT_EQ(Exposed(snap),
            (std::vector<std::string>{
                "namespaces/gpu_utilization_percent (root) <- dcgm_fi_dev_gpu_util_relabelled #1",
                "namespaces/vllm_num_requests_running (root) <- vllm:num_requests_running #0",
                "pods/gpu_utilization_percent <- dcgm_fi_dev_gpu_util_relabelled #1",
                "pods/vllm_num_requests_running <- vllm:num_requests_running #0"}));
}

TEST(AdapterRegistry, CompileErrorsNameTheRule) {
  auto config = ParseConfig(
      "rules:\n- seriesQuery: x\n  resources:\n    overrides:\n      thing: {resource: gizmo}\n"
      "  metricsQuery: y\n",
      "c.yaml");
  ASSERT_TRUE(config.ok());
  auto rules = RuleSet::Compile(*config, ResourceMapper::BuiltIn());
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.error().message,
            "c.yaml:5:7: rules[0].resources: unable to normalize group-resource gizmo of override "
            "\"thing\": no matches for /, Resource=gizmo");
}

}  // namespace
}  // namespace gpuscale::adapter
