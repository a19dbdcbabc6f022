#include "core/duration.h"

#include <gtest/gtest.h>

namespace gpuscale::core {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, ParsesGoDurations) {
  EXPECT_EQ(*ParseDuration("0"), 0ns);
  EXPECT_EQ(*ParseDuration("1m"), 60s);
  EXPECT_EQ(*ParseDuration("1m30s"), 90s);
  EXPECT_EQ(*ParseDuration("300ms"), 300ms);
  EXPECT_EQ(*ParseDuration("1.5h"), 5400s);
  EXPECT_EQ(*ParseDuration("2us"), 2us);
  EXPECT_EQ(*ParseDuration("-5s"), -5s);
  EXPECT_EQ(*ParseDuration("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
}

TEST(DurationTest, RejectsWithTheText) {
  EXPECT_EQ(ParseDuration("").error().message, "invalid duration \"\": empty");
  EXPECT_EQ(ParseDuration("10").error().message, "invalid duration \"10\": missing unit");
  EXPECT_EQ(ParseDuration("5d").error().message, "invalid duration \"5d\": unknown unit \"d\"");
  EXPECT_EQ(ParseDuration("s").error().message, "invalid duration \"s\": expected a number");
}

TEST(DurationTest, FormatsLikeGo) {
  EXPECT_EQ(FormatDuration(0ns), "0s");
  EXPECT_EQ(FormatDuration(90s), "1m30s");
  EXPECT_EQ(FormatDuration(500ms), "500ms");
  EXPECT_EQ(FormatDuration(1h), "1h0m0s");
  EXPECT_EQ(FormatDuration(1500ms), "1.5s");
}

}  // namespace
}  // namespace gpuscale::core
