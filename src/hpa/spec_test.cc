#include "hpa/spec.h"

#include <gtest/gtest.h>

namespace gpuscale::hpa {
namespace {

TEST(SpecTest, ReadsManifestAndAppliesBehaviorDefaults) {
  auto spec = LoadHpaSpecFile("testdata/gpu-hpa.yaml");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->name, "vllm");
  EXPECT_EQ(spec->namespace_name, "llm");
  EXPECT_EQ(spec->scale_target_ref.kind, "Deployment");
  EXPECT_EQ(spec->min_replicas, 1);
  EXPECT_EQ(spec->max_replicas, 8);
  ASSERT_EQ(spec->metrics.size(), 1u);
  EXPECT_EQ(spec->metrics[0].type, MetricSourceType::kPods);
  EXPECT_EQ(spec->metrics[0].metric_name, "DCGM_FI_DEV_GPU_UTIL");
  EXPECT_EQ(spec->metrics[0].target.average_value_milli, 60000);
  ASSERT_TRUE(spec->behavior.has_value());
  // scaleUp untouched: the API defaults.
  const ScalingRules& up = spec->behavior->scale_up;
  EXPECT_EQ(up.stabilization_window_seconds, 0);
  EXPECT_EQ(up.select_policy, SelectPolicy::kMax);
  ASSERT_EQ(up.policies.size(), 2u);
  EXPECT_EQ(up.policies[0].type, ScalingPolicyType::kPods);
  EXPECT_EQ(up.policies[0].value, 4);
  EXPECT_EQ(up.policies[0].period_seconds, 15);
  EXPECT_EQ(up.policies[1].type, ScalingPolicyType::kPercent);
  EXPECT_EQ(up.policies[1].value, 100);
  // scaleDown: the user's window and policy list replace the defaults; selectPolicy defaults.
  const ScalingRules& down = spec->behavior->scale_down;
  EXPECT_EQ(down.stabilization_window_seconds, 60);
  EXPECT_EQ(down.select_policy, SelectPolicy::kMax);
  ASSERT_EQ(down.policies.size(), 1u);
  EXPECT_EQ(down.policies[0].type, ScalingPolicyType::kPods);
  EXPECT_EQ(down.policies[0].value, 1);
  EXPECT_FALSE(down.tolerance.has_value());
}

TEST(SpecTest, DefaultsWithoutBehaviorOrMetrics) {
  auto spec = ParseHpaSpec(R"({"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler",
    "metadata":{"name":"web"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},
    "maxReplicas":10}})");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->min_replicas, 1);
  EXPECT_EQ(spec->namespace_name, "default");
  EXPECT_FALSE(spec->behavior.has_value());  // legacy path
  ASSERT_EQ(spec->metrics.size(), 1u);
  EXPECT_EQ(spec->metrics[0].resource, "cpu");
  EXPECT_EQ(spec->metrics[0].target.average_utilization, 80);
  // scaleDown window stays unset: the controller fills it from its flag.
  auto b = ParseHpaSpec(R"(
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 10
  behavior:
    scaleUp:
      tolerance: 50m
)");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_FALSE(b->behavior->scale_down.stabilization_window_seconds.has_value());
  EXPECT_DOUBLE_EQ(*b->behavior->scale_up.tolerance, 0.05);
}

TEST(SpecTest, ReadsEveryMetricSource) {
  auto spec = ParseHpaSpec(R"(
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: all}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 0
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 1Gi}}
  - type: ContainerResource
    containerResource: {name: cpu, container: app, target: {type: Utilization, averageUtilization: 60}}
  - type: Object
    object:
      describedObject: {apiVersion: v1, kind: Service, name: web}
      metric: {name: rps}
      target: {type: Value, value: 1.5k}
  - type: External
    external:
      metric:
        name: queue_depth
        selector:
          matchLabels: {queue: jobs}
          matchExpressions: [{key: tier, operator: In, values: [a, b]}]
      target: {type: AverageValue, averageValue: 500m}
)");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  ASSERT_EQ(spec->metrics.size(), 4u);
  EXPECT_EQ(spec->min_replicas, 0);
  EXPECT_EQ(spec->metrics[0].target.average_value_milli, 1073741824000);
  EXPECT_EQ(spec->metrics[1].container, "app");
  EXPECT_EQ(spec->metrics[2].described_object.kind, "Service");
  EXPECT_EQ(spec->metrics[2].target.value_milli, 1500000);
  ASSERT_TRUE(spec->metrics[3].metric_selector.has_value());
  EXPECT_EQ(spec->metrics[3].metric_selector->match_labels.at("queue"), "jobs");
  EXPECT_EQ(spec->metrics[3].metric_selector->match_expressions[0].values.size(), 2u);
  EXPECT_EQ(spec->metrics[3].target.average_value_milli, 500);
}

