#include "exporter/counters.h"

#include <gtest/gtest.h>

namespace gpuscale::exporter {
namespace {

TEST(CountersTest, DefaultSetIsDcgmExporters) {
  CounterSet d = DefaultCounters();
  EXPECT_EQ(d.metrics.size(), 25u);
  ASSERT_EQ(d.labels.size(), 1u);
  EXPECT_EQ(d.labels[0].field->name, "DCGM_FI_DRIVER_VERSION");
  EXPECT_TRUE(d.warnings.empty());
  EXPECT_EQ(d.metrics[0].field->name, "DCGM_FI_DEV_SM_CLOCK");
  EXPECT_EQ(d.metrics[5].field->name, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION");
  EXPECT_EQ(d.metrics[5].type, "counter");
  EXPECT_EQ(d.metrics[10].field->name, "DCGM_FI_DEV_DEC_UTIL");  // "NAME ," is trimmed
  EXPECT_EQ(d.metrics[24].field->name, "DCGM_FI_PROF_PCIE_RX_BYTES");
  for (const Counter& c : d.metrics) EXPECT_EQ(c.help, c.field->help) << c.field->name;
}

TEST(CountersTest, QuotingCommentsAndSpaces) {
  auto s = ParseCounters(
      "# comment\r\n\n  \nDCGM_FI_DEV_GPU_UTIL , gauge ,  \"Busy, in %, \"\"now\"\"\"\r\n"
      "DCGM_FI_PROF_SM_ACTIVE,gauge,x\n",
      "c.csv");
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  ASSERT_EQ(s->metrics.size(), 2u);
  EXPECT_EQ(s->metrics[0].help, "Busy, in %, \"now\"");
  EXPECT_EQ(s->metrics[1].field->name, "DCGM_FI_PROF_SM_ACTIVE");
}

TEST(CountersTest, BadLinesNameFileAndLine) {
  struct Case {
    std::string text, error;
  };
  std::vector<Case> cases = {
      {"DCGM_FI_DEV_GPU_UTIL, gauge\n", "c.csv:1: expected 3 fields (name, type, help), found 2"},
      {"# x\nDCGM_FI_DEV_GPU_UTIL, gauge, a, b\n",
       "c.csv:2: expected 3 fields (name, type, help), found 4"},
      {"DCGM_FI_DEV_GPU_UTIL, gauges, x\n",
       "c.csv:1: DCGM_FI_DEV_GPU_UTIL: unknown metric type 'gauges' (expected gauge, counter, "
       "histogram, summary or label)"},
      {"GPU_UTIL, gauge, x\n", "c.csv:1: 'GPU_UTIL' is not a DCGM field name"},
      {"DCGM_FI_DEV_GPU_UTIL, gauge, x\nDCGM_FI_DEV_GPU_UTIL, gauge, y\n",
       "c.csv:2: DCGM_FI_DEV_GPU_UTIL is listed twice"},
      {"DCGM_FI_DEV_GPU_UTIL, gauge, \"open\n", "c.csv:1: unterminated quoted field"},
      {"DCGM_FI_DEV_GPU_UTIL, gauge, a\"b\n", "c.csv:1: bare \" in an unquoted field"},
  };
  for (const Case& c : cases) {
    auto s = ParseCounters(c.text, "c.csv");
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.error().code, core::Code::kInvalidArgument);
    EXPECT_EQ(s.error().message, c.error);
  }
}

TEST(CountersTest, DcgmFieldsNvmlCannotReadAreSkippedWithAWarning) {
  auto s = ParseCounters(
      "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL, counter, x\nDCGM_FI_DEV_GPU_UTIL, gauge, y\n"
      "DCGM_FI_DEV_SERIAL, label, z\n",
      "c.csv");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->metrics.size(), 1u);
  ASSERT_EQ(s->warnings.size(), 2u);
  EXPECT_EQ(s->warnings[0],
            "c.csv:1: skipping DCGM_FI_DEV_ECC_SBE_VOL_TOTAL: not available through NVML");
}

TEST(CountersTest, ReadCountersReportsMissingFile) {
  auto s = ReadCounters("/nonexistent/counters.csv");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, core::Code::kNotFound);
}

}  // namespace
}  // namespace gpuscale::exporter
