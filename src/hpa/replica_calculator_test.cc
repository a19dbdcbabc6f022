// The upstream replica_calculator_test.go vectors (reference hpa.md §6.3), named as upstream
// names them, with the upstream harness conventions: pods test-pod-<i> with two containers,
// per-container requests and usage (pod values are twice that), metric timestamps at the zero
// time with a 1m window, CPU initialization period 2m and readiness delay 10s.
#include "hpa/replica_calculator.h"

#include <gtest/gtest.h>

#include <limits>
#include <ostream>

namespace gpuscale::hpa {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const core::Timestamp kNow = core::FromUnixSeconds(1'700'000'000);
const core::Timestamp kZero{};
constexpr int32_t kMaxInt32 = std::numeric_limits<int32_t>::max();
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

const CalculatorConfig kConfig{minutes(2), seconds(10)};
const Tolerances kTol{0.1, 0.1};

enum Start { kUnset, kHot, kCool };

struct PodSetup {
  std::vector<PodPhase> phases;
  std::vector<bool> ready;
  std::vector<Start> start;
  std::vector<bool> deleted;
};

template <typename T>
T At(const std::vector<T>& v, size_t i, T fallback) {
  return i < v.size() ? v[i] : fallback;
}

std::vector<Pod> MakePods(int count, const PodSetup& setup, const std::vector<int64_t>& requests,
                          const std::string& resource = "cpu") {
  std::vector<Pod> pods;
  for (int i = 0; i < count; ++i) {
    Pod p;
    p.name = "test-pod-" + std::to_string(i);
    p.labels = {{"name", "test-pod"}};
    p.phase = At(setup.phases, i, PodPhase::kRunning);
    p.ready = PodReadyCondition{
        At(setup.ready, i, true) ? ConditionStatus::kTrue : ConditionStatus::kFalse, kZero};
    Start st = At(setup.start, i, kUnset);
    p.start_time = st == kHot ? kNow : st == kCool ? kNow - minutes(3) : kZero;
    if (At(setup.deleted, i, false)) p.deletion_timestamp = kNow;
    for (const char* c : {"container1", "container2"}) {
      Container ct{c, {}};
      if (static_cast<size_t>(i) < requests.size()) ct.requests_milli[resource] = requests[i];
      p.containers.push_back(ct);
    }
    pods.push_back(std::move(p));
  }
  return pods;
}

// Per-container levels; a pod value is the sum over both containers (or one container's).
PodMetricsInfo MakeResourceMetrics(const std::vector<std::vector<int64_t>>& levels,
                                   const std::string& container) {
  PodMetricsInfo m;
  for (size_t i = 0; i < levels.size(); ++i) {
    const auto& l = levels[i];
    int64_t c1 = l[0];
    int64_t c2 = l.size() > 1 ? l[1] : l[0];
    int64_t v = container.empty() ? c1 + c2 : container == "container1" ? c1 : c2;
    m["test-pod-" + std::to_string(i)] = PodMetric{v, kZero, minutes(1)};
  }
  return m;
}

struct ResourceCase {
  const char* name;
  int32_t current;
  int32_t target;
  std::vector<int64_t> requests;
  std::vector<std::vector<int64_t>> levels;
  PodSetup setup;
  int32_t expected;
  int32_t utilization;
  int64_t raw;
  std::string container = "";
  Tolerances tolerances = kTol;
};
void PrintTo(const ResourceCase& c, std::ostream* os) { *os << c.name; }

class ResourceVectors : public testing::TestWithParam<ResourceCase> {};

TEST_P(ResourceVectors, MatchesUpstream) {
  const ResourceCase& c = GetParam();
  int count = std::max<int>(c.current, static_cast<int>(c.setup.phases.size()));
  count = std::max<int>(count, static_cast<int>(c.requests.size()));
  auto pods = MakePods(count, c.setup, c.requests);
  auto r = GetResourceReplicas(c.current, c.target, "cpu", c.container, c.tolerances, pods,
                               MakeResourceMetrics(c.levels, c.container), kConfig, kNow);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->replicas, c.expected);
  EXPECT_EQ(r->utilization, c.utilization);
  EXPECT_EQ(r->usage, c.raw);
}

const PodSetup kReady{};
const auto kRun = PodPhase::kRunning;

INSTANTIATE_TEST_SUITE_P(
    TestReplicaCalcResourceScale, ResourceVectors,
    testing::Values(
        ResourceCase{
            "scale_up", 3, 30, {1000, 1000, 1000}, {{300}, {500}, {700}}, kReady, 5, 50, 1000},
        ResourceCase{"scale_up_container_metric",
                     3,
                     30,
                     {1000, 1000, 1000},
                     {{1000, 300}, {1000, 500}, {1000, 700}},
                     kReady,
                     5,
                     50,
                     500,
                     "container2"},
        ResourceCase{"scale_up_unready_pod_scales_less",
                     3,
                     30,
                     {1000, 1000, 1000},
                     {{300}, {500}, {700}},
                     PodSetup{{}, {false, true, true}},
                     4,
                     60,
                     1200},
        ResourceCase{"scale_up_hot_cpu_pod_scales_less",
                     3,
                     30,
                     {1000, 1000, 1000},
                     {{300}, {500}, {700}},
                     PodSetup{{}, {}, {kHot, kCool, kCool}},
                     4,
                     60,
                     1200},
        ResourceCase{"no_scale_unready_pods_ignored",
                     3,
                     30,
                     {1000, 1000, 1000},
                     {{400}, {500}, {700}},
                     PodSetup{{}, {true, false, false}},
                     3,
                     40,
                     800},
        ResourceCase{"no_scale_hot_cpu_pods_ignored",
                     3,
                     30,
                     {1000, 1000, 1000},
                     {{400}, {500}, {700}},
                     PodSetup{{}, {true, false, false}, {kCool, kHot, kHot}},
                     3,
                     40,
                     800},
        ResourceCase{"scale_up_failed_pods_ignored",
                     2,
                     30,
                     {1000, 1000, 1000, 1000},
                     {{500}, {700}},
                     PodSetup{{kRun, kRun, PodPhase::kFailed, PodPhase::kFailed},
                              {true, true, false, false}},
                     4,
                     60,
                     1200},
        ResourceCase{"scale_up_pods_being_deleted_are_ignored",
                     2,
                     30,
                     {1000, 1000, 1000, 1000},
                     {{500}, {700}},
                     PodSetup{{kRun, kRun, kRun, kRun}, {}, {}, {false, false, true, true}},
                     4,
                     60,
                     1200},
        ResourceCase{"scale_down",
                     5,
                     50,
                     {1000, 1000, 1000, 1000, 1000},
                     {{100}, {300}, {500}, {250}, {250}},
                     kReady,
                     3,
                     28,
                     560},
        ResourceCase{"scale_down_exclude_unready_pods",
                     5,
                     50,
                     {1000, 1000, 1000, 1000, 1000},
                     {{100}, {300}, {500}, {250}, {250}},
                     PodSetup{{}, {true, true, true, false, false}},
                     2,
                     30,
                     600},
        ResourceCase{"scale_down_exclude_unscheduled_pods",
                     5,
                     50,
                     {1000, 1000, 1000, 1000, 1000},
                     {{100}},
                     PodSetup{{kRun, PodPhase::kPending, PodPhase::kPending, PodPhase::kPending,
                               PodPhase::kPending}},
                     1,
                     10,
                     200},
        ResourceCase{"scale_down_ignore_hot_cpu_pods",
                     5,
                     50,
                     {1000, 1000, 1000, 1000, 1000},
                     {{100}, {300}, {500}, {250}, {250}},
                     PodSetup{{}, {}, {kCool, kCool, kCool, kHot, kHot}},
                     2,
                     30,
                     600},
        ResourceCase{"scale_down_failed_pods_ignored",
                     5,
                     50,
                     {1000, 1000, 1000, 1000, 1000, 1000, 1000},
                     {{100}, {300}, {500}, {250}, {250}},
                     PodSetup{{kRun, kRun, kRun, kRun, kRun, PodPhase::kFailed, PodPhase::kFailed}},
                     3,
                     28,
                     560}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Others, ResourceVectors,
    testing::Values(
        ResourceCase{"TestReplicaCalcTolerance",
                     3,
                     100,
                     {900, 1000, 1100},
                     {{1010}, {1030}, {1020}},
                     kReady,
                     3,
                     102,
                     2040},
        ResourceCase{"TestReplicaCalcSuperfluousMetrics",
                     4,
                     100,
                     {1000, 1000, 1000, 1000},
                     {{4000}, {9500}, {3000}, {7000}, {3200}, {2000}},
                     kReady,
                     24,
                     587,
                     11750},
        ResourceCase{"TestReplicaCalcMissingMetrics",
                     4,
                     100,
                     {1000, 1000, 1000, 1000},
                     {{400}, {95}},
                     kReady,
                     3,
                     24,
                     495},
        ResourceCase{"TestReplicaCalcMissingMetricsNoChangeEq",
                     2,
                     100,
                     {1000, 1000},
                     {{1000}},
                     kReady,
                     2,
                     100,
                     2000},
        ResourceCase{"TestReplicaCalcMissingMetricsNoChangeGt",
                     2,
                     100,
                     {1000, 1000},
                     {{1900}},
                     kReady,
                     2,
                     190,
                     3800},
        ResourceCase{"TestReplicaCalcMissingMetricsNoChangeLt",
                     2,
                     100,
                     {1000, 1000},
                     {{600}},
                     kReady,
                     2,
                     60,
                     1200},
        ResourceCase{"TestReplicaCalcMissingMetricsUnreadyChange",
                     3,
                     50,
                     {1000, 1000, 1000},
                     {{100}, {450}},
                     PodSetup{{}, {false, true, true}},
                     3,
                     45,
                     900},
        ResourceCase{"TestReplicaCalcMissingMetricsHotCpuNoChange",
                     3,
                     50,
                     {1000, 1000, 1000},
                     {{100}, {450}},
                     PodSetup{{}, {}, {kHot, kCool, kCool}},
                     3,
                     45,
                     900},
        ResourceCase{"TestReplicaCalcMissingMetricsUnreadyScaleUp",
                     3,
                     50,
                     {1000, 1000, 1000},
                     {{100}, {2000}},
                     PodSetup{{}, {false, true, true}},
                     4,
                     200,
                     4000},
        ResourceCase{"TestReplicaCalcMissingMetricsHotCpuScaleUp",
                     3,
                     50,
                     {1000, 1000, 1000},
                     {{100}, {2000}},
                     PodSetup{{}, {false, true, true}, {kHot, kCool, kCool}},
                     4,
                     200,
                     4000},
        ResourceCase{"TestReplicaCalcMissingMetricsUnreadyScaleDown",
                     4,
                     50,
                     {1000, 1000, 1000, 1000},
                     {{100}, {100}, {100}},
                     PodSetup{{}, {false, true, true, true}},
                     3,
                     10,
                     200},
        ResourceCase{"TestReplicaCalcMissingMetricsScaleDownTargetOver100",
                     4,
                     300,
                     {1000, 1000, 2000, 2000},
                     {{200}, {100}, {100}},
                     PodSetup{{}, {false, true, true, true}},
                     2,
                     6,
                     200},
        ResourceCase{"TestReplicaCalcDuringRollingUpdateWithMaxSurge",
                     2,
                     50,
                     {1000, 1000, 1000},
                     {{100}, {100}},
                     kReady,
                     2,
                     10,
                     200},
        // TestReplicaCalcConfigurableTolerance subcases: Tolerances{scaleDown, scaleUp}.
        ResourceCase{"Outside_of_a_0_percent_tolerance",
                     3,
                     100,
                     {900, 1000, 1100},
                     {{909}, {1010}, {1111}},
                     kReady,
                     4,
                     101,
                     2020,
                     "",
                     Tolerances{0, 0}},
        ResourceCase{"Within_a_200_percent_scale_up_tolerance",
                     3,
                     100,
                     {900, 1000, 1100},
                     {{1890}, {1910}, {1900}},
                     kReady,
                     3,
                     190,
                     3800,
                     "",
                     Tolerances{0.1, 2.0}},
        ResourceCase{"Outside_8_percent_scale_up_tolerance_and_superfuous_scale_down_tolerance",
                     3,
                     100,
                     {900, 1000, 1100},
                     {{1100}, {1080}, {1090}},
                     kReady,
                     4,
                     109,
                     2180,
                     "",
                     Tolerances{2.0, 0.08}},
        ResourceCase{"Within_a_36_percent_scale_down_tolerance",
                     3,
                     100,
                     {900, 1000, 1100},
                     {{660}, {640}, {650}},
                     kReady,
                     3,
                     65,
                     1300,
                     "",
                     Tolerances{0.36, 0.1}},
        ResourceCase{"Outside_a_34_percent_scale_down_tolerance",
                     3,
                     100,
                     {900, 1000, 1100},
                     {{660}, {640}, {650}},
                     kReady,
                     2,
                     65,
                     1300,
                     "",
                     Tolerances{0.34, 0.1}}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

// The rebalanced pod count can flip the direction: 3 pods listed for 2 current replicas.
TEST(ReplicaCalculatorTest, TestReplicaCalcComputedToleranceAlgImplementation) {
  // Requests per container 300m with offsets that cancel: utilization exactly 50%.
  std::vector<int64_t> requests = {400, 200, 310, 290, 302, 298, 301, 299, 300, 300};
  auto pods = MakePods(10, kReady, requests);
  std::vector<std::vector<int64_t>> levels(10, std::vector<int64_t>{150});
  const int32_t target1 = static_cast<int32_t>((1.0 / (2 * (1 - 0.1)) + 0.01) * 100);
  ASSERT_EQ(target1, 56);
  auto r = GetResourceReplicas(10, target1, "cpu", "", kTol, pods, MakeResourceMetrics(levels, ""),
                               kConfig, kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 9);
  EXPECT_EQ(r->utilization, 50);
  const int32_t target2 = static_cast<int32_t>((1.0 / (2 * (1 - 0.1)) + 0.004) * 100);
  ASSERT_EQ(target2, 55);
  r = GetResourceReplicas(10, target2, "cpu", "", kTol, pods, MakeResourceMetrics(levels, ""),
                          kConfig, kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 10);
}

TEST(ReplicaCalculatorTest, TestReplicaCalcDisjointResourcesMetrics) {
  auto pods = MakePods(1, kReady, {1000});
  PodMetricsInfo metrics{{"an-older-pod-name", PodMetric{200}}};
  auto r = GetResourceReplicas(1, 100, "cpu", "", kTol, pods, metrics, kConfig, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "no metrics returned matched known pods");
}

TEST(ReplicaCalculatorTest, TestReplicaCalcEmptyMetrics) {
  auto pods = MakePods(4, kReady, {1000, 1000, 1000, 1000});
  auto r = GetResourceReplicas(4, 100, "cpu", "", kTol, pods, {}, kConfig, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "did not receive metrics for targeted pods (pods might be unready)");
}

TEST(ReplicaCalculatorTest, TestReplicaCalcEmptyCPURequest) {
  auto pods = MakePods(1, kReady, {});
  auto r = GetResourceReplicas(1, 100, "cpu", "", kTol, pods, MakeResourceMetrics({{200}}, ""),
                               kConfig, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "missing request for cpu in container container1 of Pod test-pod-0");
}

TEST(ReplicaCalculatorTest, NoPodsIsAnError) {
  auto r = GetResourceReplicas(1, 100, "cpu", "", kTol, {}, MakeResourceMetrics({{200}}, ""),
                               kConfig, kNow);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "no pods returned by selector while calculating replica count");
}

// ---- custom metrics (Pods, Object, External) --------------------------------------------------

PodMetricsInfo PlainMetrics(const std::vector<int64_t>& levels) {
  PodMetricsInfo m;
  for (size_t i = 0; i < levels.size(); ++i) {
    m["test-pod-" + std::to_string(i)] = PodMetric{levels[i]};
  }
  return m;
}

struct PodsCase {
  const char* name;
  int32_t current;
  std::vector<int64_t> levels;
  int64_t target;
  int32_t expected;
  int64_t usage;
  PodSetup setup = {};
  int pods = 0;  // listed pods when more than current
  Tolerances tolerances = kTol;
};
void PrintTo(const PodsCase& c, std::ostream* os) { *os << c.name; }

class PodsVectors : public testing::TestWithParam<PodsCase> {};

TEST_P(PodsVectors, MatchesUpstream) {
  const PodsCase& c = GetParam();
  auto pods = MakePods(std::max<int>(c.current, c.pods), c.setup, {});
  auto r = GetPlainMetricReplicas(c.current, c.target, "", c.tolerances, pods,
                                  PlainMetrics(c.levels), kConfig, kNow);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->replicas, c.expected);
  EXPECT_EQ(r->usage, c.usage);
}

INSTANTIATE_TEST_SUITE_P(
    Upstream, PodsVectors,
    testing::Values(
        PodsCase{"TestReplicaCalcScaleUpCM", 3, {20000, 10000, 30000}, 15000, 4, 20000},
        PodsCase{"TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale",
                 3,
                 {50000, 10000, 30000},
                 15000,
                 6,
                 30000,
                 PodSetup{{}, {true, true, false}, {kCool, kCool, kHot}}},
        PodsCase{"TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown",
                 3,
                 {50000, 15000, 30000},
                 15000,
                 7,
                 31666,
                 PodSetup{{}, {false, true, false}, {kHot, kCool, kHot}}},
        PodsCase{
            "TestReplicaCalcScaleDownCM", 5, {12000, 12000, 12000, 12000, 12000}, 20000, 3, 12000},
        PodsCase{"TestReplicaCalcToleranceCM", 3, {20000, 21000, 21000}, 20000, 3, 20666},
        PodsCase{"TestReplicaCalcConfigurableToleranceCM",
                 3,
                 {20000, 21000, 21000},
                 20000,
                 4,
                 20666,
                 {},
                 0,
                 Tolerances{0.1, 0.01}},
        PodsCase{"TestPlainMetricReplicaCalcMissingMetricsNoChangeEq",
                 5,
                 {20000, 19000, 21000},
                 20000,
                 5,
                 20000},
        PodsCase{"TestReplicaCalcDuringRollingUpdateWithMaxSurgeCM",
                 2,
                 {10000, 10000},
                 17000,
                 2,
                 10000,
                 {},
                 3},
        // Derived vectors from reference §6.7 (same algorithm, not upstream tests).
        PodsCase{"Derived_missing_pods_on_scale_up", 4, {30000, 30000}, 10000, 6, 30000},
        PodsCase{"Derived_missing_pods_on_scale_down", 4, {2000, 2000}, 10000, 3, 2000},
        PodsCase{"Derived_pending_pod_on_scale_up",
                 3,
                 {20000, 0, 20000},
                 10000,
                 4,
                 20000,
                 PodSetup{{kRun, PodPhase::kPending, kRun}}}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

struct ValueCase {
  const char* name;
  bool per_pod;  // AverageValue target (status replicas) instead of Value
  int32_t current;
  int64_t usage;
  int64_t target;
  int32_t expected;
  int64_t reported_usage;
  std::vector<bool> ready = {};
  Tolerances tolerances = kTol;
};
void PrintTo(const ValueCase& c, std::ostream* os) { *os << c.name; }

class ValueVectors : public testing::TestWithParam<ValueCase> {};

TEST_P(ValueVectors, MatchesUpstream) {
  const ValueCase& c = GetParam();
  if (c.per_pod) {
    ReplicaProposal r = GetPerPodMetricReplicas(c.current, c.usage, c.target, c.tolerances);
    EXPECT_EQ(r.replicas, c.expected);
    EXPECT_EQ(r.usage, c.reported_usage);
    return;
  }
  auto pods = MakePods(c.current, PodSetup{{}, c.ready}, {});
  auto r = GetValueMetricReplicas(c.current, c.usage, c.target, c.tolerances, pods);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->replicas, c.expected);
  EXPECT_EQ(r->usage, c.reported_usage);
}

const Tolerances kUp1{0.1, 0.01};

INSTANTIATE_TEST_SUITE_P(
    Upstream, ValueVectors,
    testing::Values(
        ValueCase{"TestReplicaCalcScaleUpCMObject", false, 3, 20000, 15000, 4, 20000},
        ValueCase{"TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods",
                  false,
                  3,
                  50000,
                  10000,
                  5,
                  50000,
                  {false, true, false}},
        ValueCase{"TestReplicaCalcScaleDownCMObject", false, 5, 12000, 20000, 3, 12000},
        ValueCase{"TestReplicaCalcToleranceCMObject", false, 3, 20666, 20000, 3, 20666},
        ValueCase{"TestReplicaCalcConfigurableToleranceCMObject",
                  false,
                  3,
                  20666,
                  20000,
                  4,
                  20666,
                  {},
                  kUp1},
        ValueCase{"TestReplicaCalcScaleUpCMPerPodObject", true, 3, 20000, 5000, 4, 6667},
        ValueCase{"TestReplicaCalcScaleDownPerPodCMObject", true, 5, 6000, 2000, 3, 1200},
        ValueCase{"TestReplicaCalcTolerancePerPodCMObject", true, 4, 20166, 5000, 4, 5042},
        ValueCase{"TestReplicaCalcConfigurableTolerancePerPodCMObject",
                  true,
                  4,
                  20208,
                  5000,
                  5,
                  5052,
                  {},
                  kUp1},
        ValueCase{"TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods",
                  false,
                  3,
                  8600,
                  4400,
                  2,
                  8600,
                  {false, true, false}},
        ValueCase{"TestReplicaCalcScaleDownCMExternal", false, 5, 8600, 14334, 3, 8600},
        ValueCase{"TestReplicaCalcToleranceCMExternal", false, 3, 8600, 8888, 3, 8600},
        ValueCase{"TestReplicaCalcConfigurableToleranceCMExternal",
                  false,
                  3,
                  8900,
                  8800,
                  4,
                  8900,
                  {},
                  kUp1},
        ValueCase{"TestReplicaCalcScaleUpPerPodCMExternal", true, 3, 8600, 2150, 4, 2867},
        ValueCase{"TestReplicaCalcScaleDownPerPodCMExternal", true, 5, 8600, 2867, 3, 1720},
        ValueCase{"TestReplicaCalcTolerancePerPodCMExternal", true, 3, 8600, 2900, 3, 2867},
        ValueCase{"TestReplicaCalcConfigurableTolerancePerPodCMExternal",
                  true,
                  3,
                  8600,
                  2800,
                  4,
                  2867,
                  {},
                  kUp1},
        ValueCase{"TestReplicaCalcScaleUpOverflow", false, 3, kMaxInt64, 1, kMaxInt32, kMaxInt64},
        // The reference lists these overflow tests without their numbers; the expectations
        // follow its stated rule: ceil(usage/target) saturates at MaxInt32.
        ValueCase{"TestExternalPerPodMetricReplicaOverflow", true, 3, kMaxInt64, 1, kMaxInt32,
                  3074457345618258432},  // float64 ceil(MaxInt64 / 3)
        ValueCase{"TestExternalPerPodMetricUsageOverflow", true, 1, kMaxInt64, 1, kMaxInt32,
                  kMaxInt64}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST(ReplicaCalculatorTest, ScaleFromZeroIgnoresToleranceAndPods) {
  // TestScaleUpFromZeroCMObject / TestScaleUpFromZeroIgnoresToleranceCMObject at this level.
  auto r = GetValueMetricReplicas(0, 20000, 15000, kTol, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 2);
  r = GetValueMetricReplicas(0, 1000, 1000, kTol, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 1);
}

TEST(ReplicaCalculatorTest, ValueTargetWithoutPodsFails) {
  auto r = GetValueMetricReplicas(3, 50000, 10000, kTol, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("no pods returned by selector"), std::string::npos);
}

TEST(ReplicaCalculatorTest, ToleranceEdgeDiffersByControllerVersion) {
  // Derived vector §6.7: utilization 110 of target 100, 10 ready pods.
  auto pods = MakePods(10, kReady, std::vector<int64_t>(10, 1000));
  auto metrics = MakeResourceMetrics(std::vector<std::vector<int64_t>>(10, {1100}), "");
  auto r = GetResourceReplicas(10, 100, "cpu", "", kTol, pods, metrics, kConfig, kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 10);
  Tolerances legacy{0.1, 0.1, true};
  r = GetResourceReplicas(10, 100, "cpu", "", legacy, pods, metrics, kConfig, kNow);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replicas, 11);
}

// ---- TestGroupPods ----------------------------------------------------------------------------

struct GroupCase {
  const char* name;
  std::vector<Pod> pods;
  PodMetricsInfo metrics;
  std::string resource;
  int ready;
  std::set<std::string> unready;
  std::set<std::string> missing;
  std::set<std::string> ignored;
};
void PrintTo(const GroupCase& c, std::ostream* os) { *os << c.name; }

Pod NamedPod(const char* name, PodPhase phase, std::optional<core::Timestamp> start,
             std::optional<PodReadyCondition> ready) {
  Pod p;
  p.name = name;
  p.phase = phase;
  p.start_time = start;
  p.ready = ready;
  return p;
}

class GroupPodsVectors : public testing::TestWithParam<GroupCase> {};

TEST_P(GroupPodsVectors, MatchesUpstream) {
  const GroupCase& c = GetParam();
  GroupedPods g = GroupPods(c.pods, c.metrics, c.resource, minutes(2), seconds(10), kNow);
  EXPECT_EQ(g.ready_count, c.ready);
  EXPECT_EQ(g.unready, c.unready);
  EXPECT_EQ(g.missing, c.missing);
  EXPECT_EQ(g.ignored, c.ignored);
}

const auto kTrue = ConditionStatus::kTrue;
const auto kFalse = ConditionStatus::kFalse;

std::vector<GroupCase> GroupCases() {
  std::vector<GroupCase> v;
  v.push_back({"void", {}, {}, "cpu", 0, {}, {}, {}});
  v.push_back({"count_in_a_ready_pod_memory",
               {NamedPod("bentham", PodPhase::kSucceeded, std::nullopt, std::nullopt)},
               {{"bentham", PodMetric{1, kNow, minutes(1)}}},
               "memory",
               1,
               {},
               {},
               {}});
  v.push_back({"unready_a_pod_without_ready_condition_CPU",
               {NamedPod("lucretius", PodPhase::kSucceeded, kNow, std::nullopt)},
               {{"lucretius", PodMetric{1}}},
               "cpu",
               0,
               {"lucretius"},
               {},
               {}});
  v.push_back({"count_in_a_ready_pod_with_fresh_metrics_during_initialization_period_CPU",
               {NamedPod("bentham", PodPhase::kSucceeded, kNow - minutes(1),
                         PodReadyCondition{kTrue, kNow - seconds(30)})},
               {{"bentham", PodMetric{1, kNow, seconds(30)}}},
               "cpu",
               1,
               {},
               {},
               {}});
  v.push_back({"unready_a_ready_pod_without_fresh_metrics_during_initialization_period_CPU",
               {NamedPod("bentham", PodPhase::kSucceeded, kNow - minutes(1),
                         PodReadyCondition{kTrue, kNow - seconds(30)})},
               {{"bentham", PodMetric{1, kNow, seconds(60)}}},
               "cpu",
               0,
               {"bentham"},
               {},
               {}});
  v.push_back({"unready_an_unready_pod_during_initialization_period_CPU",
               {NamedPod("lucretius", PodPhase::kSucceeded, kNow - minutes(10),
                         PodReadyCondition{kFalse, kNow - minutes(9) - seconds(54)})},
               {{"lucretius", PodMetric{1}}},
               "cpu",
               0,
               {"lucretius"},
               {},
               {}});
  v.push_back({"count_in_a_ready_pod_without_fresh_metrics_after_initialization_period_CPU",
               {NamedPod("bentham", PodPhase::kSucceeded, kNow - minutes(3),
                         PodReadyCondition{kTrue, kNow - minutes(3)})},
               {{"bentham", PodMetric{1, kNow - minutes(2), minutes(1)}}},
               "cpu",
               1,
               {},
               {},
               {}});
  v.push_back({"count_in_an_unready_pod_that_was_ready_after_initialization_period_CPU",
               {NamedPod("lucretius", PodPhase::kSucceeded, kNow - minutes(10),
                         PodReadyCondition{kFalse, kNow - minutes(9)})},
               {{"lucretius", PodMetric{1}}},
               "cpu",
               1,
               {},
               {},
               {}});
  v.push_back({"unready_pod_that_has_never_been_ready_after_initialization_period_CPU",
               {NamedPod("lucretius", PodPhase::kSucceeded, kNow - minutes(10),
                         PodReadyCondition{kFalse, kNow - minutes(9) - seconds(50)})},
               {{"lucretius", PodMetric{1}}},
               "cpu",
               1,
               {},
               {},
               {}});
  v.push_back({"a_missing_pod",
               {NamedPod("epicurus", PodPhase::kSucceeded, kNow - minutes(3), std::nullopt)},
               {},
               "cpu",
               0,
               {},
               {"epicurus"},
               {}});
  v.push_back({"several_pods",
               {NamedPod("lucretius", PodPhase::kSucceeded, kNow, std::nullopt),
                NamedPod("niccolo", PodPhase::kSucceeded, kNow - minutes(3),
                         PodReadyCondition{kTrue, kNow - minutes(3)}),
                NamedPod("epicurus", PodPhase::kSucceeded, kNow - minutes(3), std::nullopt)},
               {{"lucretius", PodMetric{1}}, {"niccolo", PodMetric{1}}},
               "cpu",
               1,
               {"lucretius"},
               {"epicurus"},
               {}});
  v.push_back({"pending_pods_are_unreadied",
               {NamedPod("unscheduled", PodPhase::kPending, std::nullopt, std::nullopt)},
               {},
               "cpu",
               0,
               {"unscheduled"},
               {},
               {}});
  Pod deleted = NamedPod("deleted", PodPhase::kRunning, std::nullopt, std::nullopt);
  deleted.deletion_timestamp = kNow - minutes(1);
  v.push_back(
      {"ignore_pods_with_deletion_timestamps", {deleted}, {}, "cpu", 0, {}, {}, {"deleted"}});
  v.push_back({"ignore_pods_in_a_failed_state",
               {NamedPod("failed", PodPhase::kFailed, std::nullopt, std::nullopt)},
               {},
               "cpu",
               0,
               {},
               {},
               {"failed"}});
  return v;
}

INSTANTIATE_TEST_SUITE_P(TestGroupPods, GroupPodsVectors, testing::ValuesIn(GroupCases()),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

// ---- TestCalculateRequests --------------------------------------------------------------------

Pod RequestPod(std::vector<Container> containers, std::vector<Container> init = {},
               std::map<std::string, int64_t> pod_level = {}) {
  Pod p;
  p.name = "test-pod";
  p.containers = std::move(containers);
  p.init_containers = std::move(init);
  p.pod_requests_milli = std::move(pod_level);
  return p;
}

TEST(CalculateRequestsTest, TestCalculateRequests) {
  auto sum = CalculateRequests(
      {RequestPod({{"container1", {{"cpu", 100}}}, {"container2", {{"cpu", 50}}}})}, "", "cpu");
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->at("test-pod"), 150);

  auto pod_level = CalculateRequests(
      {RequestPod({{"container1", {}}, {"container2", {{"cpu", 50}}}}, {}, {{"cpu", 800}})}, "",
      "cpu");
  ASSERT_TRUE(pod_level.ok());
  EXPECT_EQ(pod_level->at("test-pod"), 800);

  auto missing = CalculateRequests(
      {RequestPod({{"container1", {}}, {"container2", {{"cpu", 50}}}})}, "", "cpu");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            "missing request for cpu in container container1 of Pod test-pod");

  auto one =
      CalculateRequests({RequestPod({{"container1", {{"cpu", 100}}}, {"container2", {{"cpu", 50}}}},
                                    {}, {{"cpu", 800}})},
                        "container1", "cpu");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->at("test-pod"), 100);

  Container sidecar{"sidecar", {{"cpu", 50}}, true};
  Container plain_init{"init", {{"cpu", 20}}, false};
  auto with_init = CalculateRequests(
      {RequestPod({{"container1", {{"cpu", 100}}}}, {sidecar, plain_init})}, "", "cpu");
  ASSERT_TRUE(with_init.ok());
  EXPECT_EQ(with_init->at("test-pod"), 150);
}

TEST(CalculateRequestsTest, TestCalculatePodRequestsFromContainers_NonExistentContainer) {
  auto r = CalculateRequests({RequestPod({{"container1", {{"cpu", 100}}}})},
                             "non-existent-container", "cpu");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "container non-existent-container not found in Pod test-pod");
}

}  // namespace
}  // namespace gpuscale::hpa
