#include "adapter/series_match.h"

#include <gtest/gtest.h>

namespace gpuscale::adapter {
namespace {

TEST(AdapterSeriesSelector, MatchesLikePrometheus) {
  auto s = SeriesSelector::Parse(
      "{__name__=~\"^container_.*\",container!=\"POD\",namespace!=\"\",pod!=\"\"}");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->Matches(
      {{"__name__", "container_cpu"}, {"container", "c"}, {"namespace", "n"}, {"pod", "p"}}));
  EXPECT_FALSE(s->Matches(
      {{"__name__", "container_cpu"}, {"container", "POD"}, {"namespace", "n"}, {"pod", "p"}}));
  EXPECT_FALSE(s->Matches({{"__name__", "container_cpu"}, {"namespace", "n"}}));
  auto n = SeriesSelector::Parse("vllm:num_requests_running");
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->Matches({{"__name__", "vllm:num_requests_running"}}));
  EXPECT_FALSE(n->Matches({{"__name__", "vllm:num_requests_waiting"}}));
  // Regex matchers are anchored.
  auto r = SeriesSelector::Parse("{__name__=~\"http_.*\"}");
  EXPECT_FALSE(r->Matches({{"__name__", "x_http_y"}}));
  EXPECT_EQ(SeriesSelector::Parse("a{b=}").error().message,
            "selector 'a{b=}' at 4: expected a quoted string");
}

}  // namespace
}  // namespace gpuscale::adapter
