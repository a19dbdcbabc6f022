#include "hpa/quantity.h"

#include <gtest/gtest.h>

#include <limits>

namespace gpuscale::hpa {
namespace {

TEST(QuantityTest, MilliValueRoundsUp) {
  struct Case {
    const char* text;
    int64_t milli;
  } cases[] = {
      {"20", 20000},     {"500m", 500},     {"1.5", 1500},
      {"0.0001", 1},     {"1.5k", 1500000}, {"10Gi", 10737418240000},
      {"1Ki", 1024000},  {"1e3", 1000000},  {"2E-3", 2},
      {"0", 0},          {"+3", 3000},      {"-500m", -500},
      {"100n", 1},       {"1u", 1},         {"6666m", 6666},
      {".5", 500},       {"5.", 5000},      {"1M", 1000000000},
      {"0.5Ki", 512000}, {"-0.0001", 0},
  };
  for (const auto& c : cases) {
    auto v = ParseMilliQuantity(c.text);
    ASSERT_TRUE(v.ok()) << c.text << ": " << v.error().message;
    EXPECT_EQ(*v, c.milli) << c.text;
  }
}

TEST(QuantityTest, SaturatesAtInt64) {
  EXPECT_EQ(*ParseMilliQuantity("100E"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*ParseMilliQuantity("9223372036854775807"), std::numeric_limits<int64_t>::max());
}

TEST(QuantityTest, RejectsMalformed) {
  for (const char* bad : {"", "abc", "1.2.3", "10K", "1Xi", "m", "1e", "1ee", "--1", "1 "}) {
    auto v = ParseMilliQuantity(bad);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_NE(v.error().message.find("invalid quantity"), std::string::npos);
  }
}

TEST(QuantityTest, FormatsLikeNewMilliQuantity) {
  EXPECT_EQ(FormatMilliQuantity(20666), "20666m");
  EXPECT_EQ(FormatMilliQuantity(20000), "20");
  EXPECT_EQ(FormatMilliQuantity(6667), "6667m");
  EXPECT_EQ(FormatMilliQuantity(1500), "1500m");
  EXPECT_EQ(FormatMilliQuantity(2000000), "2k");
  EXPECT_EQ(FormatMilliQuantity(0), "0");
  EXPECT_EQ(FormatMilliQuantity(-3000), "-3");
  EXPECT_EQ(FormatMilliQuantityBinary(1024000), "1Ki");
  EXPECT_EQ(FormatMilliQuantityBinary(512000), "512");
  EXPECT_EQ(FormatMilliQuantityBinary(1500), "1500m");
  EXPECT_EQ(FormatMilliQuantityBinary(10737418240000), "10Gi");
}

}  // namespace
}  // namespace gpuscale::hpa
