#include "load/arrivals.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

namespace gpuscale::load {
namespace {

std::vector<double> Offsets(ArrivalProcess& p, std::size_t n, double until_s = 1e18) {
  std::vector<double> out;
  while (out.size() < n) {
    auto a = p.Next();
    if (!a || core::ToSeconds(a->offset) > until_s) break;
    out.push_back(core::ToSeconds(a->offset));
  }
  return out;
}

TEST(ArrivalsTest, ConstantRateStartsAtZeroWithFixedGaps) {
  auto p = MakeConstantArrivals(4.0);
  auto t = Offsets(*p, 9);
  ASSERT_EQ(t.size(), 9u);
  for (std::size_t i = 0; i < t.size(); ++i) EXPECT_NEAR(t[i], 0.25 * i, 1e-9);
}

TEST(ArrivalsTest, PoissonGapsAreExponential) {
  const double rate = 50;
  auto p = MakePoissonArrivals(rate, core::Rng(7));
  auto t = Offsets(*p, 20001);
  std::vector<double> gaps;
  for (std::size_t i = 1; i < t.size(); ++i) gaps.push_back(t[i] - t[i - 1]);
  double mean = std::accumulate(gaps.begin(), gaps.end(), 0.0) / gaps.size();
  double var = 0;
  for (double g : gaps) var += (g - mean) * (g - mean);
  var /= gaps.size() - 1;
  double cv = std::sqrt(var) / mean;
  EXPECT_NEAR(mean, 1 / rate, 0.03 / rate);
  EXPECT_NEAR(cv, 1.0, 0.03);
  // Memorylessness: P(gap > mean) = e^-1.
  double over = std::count_if(gaps.begin(), gaps.end(), [&](double g) { return g > 1 / rate; });
  EXPECT_NEAR(over / gaps.size(), std::exp(-1.0), 0.015);
  // Counts in 1 s windows: Poisson with variance equal to the mean.
  std::vector<int> counts(static_cast<std::size_t>(t.back()), 0);
  for (double x : t) {
    if (static_cast<std::size_t>(x) < counts.size()) ++counts[static_cast<std::size_t>(x)];
  }
  double cm = std::accumulate(counts.begin(), counts.end(), 0.0) / counts.size();
  double cvar = 0;
  for (int c : counts) cvar += (c - cm) * (c - cm);
  cvar /= counts.size() - 1;
  EXPECT_NEAR(cvar / cm, 1.0, 0.25);
}

TEST(ArrivalsTest, PoissonIsReproducibleFromTheSeed) {
  auto a = MakePoissonArrivals(10, core::Rng(42));
  auto b = MakePoissonArrivals(10, core::Rng(42));
  auto c = MakePoissonArrivals(10, core::Rng(43));
  auto ta = Offsets(*a, 100), tb = Offsets(*b, 100), tc = Offsets(*c, 100);
  EXPECT_EQ(ta, tb);
  EXPECT_NE(ta, tc);
}

TEST(ArrivalsTest, GammaBurstinessKeepsTheMeanAndChangesTheSpread) {
  for (double shape : {0.25, 1.0, 4.0}) {
    auto p = MakeGammaArrivals(20, shape, core::Rng(3));
    auto t = Offsets(*p, 20001);
    std::vector<double> gaps;
    for (std::size_t i = 1; i < t.size(); ++i) gaps.push_back(t[i] - t[i - 1]);
    double mean = std::accumulate(gaps.begin(), gaps.end(), 0.0) / gaps.size();
    double var = 0;
    for (double g : gaps) var += (g - mean) * (g - mean);
    var /= gaps.size() - 1;
    EXPECT_NEAR(mean, 0.05, 0.003) << shape;
    EXPECT_NEAR(std::sqrt(var) / mean, 1 / std::sqrt(shape), 0.08 / std::sqrt(shape)) << shape;
  }
}

TEST(ArrivalsTest, LinearRampCountsFollowTheIntegralOfTheRate) {
  // 0 → 10 req/s over 10 s: 50 requests in the ramp, then 10/s.
  auto p = MakeRampArrivals(0, 10, std::chrono::seconds(10), false, core::Rng(1));
  auto t = Offsets(*p, 1000, 20.0 - 1e-9);
  std::size_t in_ramp = std::count_if(t.begin(), t.end(), [](double x) { return x < 10; });
  EXPECT_NEAR(static_cast<double>(in_ramp), 50, 1);
  EXPECT_NEAR(static_cast<double>(t.size()), 150, 1);
  // The n-th arrival of the ramp is at sqrt(2n), since the cumulative rate is t^2/2.
  EXPECT_NEAR(t[8], 4.0, 1e-6);
  for (std::size_t i = 1; i < t.size(); ++i) EXPECT_LE(t[i - 1], t[i]);
  // Down-ramps work too.
  auto down = MakeRampArrivals(10, 0, std::chrono::seconds(10), false, core::Rng(1));
  auto td = Offsets(*down, 1000);
  EXPECT_NEAR(static_cast<double>(td.size()), 50, 1);  // ends: the last rate is 0
}

TEST(ArrivalsTest, PoissonRampHasTheRightCountsPerPhase) {
  auto p = MakeRampArrivals(10, 100, std::chrono::seconds(20), true, core::Rng(5));
  auto t = Offsets(*p, 100000, 20.0);
  std::size_t first = std::count_if(t.begin(), t.end(), [](double x) { return x < 10; });
  // Expected: ∫0^10 (10 + 4.5 t) dt = 325 and ∫10^20 = 775.
  EXPECT_NEAR(static_cast<double>(first), 325, 4 * std::sqrt(325));
  EXPECT_NEAR(static_cast<double>(t.size() - first), 775, 4 * std::sqrt(775));
}

TEST(ArrivalsTest, StepsChangeTheRateAtEachBoundary) {
  auto steps = ParseSteps("2:5s,0:5s,10:2s");
  ASSERT_TRUE(steps.ok()) << steps.error().ToString();
  auto p = MakeStepArrivals(*steps, false, core::Rng(1));
  auto t = Offsets(*p, 1000, 14.0 - 1e-9);
  auto in = [&](double a, double b) {
    return std::count_if(t.begin(), t.end(), [&](double x) { return x >= a && x < b; });
  };
  EXPECT_EQ(in(0, 5), 10);
  EXPECT_EQ(in(5, 10), 0);
  EXPECT_EQ(in(10, 12), 20);
  EXPECT_EQ(in(12, 14), 20);  // the last step holds
}

TEST(ArrivalsTest, ParseStepsNamesTheBadItem) {
  auto s = ParseSteps("1:10s,x:5s");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("steps[1] 'x:5s'"), std::string::npos) << s.error().message;
  EXPECT_FALSE(ParseSteps("5").ok());
  EXPECT_FALSE(ParseSteps("5:0s").ok());
  EXPECT_FALSE(ParseSteps("5:soon").ok());
}

Trace SmallTrace() {
  Trace t;
  t.records = {{core::Duration::zero(), 100, 10},
               {core::FromSeconds(1.5), 200, 20},
               {core::FromSeconds(4), 300, 30}};
  return t;
}

TEST(ArrivalsTest, TraceReplayKeepsTimingAndTokens) {
  Trace trace = SmallTrace();
  auto p = MakeTraceArrivals(trace, {}, core::Rng(1));
  for (const TraceRecord& r : trace.records) {
    auto a = p->Next();
    ASSERT_TRUE(a);
    EXPECT_EQ(a->offset, r.offset);
    EXPECT_EQ(a->prompt_tokens, r.context_tokens);
    EXPECT_EQ(a->output_tokens, r.generated_tokens);
  }
  EXPECT_FALSE(p->Next());
}

TEST(ArrivalsTest, TraceTimeScaleStretchesAndRateScaleMultiplies) {
  Trace trace = SmallTrace();
  auto fast = MakeTraceArrivals(trace, {.time_scale = 0.5}, core::Rng(1));
  auto t = Offsets(*fast, 10);
  EXPECT_EQ(t, (std::vector<double>{0, 0.75, 2}));

  auto doubled = MakeTraceArrivals(trace, {.rate_scale = 2}, core::Rng(1));
  auto d = Offsets(*doubled, 10);
  EXPECT_EQ(d, (std::vector<double>{0, 0, 1.5, 1.5, 4, 4}));

  Trace big;
  for (int i = 0; i < 10000; ++i) big.records.push_back({core::FromSeconds(i * 0.01), 1, 1});
  auto thin = MakeTraceArrivals(big, {.rate_scale = 0.3}, core::Rng(9));
  auto th = Offsets(*thin, 100000);
  EXPECT_NEAR(static_cast<double>(th.size()), 3000, 150);
}

}  // namespace
}  // namespace gpuscale::load
