#include "adapter/naming.h"

#include <gtest/gtest.h>

namespace gpuscale::adapter {
namespace {

std::string Name(std::string matches, std::string as, std::string_view series) {
  auto m = NameMatcher::Create(NameMapping{std::move(matches), std::move(as), {}, {}});
  if (!m.ok()) return "ERROR: " + m.error().message;
  auto n = m->MetricName(series);
  return n ? *n : "NO MATCH";
}

TEST(AdapterNaming, DefaultAs) {
  EXPECT_EQ(Name("", "", "http_requests_total"), "http_requests_total");
  EXPECT_EQ(Name("^(.*)_total$", "", "http_requests_total"), "http_requests");
  EXPECT_EQ(Name("^container_(.*)_seconds_total$", "", "container_cpu_usage_seconds_total"),
            "cpu_usage");
  EXPECT_EQ(Name("^(?P<base>.*)_total$", "", "x_total"), "x");
  EXPECT_EQ(
      Name("(a)(b)", "", "ab"),
      "ERROR: must specify an 'as' value for name matcher \"(a)(b)\": it has 2 capture groups");
}

TEST(AdapterNaming, GoExpandPitfalls) {
  // $1_per_second names group "1_per_second": empty.
  EXPECT_EQ(Name("^(.*)_total$", "$1_per_second", "http_requests_total"), "");
  EXPECT_EQ(Name("^(.*)_total$", "${1}_per_second", "http_requests_total"),
            "http_requests_per_second");
  EXPECT_EQ(Name("^(.*)_total$", "$$1", "a_total"), "$1");
  EXPECT_EQ(Name("^(.*)_total$", "cost_$", "a_total"), "cost_$");
  EXPECT_EQ(Name("^(.*)_total$", "${1", "a_total"), "${1");
  EXPECT_EQ(Name("^(.*)_total$", "$2x", "a_total"), "");
  EXPECT_EQ(Name("^(.*)_total$", "a-$1-b", "q_total"), "a-q-b");
  EXPECT_EQ(Name("^(?P<base>.*)_total$", "${base}_rate", "q_total"), "q_rate");
  EXPECT_EQ(Name("^(?P<base>.*)_total$", "$base.rate", "q_total"), "q.rate");
  // Unanchored: $0 is only the matched part; the output is only the expanded template.
  EXPECT_EQ(Name("requests", "", "http_requests_total"), "requests");
  EXPECT_EQ(
      Name("vllm:num_requests_running", "vllm_num_requests_running", "vllm:num_requests_running"),
      "vllm_num_requests_running");
  EXPECT_EQ(Name("^foo$", "", "bar"), "NO MATCH");
  // An optional group that did not take part expands to "".
  EXPECT_EQ(Name("^(a)?(b)$", "[$1][$2]", "b"), "[][b]");
}

TEST(AdapterNaming, Warnings) {
  EXPECT_TRUE(AsTemplateWarnings("${1}_per_second").empty());
  EXPECT_TRUE(AsTemplateWarnings("$1").empty());
  EXPECT_TRUE(AsTemplateWarnings("$$1_x").empty());
  EXPECT_EQ(AsTemplateWarnings("$1_rate").size(), 1u);
}

TEST(AdapterNaming, SeriesFiltersAreUnanchoredAndAnded) {
  auto f = SeriesFilterSet::Create({SeriesFilter{false, "^container_.*_seconds_total$", {}}},
                                   "^container_(.*)_total$");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Passes("container_network_receive_bytes_total"));
  EXPECT_FALSE(f->Passes("container_cpu_usage_seconds_total"));
  EXPECT_FALSE(f->Passes("container_memory_working_set_bytes"));
  auto g = SeriesFilterSet::Create({SeriesFilter{true, "total", {}}}, "");
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->Passes("a_total_b"));
  EXPECT_FALSE(SeriesFilterSet::Create({SeriesFilter{true, "(", {}}}, "").ok());
}

}  // namespace
}  // namespace gpuscale::adapter
