// The upstream horizontal_test.go controller vectors (reference hpa.md §6.4) through
// Autoscaler::Sync, with the upstream harness conventions: legacy scale-up factor 8, tolerance
// 0.1, CPU initialization 2m, readiness delay 10s, pod totals split over two containers,
// Ready LastTransitionTime = StartTime (zero unless set), metric timestamps at `now`.
#include "hpa/autoscaler.h"

#include <gtest/gtest.h>

#include <functional>
#include <ostream>

namespace gpuscale::hpa {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const core::Timestamp kNow = core::FromUnixSeconds(1'700'000'000);

enum Start { kUnset, kHot, kCool };

struct Cond {
  std::string type;
  ConditionStatus status;
  std::string reason;
  bool operator==(const Cond&) const = default;
};
std::ostream& operator<<(std::ostream& os, const Cond& c) {
  return os << c.type << "/" << ConditionStatusName(c.status) << "/" << c.reason;
}

const Cond kRescaled{"AbleToScale", ConditionStatus::kTrue, "SucceededRescale"};
const Cond kGotScale{"AbleToScale", ConditionStatus::kTrue, "SucceededGetScale"};
const Cond kReadyForNewScale{"AbleToScale", ConditionStatus::kTrue, "ReadyForNewScale"};
const Cond kDownStabilized{"AbleToScale", ConditionStatus::kTrue, "ScaleDownStabilized"};
const Cond kValidMetric{"ScalingActive", ConditionStatus::kTrue, "ValidMetricFound"};
const Cond kWithinRange{"ScalingLimited", ConditionStatus::kFalse, "DesiredWithinRange"};
Cond Limited(const char* reason) { return {"ScalingLimited", ConditionStatus::kTrue, reason}; }
Cond Inactive(const char* reason) { return {"ScalingActive", ConditionStatus::kFalse, reason}; }
const std::vector<Cond> kStatusOk = {kRescaled, kValidMetric, kWithinRange};

MetricSpec Cpu(int32_t utilization) {
  MetricSpec m;
  m.type = MetricSourceType::kResource;
  m.resource = "cpu";
  m.target.type = MetricTargetType::kUtilization;
  m.target.average_utilization = utilization;
  return m;
}
MetricSpec ContainerCpu(int32_t utilization, const char* container) {
  MetricSpec m = Cpu(utilization);
  m.type = MetricSourceType::kContainerResource;
  m.container = container;
  return m;
}
MetricSpec PodsQps(int64_t average_milli) {
  MetricSpec m;
  m.type = MetricSourceType::kPods;
  m.metric_name = "qps";
  m.target.type = MetricTargetType::kAverageValue;
  m.target.average_value_milli = average_milli;
  return m;
}
MetricSpec ObjectQps(std::optional<int64_t> value, std::optional<int64_t> average = {}) {
  MetricSpec m;
  m.type = MetricSourceType::kObject;
  m.metric_name = "qps";
  m.described_object = {"apps/v1", "Deployment", "some-deployment"};
  m.target.type = value ? MetricTargetType::kValue : MetricTargetType::kAverageValue;
  m.target.value_milli = value;
  m.target.average_value_milli = average;
  return m;
}
MetricSpec ExternalQps(std::optional<int64_t> value, std::optional<int64_t> average = {}) {
  MetricSpec m;
  m.type = MetricSourceType::kExternal;
  m.metric_name = "qps";
  m.metric_selector = LabelSelector{{{"label", "value"}}, {}};
  m.target.type = value ? MetricTargetType::kValue : MetricTargetType::kAverageValue;
  m.target.value_milli = value;
  m.target.average_value_milli = average;
  return m;
}
MetricSpec Invalid() {
  MetricSpec m;
  m.type = MetricSourceType::kUnknown;
  m.type_name = "CheddarCheese";
  return m;
}

struct HpaCase {
  std::string name;
  int32_t min = 2, max = 6, spec = 3, status = 3;
  std::vector<MetricSpec> metrics;
  std::vector<int64_t> levels;        // pod totals (milli); custom metric values
  std::vector<int64_t> cpu_requests;  // pod totals (milli); sets the pod count
  std::vector<bool> ready;
  std::vector<Start> start;
  std::vector<PodPhase> phases;
  std::optional<std::vector<Recommendation>> recs;  // nullopt: seeded on first sight
  std::optional<Behavior> behavior;
  std::function<void(State&)> tweak;  // failures, selectors
  int32_t expected = 0;
  std::vector<Cond> conditions;
  std::string event;                   // a SuccessfulRescale message to expect
  std::optional<int32_t> cpu_current;  // expected averageUtilization of metric 0
};
void PrintTo(const HpaCase& c, std::ostream* os) { *os << c.name; }

State BuildState(const HpaCase& c) {
  State s;
  s.time = kNow;
  s.spec_replicas = c.spec;
  s.status_replicas = c.status;
  const size_t pods =
      c.cpu_requests.empty() ? static_cast<size_t>(c.status) : c.cpu_requests.size();
  for (size_t i = 0; i < pods; ++i) {
    Pod p;
    p.name = "test-pod-" + std::to_string(i);
    p.phase = i < c.phases.size() ? c.phases[i] : PodPhase::kRunning;
    Start st = i < c.start.size() ? c.start[i] : kUnset;
    core::Timestamp start = st == kHot ? kNow : st == kCool ? kNow - minutes(3) : core::Timestamp{};
    p.start_time = start;
    bool ready = i < c.ready.size() ? c.ready[i] : true;
    p.ready = PodReadyCondition{ready ? ConditionStatus::kTrue : ConditionStatus::kFalse, start};
    int64_t request = i < c.cpu_requests.size() ? c.cpu_requests[i] : 1000;
    for (const char* name : {"container1", "container2"}) {
      p.containers.push_back(Container{name, {{"cpu", request / 2}}});
    }
    s.pods.push_back(std::move(p));
  }
  ResourceMetricsReading cpu;
  PodsMetricReading qps{"qps"};
  qps.timestamp = kNow;
  for (size_t i = 0; i < c.levels.size(); ++i) {
    const std::string name = "test-pod-" + std::to_string(i);
    PodResourceUsage u;
    u.timestamp = kNow;
    u.containers["container1"]["cpu"] = c.levels[i] / 2;
    u.containers["container2"]["cpu"] = c.levels[i] / 2;
    cpu.pods[name] = u;
    qps.values_milli[name] = c.levels[i];
  }
  if (!c.levels.empty()) {
    s.resource_metrics["cpu"] = cpu;
    s.pods_metrics.push_back(qps);
    s.object_metrics.push_back({"Deployment", "some-deployment", "qps", {}, c.levels[0], kNow});
    s.external_metrics.push_back({"qps", {}, {c.levels[0]}, kNow});
  }
  if (c.tweak) c.tweak(s);
  return s;
}

class HorizontalVectors : public testing::TestWithParam<HpaCase> {};

TEST_P(HorizontalVectors, MatchesUpstream) {
  const HpaCase& c = GetParam();
  HpaSpec spec;
  spec.name = "test-hpa";
  spec.namespace_name = "test-namespace";
  spec.scale_target_ref = {"v1", "ReplicationController", "test-rc"};
  spec.min_replicas = c.min;
  spec.max_replicas = c.max;
  spec.metrics = c.metrics;
  spec.behavior = c.behavior;
  Options options;
  options.scale_up_limit_factor = 8;
  options.cpu_initialization_period = minutes(2);
  options.initial_readiness_delay = seconds(10);
  Autoscaler a(spec, options);
  if (c.recs) a.SetRecommendations(*c.recs);
  a.SetStatusDesiredReplicas(c.spec);
  Decision d = a.Sync(BuildState(c));
  EXPECT_EQ(d.desired_replicas, c.expected);
  std::vector<Cond> got;
  for (const auto& k : d.conditions) got.push_back({k.type, k.status, k.reason});
  EXPECT_EQ(got, c.conditions);
  if (!c.event.empty()) {
    bool found = false;
    for (const auto& e : d.events) found = found || e.message == c.event;
    EXPECT_TRUE(found) << "no event \"" << c.event << "\"";
  }
  if (c.cpu_current) {
    ASSERT_FALSE(d.metrics.empty());
    EXPECT_EQ(d.metrics[0].current_average_utilization, c.cpu_current);
  }
}

Behavior WithUp(ScalingRules up) { return Behavior{std::move(up), DefaultScaleDownRules()}; }
ScalingRules Percent(int32_t value, int32_t period, int32_t window = 0) {
  ScalingRules r;
  r.stabilization_window_seconds = window;
  r.policies = {{ScalingPolicyType::kPercent, value, period}};
  return r;
}
const std::vector<Recommendation> kNoRecs = {};

std::vector<HpaCase> Cases() {
  std::vector<HpaCase> v;
  auto add = [&](HpaCase c) { v.push_back(std::move(c)); };
  const std::vector<int64_t> r3 = {1000, 1000, 1000};
  const std::vector<int64_t> r5 = {1000, 1000, 1000, 1000, 1000};
  const std::vector<int64_t> down5 = {100, 300, 500, 250, 250};
  add({.name = "TestScaleUp",
       .metrics = {Cpu(30)},
       .levels = {300, 500, 700},
       .cpu_requests = r3,
       .expected = 5,
       .conditions = kStatusOk});
  add({.name = "TestScaleUpContainer",
       .metrics = {ContainerCpu(30, "container1")},
       .levels = {300, 500, 700},
       .cpu_requests = r3,
       .expected = 5,
       .conditions = kStatusOk});
  add({.name = "TestScaleUpUnreadyLessScale",
       .metrics = {Cpu(30)},
       .levels = {300, 500, 700},
       .cpu_requests = r3,
       .ready = {false, true, true},
       .expected = 4,
       .conditions = kStatusOk,
       .cpu_current = 60});
  add({.name = "TestScaleUpUnreadyNoScale",
       .metrics = {Cpu(30)},
       .levels = {400, 500, 700},
       .cpu_requests = r3,
       .ready = {true, false, false},
       .expected = 3,
       .conditions = {kReadyForNewScale, kValidMetric, kWithinRange},
       .cpu_current = 40});
  add({.name = "TestScaleUpIgnoresFailedPods",
       .spec = 2,
       .status = 2,
       .metrics = {Cpu(30)},
       .levels = {500, 700},
       .cpu_requests = {1000, 1000, 1000, 1000},
       .ready = {true, true, false, false},
       .phases = {PodPhase::kRunning, PodPhase::kRunning, PodPhase::kFailed, PodPhase::kFailed},
       .expected = 4,
       .conditions = kStatusOk});
  add({.name = "TestScaleUpCM",
       .metrics = {PodsQps(15000)},
       .levels = {20000, 10000, 30000},
       .expected = 4,
       .conditions = kStatusOk});
  add({.name = "TestScaleUpCMUnreadyandCpuHot",
       .metrics = {PodsQps(15000)},
       .levels = {50000, 15000, 30000},
       .ready = {false, true, false},
       .start = {kHot, kCool, kHot},
       .expected = 6,
       .conditions = {kRescaled, kValidMetric, Limited("TooManyReplicas")}});
  add({.name = "TestScaleUpCMObject",
       .metrics = {ObjectQps(15000)},
       .levels = {20000},
       .expected = 4,
       .conditions = kStatusOk});
  add({.name = "TestScaleUpFromZeroCMObject",
       .min = 0,
       .spec = 0,
       .status = 0,
       .metrics = {ObjectQps(15000)},
       .levels = {20000},
       .expected = 2,
       .conditions = kStatusOk});
  add({.name = "TestScaleUpFromZeroIgnoresToleranceCMObject",
       .min = 0,
       .spec = 0,
       .status = 0,
       .metrics = {ObjectQps(1000)},
       .levels = {1000},
       .expected = 1,
       .conditions = kStatusOk});
  add({.name = "TestScaleUpPerPodCMObject",
       .metrics = {ObjectQps({}, 10000)},
       .levels = {40000},
       .expected = 4,
       .conditions = kStatusOk});
  add({.name = "TestScaleUpCMExternal",
       .metrics = {ExternalQps(6666)},
       .levels = {8600},
       .expected = 4,
       .conditions = kStatusOk});
  add({.name = "TestScaleUpPerPodCMExternal",
       .metrics = {ExternalQps({}, 2222)},
       .levels = {8600},
       .expected = 4,
       .conditions = kStatusOk});
  add({.name = "TestScaleDown",
       .spec = 5,
       .status = 5,
       .metrics = {Cpu(50)},
       .levels = down5,
       .cpu_requests = r5,
       .recs = kNoRecs,
       .expected = 3,
       .conditions = kStatusOk});
  add({.name = "TestScaleDownStabilizeInitialSize",
       .spec = 5,
       .status = 5,
       .metrics = {Cpu(50)},
       .levels = down5,
       .cpu_requests = r5,
       .expected = 5,
       .conditions = {kDownStabilized, kValidMetric, kWithinRange}});
  add({.name = "TestScaleDownWithScalingRules",
       .spec = 5,
       .status = 5,
       .metrics = {Cpu(50)},
       .levels = down5,
       .cpu_requests = r5,
       .recs = kNoRecs,
       .behavior = WithUp(Percent(100, 15, 30)),
       .expected = 3,
       .conditions = kStatusOk});
  add({.name = "TestScaleDownCM",
       .spec = 5,
       .status = 5,
       .metrics = {PodsQps(20000)},
       .levels = {12000, 12000, 12000, 12000, 12000},
       .recs = kNoRecs,
       .expected = 3,
       .conditions = kStatusOk});
  add({.name = "TestScaleDownToZeroCMObject",
       .min = 0,
       .spec = 5,
       .status = 5,
       .metrics = {ObjectQps(20000)},
       .levels = {0},
       .recs = kNoRecs,
       .expected = 0,
       .conditions = kStatusOk});
  add({.name = "TestScaleDownToZeroCMExternal",
       .min = 0,
       .spec = 5,
       .status = 5,
       .metrics = {ExternalQps(14400)},
       .levels = {0},
       .recs = kNoRecs,
       .expected = 0,
       .conditions = kStatusOk});
  add({.name = "TestScaleDownPerPodCMExternal",
       .spec = 5,
       .status = 5,
       .metrics = {ExternalQps({}, 3000)},
       .levels = {8600},
       .recs = kNoRecs,
       .expected = 3,
       .conditions = kStatusOk});
  add({.name = "TestScaleDownIncludeUnreadyPods",
       .spec = 5,
       .status = 5,
       .metrics = {Cpu(50)},
       .levels = down5,
       .cpu_requests = r5,
       .ready = {true, true, true, false, false},
       .recs = kNoRecs,
       .expected = 2,
       .conditions = kStatusOk});
  add({.name = "TestScaleDownIgnoreHotCpuPods",
       .spec = 5,
       .status = 5,
       .metrics = {Cpu(50)},
       .levels = down5,
       .cpu_requests = r5,
       .start = {kCool, kCool, kCool, kHot, kHot},
       .recs = kNoRecs,
       .expected = 2,
       .conditions = kStatusOk});
  const std::vector<Cond> no_change = {kReadyForNewScale, kValidMetric, kWithinRange};
  add({.name = "TestTolerance",
       .min = 1,
       .max = 5,
       .metrics = {Cpu(100)},
       .levels = {1010, 1030, 1020},
       .cpu_requests = {900, 1000, 1100},
       .expected = 3,
       .conditions = no_change});
  add({.name = "TestToleranceCM",
       .min = 1,
       .max = 5,
       .metrics = {PodsQps(20000)},
       .levels = {20000, 20001, 21000},
       .expected = 3,
       .conditions = no_change});
  add({.name = "TestToleranceCMObject",
       .min = 1,
       .max = 5,
       .metrics = {ObjectQps(20000)},
       .levels = {20050},
       .expected = 3,
       .conditions = no_change});
  add({.name = "TestToleranceCMExternal",
       .spec = 4,
       .status = 4,
       .metrics = {ExternalQps(8666)},
       .levels = {8600},
       .expected = 4,
       .conditions = no_change});
  add({.name = "TestTolerancePerPodCMObject",
       .spec = 4,
       .status = 4,
       .metrics = {ObjectQps({}, 2200)},
       .levels = {8600},
       .expected = 4,
       .conditions = no_change});
  add({.name = "TestTolerancePerPodCMExternal",
       .spec = 4,
       .status = 4,
       .metrics = {ExternalQps({}, 2200)},
       .levels = {8600},
       .expected = 4,
       .conditions = no_change});
  add({.name = "TestMinReplicas",
       .max = 5,
       .metrics = {Cpu(90)},
       .levels = {10, 95, 10},
       .cpu_requests = {900, 1000, 1100},
       .recs = kNoRecs,
       .expected = 2,
       .conditions = {kRescaled, kValidMetric, Limited("TooFewReplicas")}});
  add({.name = "TestZeroMinReplicasDesiredZero",
       .min = 0,
       .max = 5,
       .metrics = {Cpu(90)},
       .levels = {0, 0, 0},
       .cpu_requests = {900, 1000, 1100},
       .recs = kNoRecs,
       .expected = 0,
       .conditions = kStatusOk});
  add({.name = "TestMinReplicasDesiredZero",
       .max = 5,
       .metrics = {Cpu(90)},
       .levels = {0, 0, 0},
       .cpu_requests = {900, 1000, 1100},
       .recs = kNoRecs,
       .expected = 2,
       .conditions = {kRescaled, kValidMetric, Limited("TooFewReplicas")}});
  add({.name = "TestZeroReplicas",
       .min = 3,
       .max = 5,
       .spec = 0,
       .status = 0,
       .metrics = {Cpu(90)},
       .expected = 0,
       .conditions = {kGotScale, Inactive("ScalingDisabled")}});
  add({.name = "TestTooFewReplicas",
       .min = 3,
       .max = 5,
       .spec = 2,
       .status = 2,
       .expected = 3,
       .conditions = {kRescaled}});
  add({.name = "TestTooManyReplicas",
       .min = 3,
       .max = 5,
       .spec = 10,
       .status = 10,
       .expected = 5,
       .conditions = {kRescaled}});
  add({.name = "TestMaxReplicas",
       .max = 5,
       .metrics = {Cpu(90)},
       .levels = {8000, 9500, 1000},
       .cpu_requests = {900, 1000, 1100},
       .expected = 5,
       .conditions = {kRescaled, kValidMetric, Limited("TooManyReplicas")}});
  add({.name = "TestSuperfluousMetrics",
       .spec = 4,
       .status = 4,
       .metrics = {Cpu(100)},
       .levels = {4000, 9500, 3000, 7000, 3200, 2000},
       .cpu_requests = {1000, 1000, 1000, 1000},
       .expected = 6,
       .conditions = {kRescaled, kValidMetric, Limited("TooManyReplicas")}});
  add({.name = "TestMissingMetrics",
       .spec = 4,
       .status = 4,
       .metrics = {Cpu(100)},
       .levels = {400, 95},
       .cpu_requests = {1000, 1000, 1000, 1000},
       .recs = kNoRecs,
       .expected = 3,
       .conditions = kStatusOk});
  add({.name = "TestEmptyMetrics",
       .spec = 4,
       .status = 4,
       .metrics = {Cpu(100)},
       .cpu_requests = {1000, 1000, 1000, 1000},
       .expected = 4,
       .conditions = {kGotScale, Inactive("FailedGetResourceMetric")}});
  add({.name = "TestEmptyCPURequest",
       .min = 1,
       .max = 5,
       .spec = 1,
       .status = 1,
       .metrics = {Cpu(100)},
       .levels = {200},
       .tweak = [](State& s) { s.pods.clear(); },
       .expected = 1,
       .conditions = {kGotScale, Inactive("FailedGetResourceMetric")}});
  add({.name = "TestEventCreated",
       .min = 1,
       .max = 5,
       .spec = 1,
       .status = 1,
       .metrics = {Cpu(50)},
       .levels = {200},
       .cpu_requests = {200},
       .expected = 2,
       .conditions = kStatusOk,
       .event = "New size: 2; reason: cpu resource utilization (percentage of request) above "
                "target"});
  add({.name = "TestMissingReports",
       .min = 1,
       .max = 5,
       .spec = 4,
       .status = 4,
       .metrics = {Cpu(50)},
       .levels = {200},
       .cpu_requests = {200},
       .recs = kNoRecs,
       .expected = 2,
       .conditions = kStatusOk});
  add({.name = "TestUpscaleCap",
       .min = 1,
       .max = 100,
       .metrics = {Cpu(10)},
       .levels = {100, 200, 300},
       .cpu_requests = {100, 100, 100},
       .behavior = WithUp(Percent(700, 60)),
       .expected = 24,
       .conditions = {kRescaled, kValidMetric, Limited("ScaleUpLimit")}});
  add({.name = "TestUpscaleCapGreaterThanMaxReplicas",
       .min = 1,
       .max = 20,
       .metrics = {Cpu(10)},
       .levels = {100, 200, 300},
       .cpu_requests = {100, 100, 100},
       .behavior = WithUp(Percent(700, 60)),
       .expected = 20,
       .conditions = {kRescaled, kValidMetric, Limited("TooManyReplicas")}});
  add({.name = "TestMoreReplicasThanSpecNoScale",
       .min = 1,
       .max = 8,
       .spec = 4,
       .status = 5,
       .metrics = {Cpu(50)},
       .levels = {500, 500, 500, 500, 500},
       .cpu_requests = r5,
       .expected = 4,
       .conditions = no_change});
  add({.name = "TestStabilizeDownscale",
       .min = 1,
       .max = 5,
       .spec = 4,
       .status = 4,
       .metrics = {Cpu(100)},
       .levels = {50, 50, 50},
       .cpu_requests = {100, 100, 100},
       .recs = std::vector<Recommendation>{{10, kNow - minutes(10)}, {4, kNow - minutes(1)}},
       .expected = 4,
       .conditions = {kDownStabilized, kValidMetric, kWithinRange}});
  {
    // TestComputedToleranceAlgImplementation: utilization exactly 50% over 10 pods.
    HpaCase c{.name = "TestComputedToleranceAlgImplementation_56",
              .min = 0,
              .max = 1000,
              .spec = 10,
              .status = 10,
              .metrics = {Cpu(56)},
              .levels = std::vector<int64_t>(10, 300),
              .cpu_requests = {800, 400, 620, 580, 604, 596, 602, 598, 600, 600},
              .recs = kNoRecs,
              .expected = 9,
              .conditions = kStatusOk};
    add(c);
    c.name = "TestComputedToleranceAlgImplementation_55";
    c.metrics = {Cpu(55)};
    c.expected = 10;
    c.conditions = no_change;
    add(c);
  }
  add({.name = "TestScaleUpRCImmediately",
       .spec = 1,
       .status = 1,
       .expected = 2,
       .conditions = {kRescaled}});
  add({.name = "TestScaleDownRCImmediately",
       .max = 5,
       .spec = 6,
       .status = 6,
       .expected = 5,
       .conditions = {kRescaled}});
  add({.name = "TestNoBackoffUpscaleCM",
       .min = 1,
       .max = 5,
       .metrics = {PodsQps(15000)},
       .levels = {20000, 10000, 30000},
       .expected = 4,
       .conditions = kStatusOk});
  add({.name = "TestNoBackoffUpscaleCMNoBackoffCpu",
       .min = 1,
       .max = 5,
       .metrics = {Cpu(10), PodsQps(15000)},
       .levels = {20000, 10000, 30000},
       .cpu_requests = {100, 100, 100},
       .expected = 5,
       .conditions = {kRescaled, kValidMetric, Limited("TooManyReplicas")}});
  add({.name = "TestScaleUpOneMetricInvalid",
       .metrics = {Cpu(30), Invalid()},
       .levels = {300, 400, 500},
       .cpu_requests = r3,
       .expected = 4,
       .conditions = kStatusOk});
  add({.name = "TestScaleUpOneMetricEmpty",
       .metrics = {Cpu(30), ExternalQps(1000)},
       .levels = {300, 400, 500},
       .cpu_requests = r3,
       .tweak = [](State& s) { s.external_metrics.clear(); },
       .expected = 4,
       .conditions = kStatusOk});
  add({.name = "TestNoScaleDownOneMetricInvalid",
       .spec = 5,
       .status = 5,
       .metrics = {Cpu(50), Invalid()},
       .levels = down5,
       .cpu_requests = r5,
       .expected = 5,
       .conditions = {kGotScale, Inactive("InvalidMetricSourceType")}});
  add({.name = "TestNoScaleDownOneMetricEmpty",
       .spec = 5,
       .status = 5,
       .metrics = {Cpu(50), ExternalQps(1000)},
       .levels = down5,
       .cpu_requests = r5,
       .tweak = [](State& s) { s.external_metrics[0].error = "something went wrong"; },
       .expected = 5,
       .conditions = {kGotScale, Inactive("FailedGetExternalMetric")}});
  add({.name = "TestScaleUpBothMetricsEmpty",
       .metrics = {Invalid()},
       .expected = 3,
       .conditions = {kGotScale, Inactive("InvalidMetricSourceType")}});
  add({.name = "TestConditionInvalidSelectorMissing",
       .min = 1,
       .max = 100,
       .metrics = {Cpu(10)},
       .levels = {100, 200, 300},
       .cpu_requests = {100, 100, 100},
       .tweak = [](State& s) { s.selector = ""; },
       .expected = 3,
       .conditions = {kGotScale, Inactive("InvalidSelector")}});
  add({.name = "TestConditionInvalidSelectorUnparsable",
       .min = 1,
       .max = 100,
       .metrics = {Cpu(10)},
       .levels = {100, 200, 300},
       .cpu_requests = {100, 100, 100},
       .tweak = [](State& s) { s.selector = "cheddar cheese"; },
       .expected = 3,
       .conditions = {kGotScale, Inactive("InvalidSelector")}});
  add({.name = "TestConditionAmbiguousSelectorWhenFullSelectorOverlapBetweenHPAs",
       .metrics = {Cpu(30)},
       .levels = {300, 500, 700},
       .cpu_requests = r3,
       .tweak = [](State& s) { s.ambiguous_with = {"test-hpa-2"}; },
       .expected = 3,
       .conditions = {kGotScale, Inactive("AmbiguousSelector")}});
  add({.name = "TestConditionNoAmbiguousSelectorWhenNoSelectorOverlapBetweenHPAs",
       .metrics = {Cpu(30)},
       .levels = {300, 500, 700},
       .cpu_requests = r3,
       .tweak = [](State& s) { s.selector = "name=test-pod"; },
       .expected = 5,
       .conditions = kStatusOk});
  const std::pair<const char*, MetricSpec> failing[] = {
      {"FailedGetResourceMetric", Cpu(10)},
      {"FailedGetPodsMetric", PodsQps(10000)},
      {"FailedGetObjectMetric", ObjectQps(10000)},
      {"FailedGetExternalMetric", ExternalQps(10000)},
  };
  for (const auto& [reason, metric] : failing) {
    add({.name = std::string("TestConditionFailedGetMetrics_") + reason,
         .min = 1,
         .max = 100,
         .metrics = {metric},
         .levels = {100, 200, 300},
         .cpu_requests = {100, 100, 100},
         .tweak =
             [](State& s) {
               s.resource_metrics["cpu"].error = "something went wrong";
               s.pods_metrics[0].error = "something went wrong";
               s.object_metrics[0].error = "something went wrong";
               s.external_metrics[0].error = "something went wrong";
             },
         .expected = 3,
         .conditions = {kGotScale, Inactive(reason)}});
  }
  add({.name = "TestConditionFailedGetScale",
       .min = 1,
       .max = 100,
       .metrics = {Cpu(10)},
       .levels = {100, 200, 300},
       .cpu_requests = {100, 100, 100},
       .tweak = [](State& s) { s.get_scale_error = "something went wrong"; },
       .expected = 3,
       .conditions = {{"AbleToScale", ConditionStatus::kFalse, "FailedGetScale"}}});
  add({.name = "TestConditionFailedUpdateScale",
       .min = 1,
       .max = 5,
       .metrics = {Cpu(100)},
       .levels = {150, 150, 150},
       .cpu_requests = {100, 100, 100},
       .tweak = [](State& s) { s.update_scale_error = "something went wrong"; },
       .expected = 3,
       .conditions = {{"AbleToScale", ConditionStatus::kFalse, "FailedUpdateScale"},
                      kValidMetric,
                      kWithinRange}});
  return v;
}

INSTANTIATE_TEST_SUITE_P(HorizontalTest, HorizontalVectors, testing::ValuesIn(Cases()),
                         [](const auto& test_info) { return test_info.param.name; });

// ---- behaviour across syncs ---------------------------------------------------------------------

HpaSpec PodsSpec(int32_t min, int32_t max, std::optional<Behavior> behavior) {
  HpaSpec spec;
  spec.name = "web";
  spec.scale_target_ref = {"apps/v1", "Deployment", "web"};
  spec.min_replicas = min;
  spec.max_replicas = max;
  spec.metrics = {PodsQps(10000)};
  spec.behavior = std::move(behavior);
  return spec;
}

State PodsState(core::Timestamp t, int32_t replicas, int64_t per_pod_milli) {
  State s;
  s.time = t;
  s.spec_replicas = replicas;
  s.status_replicas = replicas;
  PodsMetricReading r{"qps"};
  for (int i = 0; i < replicas; ++i) {
    Pod p;
    p.name = "web-" + std::to_string(i);
    p.ready = PodReadyCondition{};
    s.pods.push_back(p);
    r.values_milli[p.name] = per_pod_milli;
  }
  s.pods_metrics.push_back(r);
  return s;
}

TEST(AutoscalerTest, DefaultBehaviorDoublesPerPeriodAndWaitsForTheDownWindow) {
  Autoscaler a(PodsSpec(1, 100, Behavior{DefaultScaleUpRules(), DefaultScaleDownRules()}));
  // Derived vector §6.7: 10 -> 50 wanted, max(10+4, 2*10) = 20 allowed.
  Decision d = a.Sync(PodsState(kNow, 10, 50000));
  EXPECT_EQ(d.desired_replicas, 20);
  EXPECT_EQ(d.conditions[2].reason, "ScaleUpLimit");
  // 10 s later the 15 s period still holds the +10 event: periodStart 10 → still 20.
  d = a.Sync(PodsState(kNow + seconds(10), 20, 25000));
  EXPECT_EQ(d.desired_replicas, 20);
  // 15 s after the first scale the event has left the period: 20 → 40.
  d = a.Sync(PodsState(kNow + seconds(15), 20, 25000));
  EXPECT_EQ(d.desired_replicas, 40);
  // Load vanishes: the default 300 s down window holds the highest recent recommendation.
  d = a.Sync(PodsState(kNow + seconds(30), 40, 1000));
  EXPECT_EQ(d.desired_replicas, 40);
  EXPECT_EQ(d.conditions[0].reason, "ScaleDownStabilized");
  d = a.Sync(PodsState(kNow + seconds(30) + minutes(5) + seconds(1), 40, 1000));
  EXPECT_EQ(d.desired_replicas, 4);
  ASSERT_EQ(a.scale_down_events().size(), 1u);
  EXPECT_EQ(a.scale_down_events()[0].replica_change, 36);
}

TEST(AutoscalerTest, LegacyPathLimitsEachSyncToTwiceCurrent) {
  Autoscaler a(PodsSpec(1, 100, std::nullopt));
  Decision d = a.Sync(PodsState(kNow, 3, 100000));
  EXPECT_EQ(d.desired_replicas, 6);
  EXPECT_EQ(d.conditions[2].reason, "ScaleUpLimit");
  EXPECT_TRUE(a.scale_up_events().empty());  // no events without behavior
  d = a.Sync(PodsState(kNow + seconds(15), 6, 50000));
  EXPECT_EQ(d.desired_replicas, 12);
}

TEST(AutoscalerTest, ConfigurableToleranceNeedsBehaviorAndTheGate) {
  // Reference §6.6 (TestHPAWithTolerance): External AverageValue 100, up 5%, down 50%.
  HpaSpec spec;
  spec.name = "tol";
  spec.min_replicas = 1;
  spec.max_replicas = 100;
  spec.metrics = {ExternalQps({}, 100000)};
  Behavior b{DefaultScaleUpRules(), DefaultScaleDownRules()};
  b.scale_up.tolerance = 0.05;
  b.scale_down.tolerance = 0.5;
  b.scale_up.policies = {{ScalingPolicyType::kPods, 1000, 15}};
  b.scale_down.policies = {{ScalingPolicyType::kPods, 1000, 15}};
  b.scale_down.stabilization_window_seconds = 0;
  spec.behavior = b;
  Autoscaler a(spec);
  auto state = [](core::Timestamp t, int32_t replicas, int64_t value) {
    State s;
    s.time = t;
    s.spec_replicas = s.status_replicas = replicas;
    s.external_metrics.push_back({"qps", {}, {value}, t});
    return s;
  };
  EXPECT_EQ(a.Sync(state(kNow, 35, 3500000)).desired_replicas, 35);
  EXPECT_EQ(a.Sync(state(kNow + seconds(15), 35, 3700000)).desired_replicas, 37);
  EXPECT_EQ(a.Sync(state(kNow + seconds(30), 37, 3800000)).desired_replicas, 37);
  EXPECT_EQ(a.Sync(state(kNow + seconds(45), 37, 1000000)).desired_replicas, 10);
  EXPECT_EQ(a.Sync(state(kNow + seconds(60), 10, 800000)).desired_replicas, 10);

  Options gate_off;
  gate_off.configurable_tolerance = false;
  Autoscaler off(spec, gate_off);
  EXPECT_EQ(off.Sync(state(kNow, 35, 3500000)).desired_replicas, 35);
  // 3700/3500 = 1.057 is within the global 10%.
  EXPECT_EQ(off.Sync(state(kNow + seconds(15), 35, 3700000)).desired_replicas, 35);
}

TEST(AutoscalerTest, ConditionTransitionTimesMoveOnlyWithStatus) {
  Autoscaler a(PodsSpec(1, 10, std::nullopt));
  Decision d = a.Sync(PodsState(kNow, 3, 10000));
  ASSERT_EQ(d.conditions.size(), 3u);
  EXPECT_EQ(d.conditions[1].last_transition_time, kNow);
  d = a.Sync(PodsState(kNow + seconds(15), 3, 10000));
  EXPECT_EQ(d.conditions[1].last_transition_time, kNow);
  State broken = PodsState(kNow + seconds(30), 3, 10000);
  broken.pods_metrics[0].error = "boom";
  d = a.Sync(broken);
  EXPECT_EQ(d.conditions[1].status, ConditionStatus::kFalse);
  EXPECT_EQ(d.conditions[1].last_transition_time, kNow + seconds(30));
  EXPECT_EQ(d.conditions[1].message,
            "the HPA was unable to compute the replica count: unable to get metric qps: unable "
            "to fetch metrics from custom metrics API: boom");
  ASSERT_TRUE(d.error.has_value());
  EXPECT_EQ(d.events.back().reason, "FailedComputeMetricsReplicas");
}

TEST(AutoscalerTest, MetricNameStrings) {
  EXPECT_EQ(MetricNameString(Cpu(50)), "cpu resource utilization (percentage of request)");
  EXPECT_EQ(MetricNameString(ContainerCpu(50, "app")),
            "cpu container resource utilization (percentage of request)");
  EXPECT_EQ(MetricNameString(PodsQps(1)), "pods metric qps");
  EXPECT_EQ(MetricNameString(ObjectQps(1)), "Deployment metric qps");
  MetricSpec ext = ExternalQps(1);
  ext.metric_selector = LabelSelector{};
  EXPECT_EQ(MetricNameString(ext),
            "external metric qps(&LabelSelector{MatchLabels:map[string]string{},"
            "MatchExpressions:[]LabelSelectorRequirement{},})");
  ext.metric_selector = LabelSelector{{{"a", "b"}}, {{"k", "In", {"x", "y"}}}};
  EXPECT_EQ(MetricNameString(ext),
            "external metric qps(&LabelSelector{MatchLabels:map[string]string{a: b,},"
            "MatchExpressions:[]LabelSelectorRequirement{LabelSelectorRequirement{Key:k,"
            "Operator:In,Values:[x y],},},})");
  ext.metric_selector.reset();
  EXPECT_EQ(MetricNameString(ext), "external metric qps(nil)");
}

}  // namespace
}  // namespace gpuscale::hpa
