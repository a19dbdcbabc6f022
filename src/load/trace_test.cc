#include "load/trace.h"

#include <gtest/gtest.h>

namespace gpuscale::load {
namespace {

using core::Code;

TEST(TraceTest, ParsesAzureRowsIntoOffsets) {
  auto t = ParseAzureTrace(
      "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"
      "2023-11-16 18:15:46.6805900,374,44\r\n"
      "2023-11-16 18:15:50.9951690,396,109\r\n"
      "2023-11-16 18:15:51.2224670,879,55\r\n");
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  ASSERT_EQ(t->records.size(), 3u);
  EXPECT_EQ(t->records[0].offset, core::Duration::zero());
  EXPECT_EQ(t->records[1].offset, core::Duration(4'314'579'000));
  EXPECT_EQ(t->records[2].offset, core::Duration(4'541'877'000));
  EXPECT_EQ(t->records[2].context_tokens, 879);
  EXPECT_EQ(t->records[2].generated_tokens, 55);
  EXPECT_EQ(t->span(), core::Duration(4'541'877'000));
}

TEST(TraceTest, TimestampIsExactUtc) {
  auto d = ParseTraceTimestamp("1970-01-02 00:00:01.5");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, core::Duration(86'401'500'000'000LL));
  auto leap = ParseTraceTimestamp("2024-03-01 00:00:00");
  auto feb = ParseTraceTimestamp("2024-02-28 00:00:00");
  ASSERT_TRUE(leap.ok() && feb.ok());
  EXPECT_EQ(*leap - *feb, std::chrono::hours(48));
  EXPECT_FALSE(ParseTraceTimestamp("2024-13-01 00:00:00").ok());
  EXPECT_FALSE(ParseTraceTimestamp("yesterday").ok());
}

TEST(TraceTest, ColumnsByNameSecondsTimestampsAndSorting) {
  auto t =
      ParseAzureTrace("GeneratedTokens,TIMESTAMP,ContextTokens,extra\n5,2.5,10,x\n7,1,20,y\n\n");
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  ASSERT_EQ(t->records.size(), 2u);
  EXPECT_EQ(t->records[0].context_tokens, 20);
  EXPECT_EQ(t->records[1].offset, core::FromSeconds(1.5));
  EXPECT_EQ(t->records[1].generated_tokens, 5);
}

TEST(TraceTest, ErrorsNameFileLineAndColumn) {
  auto t = ParseAzureTrace("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,12,x\n",
                           "t.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, Code::kInvalidArgument);
  EXPECT_EQ(t.error().message,
            "t.csv:2:24: GeneratedTokens: expected a non-negative integer, found 'x'");

  t = ParseAzureTrace("TIMESTAMP,ContextTokens,GeneratedTokens\n1,2,3\nnoon,1,1\n", "t.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("t.csv:3:1: TIMESTAMP:"), std::string::npos)
      << t.error().message;

  t = ParseAzureTrace("time,ContextTokens,GeneratedTokens\n", "t.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("t.csv:1:1: header: expected a column 'TIMESTAMP'"),
            std::string::npos);

  t = ParseAzureTrace("TIMESTAMP,ContextTokens,GeneratedTokens\n1,2\n", "t.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("t.csv:2:4: expected 3 columns, found 2"), std::string::npos)
      << t.error().message;

  EXPECT_FALSE(ParseAzureTrace("TIMESTAMP,ContextTokens,GeneratedTokens\n").ok());
  EXPECT_FALSE(ParseAzureTrace("").ok());
  EXPECT_EQ(ReadAzureTrace("/nonexistent/trace.csv").error().code, Code::kNotFound);
}

TEST(TraceTest, ReadsTheShippedAzureConversationTrace) {
  auto t = ReadAzureTrace("../../data/traces/AzureLLMInferenceTrace_conv.csv");
  ASSERT_TRUE(t.ok()) << t.error().ToString();
  EXPECT_EQ(t->records.size(), 19366u);
  double minutes = core::ToSeconds(t->span()) / 60;
  EXPECT_NEAR(minutes, 58.4, 0.1);
  EXPECT_EQ(t->records[0].context_tokens, 374);
  EXPECT_EQ(t->records[0].generated_tokens, 44);
}

}  // namespace
}  // namespace gpuscale::load
