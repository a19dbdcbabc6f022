// The upstream normalization vectors (reference hpa.md §6.5): TestConvertDesiredReplicasWithRules,
// TestCalculateScaleUpLimitWithScalingRules, TestCalculateScaleDownLimitWithBehaviors,
// TestScalingWithRules, TestNormalizeDesiredReplicasWithBehavior, TestNormalizeDesiredReplicas
// and TestStoreScaleEvents.
#include "hpa/normalize.h"

#include <gtest/gtest.h>

#include <ostream>

namespace gpuscale::hpa {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const core::Timestamp kNow = core::FromUnixSeconds(1'700'000'000);

// ---- legacy path ------------------------------------------------------------------------------

TEST(NormalizeTest, TestConvertDesiredReplicasWithRules) {
  struct Case {
    int32_t current, desired, min, max, expected;
    const char* reason;
  } cases[] = {
      {5, 7, 3, 8, 7, "DesiredWithinRange"},  {3, 1, 2, 8, 2, "TooFewReplicas"},
      {1, 0, 0, 10, 0, "DesiredWithinRange"}, {20, 1000, 1, 10, 10, "TooManyReplicas"},
      {3, 1000, 1, 2000, 24, "ScaleUpLimit"},  // the upstream tests' factor 8: max(8*3, 4)
  };
  for (const auto& c : cases) {
    Limited l = ConvertDesiredReplicasWithRules(c.current, c.desired, c.min, c.max, 8.0, 4.0);
    EXPECT_EQ(l.replicas, c.expected) << c.current << "->" << c.desired;
    EXPECT_EQ(l.reason, c.reason);
  }
  // The production factor 2.
  EXPECT_EQ(ConvertDesiredReplicasWithRules(3, 1000, 1, 2000).replicas, 6);
}

TEST(NormalizeTest, TestNormalizeDesiredReplicas) {
  struct Case {
    const char* name;
    std::vector<std::pair<int32_t, core::Duration>> recs;  // value, age
    int32_t prenormalized;
    int32_t expected;
    size_t log_length;
  } cases[] = {
      {"empty log", {}, 5, 5, 1},
      {"stabilize", {{4, minutes(2)}, {5, minutes(1)}}, 3, 5, 3},
      {"no stabilize", {{1, minutes(2)}, {2, minutes(1)}}, 3, 3, 3},
      {"no stabilize - old recommendations", {{10, minutes(10)}, {9, minutes(9)}}, 3, 3, 2},
      {"stabilize - old recommendations",
       {{10, minutes(10)}, {4, minutes(1)}, {5, minutes(2)}, {9, minutes(9)}},
       3,
       5,
       4},
  };
  for (const auto& c : cases) {
    std::vector<Recommendation> recs;
    for (auto [v, age] : c.recs) recs.push_back({v, kNow - age});
    EXPECT_EQ(StabilizeRecommendation(&recs, c.prenormalized, minutes(5), kNow), c.expected)
        << c.name;
    EXPECT_EQ(recs.size(), c.log_length) << c.name;
  }
  // "no stabilize - old recommendations" replaces the last old slot (index 1).
  std::vector<Recommendation> recs = {{10, kNow - minutes(10)}, {9, kNow - minutes(9)}};
  StabilizeRecommendation(&recs, 3, minutes(5), kNow);
  EXPECT_EQ(recs[0].replicas, 10);
  EXPECT_EQ(recs[1].replicas, 3);
}

// ---- behavior path ----------------------------------------------------------------------------

// generateScalingRules: selectPolicy Max, the non-zero policies in the order Pods, Percent.
ScalingRules Rules(int32_t pods, int32_t pods_period, int32_t percent, int32_t percent_period,
                   int32_t window = 0) {
  ScalingRules r;
  r.select_policy = SelectPolicy::kMax;
  r.stabilization_window_seconds = window;
  if (pods) r.policies.push_back({ScalingPolicyType::kPods, pods, pods_period});
  if (percent) r.policies.push_back({ScalingPolicyType::kPercent, percent, percent_period});
  return r;
}

// generateEventsUniformDistribution: events at the centres of equal segments of the last
// `interval` seconds, oldest first.
std::vector<ScaleEvent> Events(const std::vector<int32_t>& changes, int interval = 120) {
  std::vector<ScaleEvent> out;
  const double segment = static_cast<double>(interval) / static_cast<double>(changes.size());
  for (size_t i = 0; i < changes.size(); ++i) {
    const double age = interval - segment * (static_cast<double>(i) + 0.5);
    out.push_back({changes[i], kNow - core::FromSeconds(age), false});
  }
  return out;
}

TEST(NormalizeTest, GeneratedEventAgesMatchUpstreamHelper) {
  auto e = Events({1, 5, 9});
  EXPECT_EQ(e[0].timestamp, kNow - seconds(100));
  EXPECT_EQ(e[1].timestamp, kNow - seconds(60));
  EXPECT_EQ(e[2].timestamp, kNow - seconds(20));
  auto f = Events({8, 12, 9, 11});
  EXPECT_EQ(f[0].timestamp, kNow - seconds(105));
  EXPECT_EQ(f[3].timestamp, kNow - seconds(15));
}

TEST(NormalizeTest, TestCalculateScaleUpLimitWithScalingRules) {
  ScalingRules r = Rules(2, 60, 50, 60);
  r.select_policy = SelectPolicy::kMin;
  EXPECT_EQ(CalculateScaleUpLimitWithScalingRules(1, {}, {}, r, kNow), 2);
}

TEST(NormalizeTest, TestCalculateScaleDownLimitWithBehaviors) {
  ScalingRules r = Rules(2, 60, 50, 60);
  r.select_policy = SelectPolicy::kMin;
  EXPECT_EQ(CalculateScaleDownLimitWithBehaviors(5, {}, {}, r, kNow), 3);
}

struct RateCase {
  const char* name;
  int32_t current;
  int32_t desired;
  int32_t min;
  int32_t max;
  std::optional<ScalingRules> up;    // unset: API defaults
  std::optional<ScalingRules> down;  // unset: API defaults
  std::vector<int32_t> up_events;
  std::vector<int32_t> down_events;
  int32_t expected;
  const char* reason;
};
void PrintTo(const RateCase& c, std::ostream* os) { *os << c.name; }

class ScalingWithRules : public testing::TestWithParam<RateCase> {};

TEST_P(ScalingWithRules, MatchesUpstream) {
  const RateCase& c = GetParam();
  ScalingRules up = c.up.value_or(DefaultScaleUpRules());
  ScalingRules down = c.down.value_or(DefaultScaleDownRules());
  NormalizationArgs args{&up, &down, c.min, c.max, c.current, c.desired};
  Limited l = ConvertDesiredReplicasWithBehaviorRate(args, Events(c.up_events),
                                                     Events(c.down_events), kNow);
  EXPECT_EQ(l.replicas, c.expected);
  EXPECT_EQ(l.reason, c.reason);
}

std::vector<RateCase> RateCases() {
  const std::nullopt_t def = std::nullopt;
  return {
      {"prenormalized desired replicas within range",
       5,
       7,
       3,
       8,
       def,
       def,
       {},
       {},
       7,
       "DesiredWithinRange"},
      {"prenormalized desired replicas < minReplicas",
       3,
       1,
       2,
       8,
       def,
       def,
       {},
       {},
       2,
       "TooFewReplicas"},
      {"prenormalized desired replicas within range when minReplicas is 0",
       1,
       0,
       0,
       10,
       def,
       def,
       {},
       {},
       0,
       "DesiredWithinRange"},
      {"maxReplicas is the limit because maxReplicas < scaleUpLimit",
       20,
       1000,
       1,
       10,
       def,
       def,
       {},
       {},
       10,
       "TooManyReplicas"},
      {"desired replica count is more than the maximum replica count",
       100,
       1000,
       100,
       150,
       def,
       def,
       {},
       {},
       150,
       "TooManyReplicas"},
      {"scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies",
       3,
       1000,
       1,
       2000,
       Rules(0, 0, 1, 60),
       def,
       {},
       {},
       4,
       "ScaleUpLimit"},
      {"scaleUp with default behavior", 10, 50, 1, 1000, def, def, {}, {}, 20, "ScaleUpLimit"},
      {"scaleUp with pods policy larger than percent policy",
       10,
       500,
       1,
       1000,
       Rules(100, 60, 100, 60),
       def,
       {},
       {},
       110,
       "ScaleUpLimit"},
      {"scaleUp with percent policy larger than pods policy",
       10,
       500,
       1,
       1000,
       Rules(2, 60, 100, 60),
       def,
       {},
       {},
       20,
       "ScaleUpLimit"},
      {"scaleUp with spec MaxReplicas limitation with large pod policy",
       10,
       50,
       1,
       1000,
       Rules(100, 60, 0, 0),
       def,
       {},
       {},
       50,
       "DesiredWithinRange"},
      {"scaleUp with pod policy limitation",
       10,
       50,
       1,
       1000,
       Rules(30, 60, 0, 0),
       def,
       {},
       {},
       40,
       "ScaleUpLimit"},
      {"scaleUp with percent policy limitation",
       10,
       50,
       1,
       1000,
       Rules(0, 0, 200, 60),
       def,
       {},
       {},
       30,
       "ScaleUpLimit"},
      {"scaleDown with percent policy larger than pod policy",
       100,
       2,
       1,
       1000,
       def,
       Rules(20, 60, 1, 60),
       {},
       {},
       80,
       "ScaleDownLimit"},
      {"scaleDown with pod policy larger than percent policy",
       100,
       2,
       1,
       1000,
       def,
       Rules(2, 60, 1, 60),
       {},
       {},
       98,
       "ScaleDownLimit"},
      {"scaleDown with spec MinReplicas=nil limitation with large pod policy",
       10,
       0,
       1,
       1000,
       def,
       Rules(100, 60, 0, 0),
       {},
       {},
       1,
       "TooFewReplicas"},
      {"scaleDown with spec MinReplicas limitation with large percent policy",
       10,
       2,
       5,
       1000,
       def,
       Rules(0, 0, 100, 60),
       {},
       {},
       5,
       "TooFewReplicas"},
      {"scaleDown with pod policy limitation",
       10,
       2,
       1,
       1000,
       def,
       Rules(5, 60, 0, 0),
       {},
       {},
       5,
       "ScaleDownLimit"},
      {"scaleDown with percent policy limitation",
       10,
       5,
       1,
       1000,
       def,
       Rules(0, 0, 50, 60),
       {},
       {},
       5,
       "DesiredWithinRange"},
      {"scaleUp with spec MaxReplicas limitation with large pod policy and events",
       100,
       500,
       1,
       200,
       Rules(300, 60, 0, 0),
       def,
       {1, 5, 9},
       {},
       200,
       "TooManyReplicas"},
      {"scaleUp with spec MaxReplicas limitation with large percent policy and events",
       100,
       500,
       1,
       200,
       Rules(0, 0, 10000, 60),
       def,
       {1, 5, 9},
       {},
       200,
       "TooManyReplicas"},
      {"scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent "
       "scale up events",
       100,
       500,
       1,
       1000,
       Rules(5, 120, 0, 0),
       def,
       {1, 5, 9},
       {},
       100,
       "ScaleUpLimit"},
      {"scaleUp with pod policy and previous scale up events",
       100,
       500,
       1,
       1000,
       Rules(150, 120, 0, 0),
       def,
       {1, 5, 9},
       {},
       235,
       "ScaleUpLimit"},
      {"scaleUp with percent policy and previous scale up events",
       100,
       500,
       1,
       1000,
       Rules(0, 0, 200, 120),
       def,
       {1, 5, 9},
       {},
       255,
       "ScaleUpLimit"},
      {"scaleUp with percent policy and previous scale up and down events",
       6,
       24,
       1,
       1000,
       Rules(0, 0, 300, 300),
       def,
       {4},
       {2},
       16,
       "ScaleUpLimit"},
      {"scaleDown with default policy and previous events",
       10,
       5,
       1,
       1000,
       def,
       def,
       {},
       {1, 5, 9},
       5,
       "DesiredWithinRange"},
      {"scaleDown with spec MinReplicas=nil limitation with large pod policy and previous "
       "events",
       100,
       0,
       1,
       1000,
       def,
       Rules(115, 120, 0, 0),
       {},
       {1, 5, 9},
       1,
       "TooFewReplicas"},
      {"scaleDown with spec MinReplicas limitation with large pod policy and previous events",
       100,
       0,
       5,
       1000,
       def,
       Rules(130, 120, 0, 0),
       {},
       {1, 5, 9},
       5,
       "TooFewReplicas"},
      {"scaleDown with spec MinReplicas limitation with large percent policy and previous "
       "events",
       100,
       2,
       5,
       1000,
       def,
       Rules(0, 0, 100, 120),
       {},
       {1, 5, 9},
       5,
       "TooFewReplicas"},
      {"scaleDown with pod policy limitation and previous events",
       100,
       2,
       1,
       1000,
       def,
       Rules(5, 120, 0, 0),
       {},
       {1, 5, 9},
       100,
       "ScaleDownLimit"},
      {"scaleDown with percent policy limitation and previous events",
       100,
       0,
       1,
       1000,
       def,
       Rules(0, 0, 50, 120),
       {},
       {2, 4, 6},
       56,
       "ScaleDownLimit"},
      {"scaleDown with percent policy and previous scale up and down events",
       10,
       1,
       1,
       1000,
       def,
       Rules(0, 0, 50, 180),
       {2},
       {4},
       6,
       "ScaleDownLimit"},
      {"scaleDown with previous events preventing further scale down",
       100,
       0,
       1,
       1000,
       def,
       Rules(0, 0, 10, 120),
       {},
       {10, 10, 10},
       100,
       "ScaleDownLimit"},
      {"scaleDown with with previous events still allowing more scale down",
       10,
       5,
       1,
       1000,
       def,
       Rules(0, 0, 1000, 120),
       {},
       {10, 10, 10},
       5,
       "DesiredWithinRange"},
      // The 'outdated' flag is not consulted by the rate limits (six cases, up and down).
      {"check 'outdated' flag for events for one behavior for up",
       100,
       200,
       1,
       1000,
       Rules(1000, 60, 0, 0),
       def,
       {8, 12, 9, 11},
       {},
       200,
       "DesiredWithinRange"},
      {"check that events were not marked 'outdated' for two different policies in the "
       "behavior for up",
       100,
       200,
       1,
       1000,
       Rules(1000, 120, 100, 60),
       def,
       {8, 12, 9, 11},
       {},
       200,
       "DesiredWithinRange"},
      {"check that events were marked 'outdated' for two different policies in the behavior "
       "for up",
       100,
       200,
       1,
       1000,
       Rules(1000, 30, 100, 60),
       def,
       {8, 12, 9, 11},
       {},
       200,
       "DesiredWithinRange"},
      {"check 'outdated' flag for events for one behavior for down",
       100,
       5,
       1,
       1000,
       def,
       Rules(1000, 60, 0, 0),
       {},
       {8, 12, 9, 11},
       5,
       "DesiredWithinRange"},
      {"check that events were not marked 'outdated' for two different policies in the "
       "behavior for down",
       100,
       5,
       1,
       1000,
       def,
       Rules(1000, 120, 100, 60),
       {},
       {8, 12, 9, 11},
       5,
       "DesiredWithinRange"},
      {"check that events were marked 'outdated' for two different policies in the behavior "
       "for down",
       100,
       5,
       1,
       1000,
       def,
       Rules(1000, 30, 100, 60),
       {},
       {8, 12, 9, 11},
       5,
       "DesiredWithinRange"},
      // Upstream marks this case testThis and its loop skips it; the value follows the same
      // algorithm, so it runs here.
      {"scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined "
       "policies",
       1000,
       3,
       1,
       1000,
       def,
       Rules(20, 60, 0, 0),
       {},
       {},
       980,
       "ScaleDownLimit"},
  };
}

std::string TestName(const char* name) {
  std::string out;
  for (const char* p = name; *p; ++p) {
    out += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(TestScalingWithRules, ScalingWithRules, testing::ValuesIn(RateCases()),
                         [](const auto& test_info) { return TestName(test_info.param.name); });

TEST(NormalizeTest, DisabledScaleUpHoldsCurrent) {
  ScalingRules up = DefaultScaleUpRules();
  up.select_policy = SelectPolicy::kDisabled;
  ScalingRules down = DefaultScaleDownRules();
  NormalizationArgs args{&up, &down, 1, 10, 3, 8};
  Limited l = ConvertDesiredReplicasWithBehaviorRate(args, {}, {}, kNow);
  EXPECT_EQ(l.replicas, 3);
  EXPECT_EQ(l.reason, "ScaleUpLimit");
}

struct StabilizeCase {
  const char* name;
  std::vector<std::pair<int32_t, core::Duration>> recs;
  int32_t current;
  int32_t desired;
  int32_t up_window;
  int32_t down_window;
  int32_t expected;
  std::vector<int32_t> stored;  // empty: not checked
};
void PrintTo(const StabilizeCase& c, std::ostream* os) { *os << c.name; }

class NormalizeWithBehavior : public testing::TestWithParam<StabilizeCase> {};

TEST_P(NormalizeWithBehavior, MatchesUpstream) {
  const StabilizeCase& c = GetParam();
  std::vector<Recommendation> recs;
  for (auto [v, age] : c.recs) recs.push_back({v, kNow - age});
  ScalingRules up = DefaultScaleUpRules();
  up.stabilization_window_seconds = c.up_window;
  ScalingRules down = DefaultScaleDownRules();
  down.stabilization_window_seconds = c.down_window;
  NormalizationArgs args{&up, &down, 0, 1000, c.current, c.desired};
  Limited l = StabilizeRecommendationWithBehaviors(&recs, args, kNow);
  EXPECT_EQ(l.replicas, c.expected);
  if (!c.stored.empty()) {
    std::vector<int32_t> stored;
    for (const auto& r : recs) stored.push_back(r.replicas);
    EXPECT_EQ(stored, c.stored);
  }
}

INSTANTIATE_TEST_SUITE_P(
    TestNormalizeDesiredReplicasWithBehavior, NormalizeWithBehavior,
    testing::Values(
        StabilizeCase{"empty recommendations for scaling down", {}, 100, 5, 0, 0, 5, {5}},
        StabilizeCase{"simple scale down stabilization",
                      {{4, minutes(2)}, {5, minutes(1)}},
                      100,
                      3,
                      0,
                      180,
                      5,
                      {4, 5, 3}},
        StabilizeCase{"simple scale up stabilization",
                      {{4, minutes(2)}, {5, minutes(1)}},
                      1,
                      7,
                      300,
                      0,
                      4,
                      {4, 5, 7}},
        StabilizeCase{"no scale down stabilization",
                      {{1, minutes(2)}, {2, minutes(1)}},
                      100,
                      3,
                      300,
                      0,
                      3,
                      {1, 2, 3}},
        StabilizeCase{"no scale up stabilization",
                      {{4, minutes(2)}, {5, minutes(1)}},
                      1,
                      3,
                      0,
                      300,
                      3,
                      {4, 5, 3}},
        StabilizeCase{"no scale down stabilization, reuse recommendation element",
                      {{10, minutes(10)}, {9, minutes(9)}},
                      100,
                      3,
                      0,
                      0,
                      3,
                      {10, 3}},
        StabilizeCase{"no scale up stabilization, reuse recommendation element",
                      {{10, minutes(10)}, {9, minutes(9)}},
                      1,
                      100,
                      0,
                      0,
                      100,
                      {10, 100}},
        StabilizeCase{"scale down stabilization, reuse one of obsolete recommendation element",
                      {{10, minutes(10)}, {4, minutes(1)}, {5, minutes(2)}, {9, minutes(9)}},
                      100,
                      3,
                      0,
                      180,
                      5,
                      {10, 4, 5, 3}},
        StabilizeCase{"scale up stabilization, reuse one of obsolete recommendation element",
                      {{10, minutes(100)}, {6, minutes(1)}, {5, minutes(2)}, {9, minutes(3)}},
                      1,
                      100,
                      300,
                      0,
                      5,
                      {100, 6, 5, 9}},
        StabilizeCase{"scale up and down stabilization, do not scale up when prenormalized rec "
                      "goes down",
                      {{2, minutes(100)}, {3, minutes(3)}},
                      2,
                      1,
                      300,
                      300,
                      2,
                      {}},
        StabilizeCase{"scale up and down stabilization, do not scale down when prenormalized "
                      "rec goes up",
                      {{2, minutes(100)}, {1, minutes(3)}},
                      2,
                      3,
                      300,
                      300,
                      2,
                      {}}),
    [](const auto& test_info) { return TestName(test_info.param.name); });

struct StoreCase {
  const char* name;
  std::vector<std::tuple<int32_t, int, bool>> prev;  // change, age seconds, outdated
  std::optional<Behavior> behavior;
  std::vector<std::pair<int32_t, bool>> expected;  // change, outdated
  int32_t change_60s;
};
void PrintTo(const StoreCase& c, std::ostream* os) { *os << c.name; }

Behavior TwoPolicies(int32_t pods_period, int32_t percent_period) {
  Behavior b{Rules(10, pods_period, 100, percent_period),
             Rules(10, pods_period, 100, percent_period)};
  return b;
}

class StoreScaleEvents : public testing::TestWithParam<StoreCase> {};

TEST_P(StoreScaleEvents, MatchesUpstreamUpAndDown) {
  const StoreCase& c = GetParam();
  for (bool up : {true, false}) {
    std::vector<ScaleEvent> events;
    for (auto [v, age, outdated] : c.prev) events.push_back({v, kNow - seconds(age), outdated});
    EXPECT_EQ(GetReplicasChangePerPeriod(60, events, kNow), c.change_60s);
    std::vector<ScaleEvent> other;
    const Behavior* b = c.behavior ? &*c.behavior : nullptr;
    if (up) {
      StoreScaleEvent(b, &events, &other, 5, 10, kNow);  // scale up by 5
    } else {
      StoreScaleEvent(b, &other, &events, 10, 5, kNow);  // scale down by 5
    }
    std::vector<std::pair<int32_t, bool>> got;
    for (const auto& e : events) got.push_back({e.replica_change, e.outdated});
    EXPECT_EQ(got, c.expected) << (up ? "up" : "down");
    EXPECT_TRUE(other.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    TestStoreScaleEvents, StoreScaleEvents,
    testing::Values(
        StoreCase{"empty entries with default behavior", {}, std::nullopt, {}, 0},
        StoreCase{
            "empty entries with two-policy-behavior", {}, TwoPolicies(60, 60), {{5, false}}, 0},
        StoreCase{"one outdated entry to be kept untouched without behavior",
                  {{7, 61, false}},
                  std::nullopt,
                  {{7, false}},
                  0},
        StoreCase{"one outdated entry to be replaced with behavior",
                  {{7, 61, false}},
                  TwoPolicies(60, 60),
                  {{5, false}},
                  0},
        StoreCase{"one actual entry to be not touched with behavior",
                  {{7, 58, false}},
                  TwoPolicies(60, 60),
                  {{7, false}, {5, false}},
                  7},
        StoreCase{"two entries, one of them to be replaced",
                  {{7, 61, false}, {6, 59, false}},
                  Behavior{Rules(10, 60, 0, 0), Rules(10, 60, 0, 0)},
                  {{5, false}, {6, false}},
                  6},
        StoreCase{"replace one entry, use policies with different periods",
                  {{8, 29, false}, {6, 59, false}, {7, 61, false}, {9, 61, false}},
                  TwoPolicies(60, 30),
                  {{8, false}, {6, false}, {7, true}, {5, false}},
                  14},
        StoreCase{"two entries, both actual",
                  {{7, 58, false}, {6, 59, false}},
                  TwoPolicies(120, 30),
                  {{7, false}, {6, false}, {5, false}},
                  13}),
    [](const auto& test_info) { return TestName(test_info.param.name); });

}  // namespace
}  // namespace gpuscale::hpa
