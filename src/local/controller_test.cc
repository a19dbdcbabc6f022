#include "local/controller.h"

#include <gtest/gtest.h>

namespace gpuscale::local {
namespace {

using std::chrono::seconds;

hpa::HpaSpec GpuHpa() {
  hpa::HpaSpec spec;
  spec.name = "gemma-server-gpu-hpa";
  spec.min_replicas = 1;
  spec.max_replicas = 5;
  hpa::MetricSpec m;
  m.type = hpa::MetricSourceType::kPods;
  m.metric_name = "gpu_utilization_percent";
  m.target.type = hpa::MetricTargetType::kAverageValue;
  m.target.average_value_milli = 20000;
  spec.metrics.push_back(m);
  return spec;
}

ReplicaView View(int index, Phase phase, core::Timestamp created) {
  ReplicaView v;
  v.index = index;
  v.pod = "p-" + std::to_string(index);
  v.phase = phase;
  v.created = created;
  v.ready_since = phase == Phase::kReady ? created + seconds(5) : core::Timestamp{};
  return v;
}

TEST(BuildStateTest, PodsReadinessAndMetricsAsTheControllerSeesThem) {
  core::Timestamp t0(seconds(1000));
  PodMetrics metrics;
  metrics.time = t0 + seconds(59);
  metrics.values["gpu_utilization_percent"] = {{"p-0", 97.5}, {"p-1", 0}};
  std::vector<ReplicaView> replicas = {View(0, Phase::kReady, t0), View(1, Phase::kStarting, t0),
                                       View(2, Phase::kDraining, t0)};
  hpa::State s = BuildState(GpuHpa(), 2, replicas, metrics, t0 + seconds(60));
  EXPECT_EQ(s.time, t0 + seconds(60));
  EXPECT_EQ(s.spec_replicas, 2);
  EXPECT_EQ(s.status_replicas, 2);  // the draining replica is on its way out
  ASSERT_EQ(s.pods.size(), 2u);
  EXPECT_EQ(s.pods[0].name, "p-0");
  EXPECT_EQ(s.pods[0].ready->status, hpa::ConditionStatus::kTrue);
  EXPECT_EQ(s.pods[0].ready->last_transition_time, t0 + seconds(5));
  EXPECT_EQ(s.pods[1].ready->status, hpa::ConditionStatus::kFalse);
  EXPECT_EQ(*s.pods[1].start_time, t0);
  ASSERT_EQ(s.pods_metrics.size(), 1u);
  EXPECT_FALSE(s.pods_metrics[0].error.has_value());
  EXPECT_EQ(s.pods_metrics[0].values_milli.at("p-0"), 97500);
  EXPECT_EQ(s.pods_metrics[0].values_milli.at("p-1"), 0);
}

TEST(BuildStateTest, MissingMetricIsAnErrorTheHpaReports) {
  hpa::State s = BuildState(GpuHpa(), 1, {View(0, Phase::kReady, {})}, PodMetrics{}, {});
  ASSERT_EQ(s.pods_metrics.size(), 1u);
  ASSERT_TRUE(s.pods_metrics[0].error.has_value());
  EXPECT_NE(s.pods_metrics[0].error->find("gpu_utilization_percent"), std::string::npos);
}

TEST(BuildStateTest, BusyGpusScaleUpWithinTheRateLimits) {
  // One replica at 100 % GPU against the guide's target of 20 asks for 100/20 = 5 replicas.
  core::Timestamp t0(seconds(5000));
  PodMetrics metrics;
  metrics.time = t0;
  metrics.values["gpu_utilization_percent"] = {{"p-0", 100}};
  auto sync = [&](const hpa::HpaSpec& spec) {
    hpa::Autoscaler autoscaler(spec);
    return autoscaler.Sync(
        BuildState(spec, 1, {View(0, Phase::kReady, t0 - seconds(600))}, metrics, t0));
  };
  // Without behavior, the legacy limit max(2 * 1, 4) caps the first step at 4.
  EXPECT_EQ(sync(GpuHpa()).desired_replicas, 4);
  // The guide's behavior (+4 pods or +100 % per 15 s, the larger) allows all 5 at once.
  hpa::HpaSpec seed = GpuHpa();
  seed.behavior = hpa::Behavior{hpa::DefaultScaleUpRules(), hpa::DefaultScaleDownRules()};
  seed.behavior->scale_down.stabilization_window_seconds = 30;
  EXPECT_EQ(sync(seed).desired_replicas, 5);
}

}  // namespace
}  // namespace gpuscale::local
