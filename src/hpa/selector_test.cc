#include "hpa/selector.h"

#include <gtest/gtest.h>

namespace gpuscale::hpa {
namespace {

TEST(SelectorTest, MatchesEveryOperator) {
  auto s = Selector::Parse("app=web, tier in (a,b),env!=prod,!canary,zone,x notin (1)");
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_TRUE(s->Matches({{"app", "web"}, {"tier", "a"}, {"env", "dev"}, {"zone", "z"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"tier", "c"}, {"zone", "z"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"tier", "a"}, {"env", "prod"}, {"zone", "z"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"tier", "a"}, {"canary", ""}, {"zone", "z"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"tier", "a"}}));
  EXPECT_FALSE(s->Matches({{"app", "web"}, {"tier", "a"}, {"zone", "z"}, {"x", "1"}}));
}

TEST(SelectorTest, EmptyMatchesEverything) {
  auto s = Selector::Parse("");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches({}));
}

TEST(SelectorTest, RejectsGarbageNamingTheSpot) {
  auto s = Selector::Parse("cheddar cheese");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message,
            "unable to parse requirement: at column 9: found 'cheese', expected: ',' or 'end of "
            "string'");
  EXPECT_FALSE(Selector::Parse("a in (b").ok());
  EXPECT_FALSE(Selector::Parse("=x").ok());
}

}  // namespace
}  // namespace gpuscale::hpa
