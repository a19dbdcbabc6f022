#include "hpa/state.h"

#include <gtest/gtest.h>

#include "hpa/yaml_util.h"

namespace gpuscale::hpa {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

TEST(StateTest, ReadsPodsMetricsAndDefaults) {
  auto in = LoadStateFile("testdata/gpu-state.json");
  ASSERT_TRUE(in.ok()) << in.error().message;
  const State& s = in->state;
  EXPECT_EQ(s.time, *internal::ParseRfc3339("2025-01-01T00:10:00Z"));
  EXPECT_EQ(s.spec_replicas, 2);
  EXPECT_EQ(s.status_replicas, 2);
  ASSERT_EQ(s.pods.size(), 2u);
  EXPECT_EQ(s.pods[1].start_time, s.time - minutes(8));  // relative "-8m"
  ASSERT_TRUE(s.pods[0].ready.has_value());
  EXPECT_EQ(s.pods[0].ready->status, ConditionStatus::kTrue);
  EXPECT_EQ(s.pods[0].ready->last_transition_time, *s.pods[0].start_time);
  ASSERT_EQ(s.pods_metrics.size(), 1u);
  EXPECT_EQ(s.pods_metrics[0].metric_name, "DCGM_FI_DEV_GPU_UTIL");
  EXPECT_EQ(s.pods_metrics[0].values_milli.at("vllm-0"), 95000);
  EXPECT_EQ(s.pods_metrics[0].values_milli.at("vllm-1"), 91000);
  EXPECT_FALSE(in->history.recommendations.has_value());
}

TEST(StateTest, ReadsResourceUsageObjectsExternalsAndHistory) {
  auto in = ParseState(R"(
time: 1700000000
replicas: 3
statusReplicas: 4
selector: app=web
pods:
- name: web-0
  labels: {app: web}
  phase: Running
  ready: false
  readyTransitionTime: -30s
  startTime: -2m
  containers:
  - {name: app, requests: {cpu: 500m}, usage: {cpu: 250m}}
  initContainers:
  - {name: proxy, restartPolicy: Always, requests: {cpu: 100m}, usage: {cpu: 20m}}
  usageWindowSeconds: 30
- name: other
  labels: {app: db}
- name: web-1
  labels: {app: web}
  phase: Pending
resourceMetrics:
  cpu: {pods: {old-pod: {app: 1}}}
podMetrics:
  qps: {error: "service unavailable"}
objectMetrics:
- {kind: Service, name: web, metric: rps, value: 1.5k}
externalMetrics:
- {metric: queue, values: ["3", "500m"]}
recommendations:
- {replicas: 5, time: -1m}
scaleUpEvents:
- {replicaChange: 2, time: -10s}
)",
                       "s.yaml");
  ASSERT_TRUE(in.ok()) << in.error().message;
  const State& s = in->state;
  const core::Timestamp now = core::FromUnixSeconds(1700000000);
  EXPECT_EQ(s.time, now);
  EXPECT_EQ(s.status_replicas, 4);
  ASSERT_EQ(s.pods.size(), 2u);  // "other" does not match the selector
  const Pod& p = s.pods[0];
  EXPECT_EQ(p.ready->status, ConditionStatus::kFalse);
  EXPECT_EQ(p.ready->last_transition_time, now - seconds(30));
  EXPECT_EQ(p.containers[0].requests_milli.at("cpu"), 500);
  EXPECT_TRUE(p.init_containers[0].restartable_init);
  EXPECT_EQ(s.pods[1].phase, PodPhase::kPending);
  EXPECT_EQ(s.pods[1].ready->status, ConditionStatus::kFalse);
  const auto& cpu = s.resource_metrics.at("cpu");
  ASSERT_EQ(cpu.pods.size(), 2u);
  EXPECT_EQ(cpu.pods.at("web-0").containers.at("proxy").at("cpu"), 20);
  EXPECT_EQ(cpu.pods.at("web-0").window, seconds(30));
  EXPECT_EQ(cpu.pods.at("old-pod").containers.at("app").at("cpu"), 1000);
  ASSERT_EQ(s.pods_metrics.size(), 1u);
  EXPECT_EQ(s.pods_metrics[0].error, "service unavailable");
  EXPECT_EQ(s.object_metrics[0].value_milli, 1500000);
  EXPECT_EQ(s.external_metrics[0].values_milli, (std::vector<int64_t>{3000, 500}));
  ASSERT_TRUE(in->history.recommendations.has_value());
  EXPECT_EQ((*in->history.recommendations)[0].timestamp, now - minutes(1));
  EXPECT_EQ(in->history.scale_up_events[0].replica_change, 2);
}

