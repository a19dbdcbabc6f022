#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "prom/exposition.h"

namespace gpuscale::prom {
namespace {

using ::testing::HasSubstr;

TEST(FormatValueTest, MatchesGoShortestGFormat) {
  // Expected strings are what Go's strconv.FormatFloat(v, 'g', -1, 64) prints.
  struct Case {
    double v;
    const char* want;
  } cases[] = {
      {0, "0"},
      {-0.0, "-0"},
      {1, "1"},
      {-1, "-1"},
      {0.005, "0.005"},
      {0.1, "0.1"},
      {2.5, "2.5"},
      {123456, "123456"},
      {999999, "999999"},
      {1e6, "1e+06"},
      {1234567, "1.234567e+06"},
      {123456789, "1.23456789e+08"},
      {0.0001, "0.0001"},
      {0.00001, "1e-05"},
      {0.000123, "0.000123"},
      {1.5e-7, "1.5e-07"},
      {1e21, "1e+21"},
      {1e100, "1e+100"},
      {-2.5e-300, "-2.5e-300"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {5e-324, "5e-324"},
      {0.30000000000000004, "0.30000000000000004"},
      {100000.5, "100000.5"},
      {12345.678, "12345.678"},
      {std::numeric_limits<double>::infinity(), "+Inf"},
      {-std::numeric_limits<double>::infinity(), "-Inf"},
      {std::numeric_limits<double>::quiet_NaN(), "NaN"},
  };
  for (const Case& c : cases) EXPECT_EQ(FormatValue(c.v), c.want) << c.want;
}

TEST(TextWriterTest, EscapesLabelValues) {
  std::string out;
  AppendSample("m", {{"k", "a\"b\\c\nd"}}, 1, std::nullopt, &out);
  EXPECT_EQ(out, "m{k=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(TextWriterTest, EscapesHelpButNotQuotes) {
  std::string out;
  AppendHeader("m", "a \"q\" \\ and\nnext", MetricType::kGauge, &out);
  EXPECT_EQ(out, "# HELP m a \"q\" \\\\ and\\nnext\n# TYPE m gauge\n");
}

TEST(TextWriterTest, OmitsEmptyHelpButAlwaysWritesType) {
  std::string out;
  AppendFamily({"up", "", MetricType::kUntyped, {{"up", {}, 1, std::nullopt}}}, &out);
  EXPECT_EQ(out, "# TYPE up untyped\nup 1\n");
}

TEST(TextWriterTest, KeepsLabelOrderAndWritesTimestamps) {
  MetricFamily f{"DCGM_FI_DEV_GPU_UTIL",
                 "GPU utilization (in %).",
                 MetricType::kGauge,
                 {{"DCGM_FI_DEV_GPU_UTIL",
                   {{"gpu", "0"}, {"UUID", "GPU-1"}, {"device", "nvidia0"}},
                   42,
                   1700000000123}}};
  EXPECT_EQ(Render({f}),
            "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n"
            "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
            "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-1\",device=\"nvidia0\"} 42 "
            "1700000000123\n");
}

TEST(TextWriterTest, WritesSpecialValues) {
  std::string out;
  AppendSample("m", {}, std::numeric_limits<double>::infinity(), std::nullopt, &out);
  AppendSample("m", {}, -std::numeric_limits<double>::infinity(), -5, &out);
  AppendSample("m", {}, std::nan(""), std::nullopt, &out);
  EXPECT_EQ(out, "m +Inf\nm -Inf -5\nm NaN\n");
}

TEST(TextWriterTest, ExtraLabelGoesLast) {
  std::string out;
  AppendSample("h_bucket", {}, {"le", "0.5"}, 3, std::nullopt, &out);
  AppendSample("h_bucket", {{"a", "b"}}, {"le", "+Inf"}, 4, std::nullopt, &out);
  EXPECT_EQ(out, "h_bucket{le=\"0.5\"} 3\nh_bucket{a=\"b\",le=\"+Inf\"} 4\n");
}

TEST(TextWriterTest, ValidatesNames) {
  EXPECT_TRUE(IsValidMetricName("vllm:num_requests_running"));
  EXPECT_TRUE(IsValidMetricName("_x9"));
  EXPECT_FALSE(IsValidMetricName("9x"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_TRUE(IsValidLabelName("UUID"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1a"));
}

TEST(TextWriterTest, TypeNames) {
  EXPECT_EQ(MetricTypeName(MetricType::kCounter), "counter");
  EXPECT_EQ(MetricTypeName(MetricType::kGauge), "gauge");
  EXPECT_EQ(MetricTypeName(MetricType::kHistogram), "histogram");
  EXPECT_EQ(MetricTypeName(MetricType::kSummary), "summary");
  EXPECT_EQ(MetricTypeName(MetricType::kUntyped), "untyped");
}

}  // namespace
}  // namespace gpuscale::prom
