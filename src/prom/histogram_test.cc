#include <gtest/gtest.h>

#include <cmath>

#include "prom/exposition.h"

namespace gpuscale::prom {
namespace {

TEST(HistogramTest, CountsCumulativelyWithUpperBoundsInclusive) {
  Histogram h({0.005, 0.5, 1, 1e6});
  for (double v : {0.001, 0.005, 0.2, 1.0, 3.0, 2e6}) h.Observe(v);
  EXPECT_EQ(h.CumulativeCount(0), 2u);
  EXPECT_EQ(h.CumulativeCount(1), 3u);
  EXPECT_EQ(h.CumulativeCount(2), 4u);
  EXPECT_EQ(h.CumulativeCount(3), 5u);
  EXPECT_EQ(h.CumulativeCount(4), 6u);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_DOUBLE_EQ(h.sum(), 0.001 + 0.005 + 0.2 + 1.0 + 3.0 + 2e6);
}

TEST(HistogramTest, RendersPrometheusLayoutWithGoFormattedLe) {
  Histogram h({0.005, 1, 1e6});
  h.Observe(0.5);
  h.Observe(2);
  std::string text;
  h.AppendText("lat_seconds", {{"model", "m"}}, &text);
  EXPECT_EQ(text,
            "lat_seconds_bucket{model=\"m\",le=\"0.005\"} 0\n"
            "lat_seconds_bucket{model=\"m\",le=\"1\"} 1\n"
            "lat_seconds_bucket{model=\"m\",le=\"1e+06\"} 2\n"
            "lat_seconds_bucket{model=\"m\",le=\"+Inf\"} 2\n"
            "lat_seconds_sum{model=\"m\"} 2.5\n"
            "lat_seconds_count{model=\"m\"} 2\n");
  // The struct form renders to the same text.
  MetricFamily f{"lat_seconds", "", MetricType::kHistogram, {}};
  h.AppendSamples("lat_seconds", {{"model", "m"}}, &f.samples);
  EXPECT_EQ(Render({f}), "# TYPE lat_seconds histogram\n" + text);
}

TEST(HistogramTest, NanGoesToInfBucketOnlyAndResetClears) {
  Histogram h(DefaultBuckets());
  ASSERT_EQ(h.upper_bounds().size(), 11u);
  h.Observe(std::nan(""));
  EXPECT_EQ(h.CumulativeCount(10), 0u);
  EXPECT_EQ(h.CumulativeCount(11), 1u);
  EXPECT_TRUE(std::isnan(h.sum()));
  h.Reset();
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0);
  EXPECT_EQ(h.CumulativeCount(11), 0u);
}

TEST(HistogramDeathTest, RejectsUnsortedBounds) {
  EXPECT_DEATH(Histogram({1, 0.5}), "check failed");
}

}  // namespace
}  // namespace gpuscale::prom