TEST(StateTest, ErrorsNamePlaceAndField) {
  struct Case {
    const char* text;
    const char* message;
  } cases[] = {
      {R"({"replicas": 1})", "s.json:1:1: time: required field is missing"},
      {R"({"time": "yesterday", "replicas": 1})", "s.json:1:10: time: expected an RFC 3339 time"},
      {R"({"time": 0, "replicas": -1})", "s.json:1:25: replicas: expected an integer from 0"},
      {R"({"time": 0, "replicas": 1, "pods": [{"name": "a", "phase": "Runing"}]})",
       "s.json:1:60: pods[0].phase: expected one of Pending, Running"},
      {R"({"time": 0, "replicas": 1, "pods": [{"name": "a", "metrics": {"qps": "1x"}}]})",
       "pods[0].metrics.qps: invalid quantity '1x'"},
      {R"({"time": 0, "replicas": 1, "pods": [{"nam": "a"}]})", "pods[0].nam: unknown field"},
      {R"({"time": 0, "replicas": 1, "pods": [{"name": "a", "ready": "maybe"}]})",
       "pods[0].ready: expected true, false"},
      {R"({"time": 0, "replicas": 1, "externalMetrics": [{"values": ["1"]}]})",
       "externalMetrics[0].metric: required field is missing"},
  };
  for (const auto& c : cases) {
    auto r = ParseState(c.text, "s.json");
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos)
        << c.text << "\n  got: " << r.error().message;
  }
}

TEST(StateTest, JsonLinesCountLinesAndRejectTimeTravel) {
  auto ok = ParseStateLines("{\"time\": 10, \"replicas\": 1}\n\n{\"time\": 20, \"replicas\": 2}\n");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->size(), 2u);
  auto bad = ParseStateLines("{\"time\": 10, \"replicas\": 1}\n\n{\"time\": 20, \"replicas\": x}\n",
                             "s.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("s.jsonl:3:"), std::string::npos) << bad.error().message;
  EXPECT_NE(bad.error().message.find("replicas: expected an integer"), std::string::npos);
  auto back = ParseStateLines("{\"time\": 20, \"replicas\": 1}\n{\"time\": 10, \"replicas\": 1}\n",
                              "s.jsonl");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.error().message, "s.jsonl:2: time: goes backwards from the previous state");
  EXPECT_FALSE(ParseStateLines("\n\n").ok());
}

TEST(StateTest, Rfc3339RoundTrips) {
  for (const char* t : {"2025-01-01T00:00:00Z", "1999-12-31T23:59:59.5Z", "2024-02-29T12:00:00Z"}) {
    auto p = internal::ParseRfc3339(t);
    ASSERT_TRUE(p.ok()) << t;
    EXPECT_EQ(internal::FormatRfc3339(*p), t);
  }
  EXPECT_EQ(*internal::ParseRfc3339("2025-01-01T02:00:00+02:00"),
            *internal::ParseRfc3339("2025-01-01T00:00:00Z"));
  EXPECT_FALSE(internal::ParseRfc3339("2025-13-01T00:00:00Z").ok());
  EXPECT_FALSE(internal::ParseRfc3339("2025-01-01 00:00").ok());
}

}  // namespace
}  // namespace gpuscale::hpa