TEST(SpecTest, ErrorsNameFileLineColumnAndField) {
  const char* bad = R"(apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web}
spec:
  scaleTargetRef: {kind: Deployment, name: web}
  maxReplicas: 5
  metrics:
  - type: Pods
    pods:
      metric: {name: qps}
      target:
        type: Avg
        averageValue: "10"
)";
  auto spec = ParseHpaSpec(bad, "hpa.yaml");
  ASSERT_FALSE(spec.ok());
  EXPECT_EQ(spec.error().message,
            "hpa.yaml:12:15: spec.metrics[0].pods.target.type: expected one of Utilization, "
            "Value, AverageValue, found 'Avg'");
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {"spec: {scaleTargetRef: {kind: D, name: w}}", "<hpa>:1:7: spec.maxReplicas: required"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 0}",
       "<hpa>:1:57: spec.maxReplicas: expected an integer from 1 to"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, minReplicas: 3}",
       "spec.minReplicas: must be less than or equal to maxReplicas (2)"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, minReplicas: 0}",
       "must specify at least one Object or External metric to support scaling to zero"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, maxReplica: 3}",
       "spec.maxReplica: unknown field"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, behavior: {scaleUp: "
       "{policies: []}}}",
       "spec.behavior.scaleUp.policies: must specify at least one Policy"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, behavior: {scaleDown: "
       "{stabilizationWindowSeconds: 3601}}}",
       "stabilizationWindowSeconds: expected an integer from 0 to 3600, found 3601"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, behavior: {scaleDown: "
       "{selectPolicy: Maximum}}}",
       "selectPolicy: expected one of Max, Min, Disabled, found 'Maximum'"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, behavior: {scaleUp: "
       "{policies: [{type: Pods, value: 0, periodSeconds: 15}]}}}",
       "policies[0].value: expected an integer from 1"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, behavior: {scaleUp: "
       "{policies: [{type: Pods, value: 1, periodSeconds: 1801}]}}}",
       "policies[0].periodSeconds: expected an integer from 1 to 1800"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, metrics: [{type: Pods, "
       "pods: {metric: {name: qps}, target: {type: Value, value: 1}}}]}",
       "spec.metrics[0].pods.target.type: expected one of AverageValue for this metric source"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, metrics: [{type: Pods, "
       "pods: {metric: {name: qps}, target: {type: AverageValue, averageValue: -1}}}]}",
       "spec.metrics[0].pods.target.averageValue: must be positive"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, metrics: [{type: Pods, "
       "pods: {metric: {name: a/b}, target: {type: AverageValue, averageValue: 1}}}]}",
       "spec.metrics[0].pods.metric.name: must be a valid path segment name"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, metrics: [{type: "
       "CheddarCheese}]}",
       "spec.metrics[0].type: expected one of Resource, ContainerResource, Pods, Object, "
       "External, found 'CheddarCheese'"},
      {"spec: {scaleTargetRef: {kind: D, name: w}, maxReplicas: 2, metrics: [{type: Resource, "
       "resource: {name: cpu, target: {type: Utilization, averageUtilization: 50, "
       "averageValue: 1}}}]}",
       "type Utilization takes only averageUtilization"},
      {"apiVersion: autoscaling/v1\nspec: {}", "<hpa>:1:13: apiVersion: expected autoscaling/v2"},
      {"spec: [", "<hpa>:1:"},
  };
  for (const auto& c : cases) {
    auto r = ParseHpaSpec(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << c.text << "\n  got: " << r.error().message;
  }
}

TEST(SpecTest, MissingFileIsNotFound) {
  auto r = LoadHpaSpecFile("testdata/no-such-file.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kNotFound);
  EXPECT_NE(r.error().message.find("testdata/no-such-file.yaml"), std::string::npos);
}

}  // namespace
}  // namespace gpuscale::hpa
