#include "load/openai.h"

#include <gtest/gtest.h>

#include <sstream>

namespace gpuscale::load {
namespace {

TEST(OpenAiTest, ChatBodyWithEverything) {
  BodyOptions o{
      .api = Api::kChat, .model = "m\"1", .stream = true, .max_tokens = 64, .ignore_eos = true};
  EXPECT_EQ(BuildBody(o, "hi \"you\""),
            "{\"model\":\"m\\\"1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi "
            "\\\"you\\\"\"}],\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            "\"max_tokens\":64,\"ignore_eos\":true}");
  EXPECT_EQ(ApiPath(Api::kChat), "/v1/chat/completions");
}

TEST(OpenAiTest, CompletionsBodyMinimal) {
  BodyOptions o{.api = Api::kCompletions, .model = "m"};
  EXPECT_EQ(BuildBody(o, "p"), "{\"model\":\"m\",\"prompt\":\"p\"}");
  EXPECT_EQ(ApiPath(Api::kCompletions), "/v1/completions");
}

TEST(OpenAiTest, SyntheticPromptHasTheWordCount) {
  core::Rng rng(1);
  std::string p = SyntheticPrompt(500, rng);
  std::istringstream in(p);
  int words = 0;
  for (std::string w; in >> w;) ++words;
  EXPECT_EQ(words, 500);
  EXPECT_EQ(SyntheticPrompt(0, rng), "");
}

TEST(OpenAiTest, MaxTokensSpecs) {
  core::Rng rng(1);
  auto fixed = ParseMaxTokens("128");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(SampleMaxTokens(*fixed, -1, rng), 128);
  EXPECT_EQ(SampleMaxTokens(*fixed, 7, rng), 7);  // the trace wins
  auto none = ParseMaxTokens("none");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(SampleMaxTokens(*none, -1, rng), std::nullopt);
  auto uni = ParseMaxTokens("uniform:10:20");
  ASSERT_TRUE(uni.ok());
  for (int i = 0; i < 200; ++i) {
    int v = *SampleMaxTokens(*uni, -1, rng);
    EXPECT_GE(v, 10);
    EXPECT_LE(v, 20);
  }
  auto ln = ParseMaxTokens("lognormal:200:100");
  ASSERT_TRUE(ln.ok());
  double sum = 0;
  for (int i = 0; i < 20000; ++i) sum += *SampleMaxTokens(*ln, -1, rng);
  EXPECT_NEAR(sum / 20000, 200, 5);
  EXPECT_FALSE(ParseMaxTokens("uniform:20:10").ok());
  EXPECT_FALSE(ParseMaxTokens("zipf:1:2").ok());
  EXPECT_FALSE(ParseMaxTokens("0").ok());
  EXPECT_FALSE(ParseMaxTokens("abc").ok());
}

TEST(OpenAiTest, DecodesChatCompletionAndUsageChunks) {
  auto c = DecodeChunk(R"({"id":"x","choices":[{"index":0,"delta":{"content":"Hel"}}]})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->content_pieces, 1);
  EXPECT_FALSE(c->done);
  c = DecodeChunk(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->content_pieces, 0);
  c = DecodeChunk(R"({"choices":[{"index":0,"text":"lo","finish_reason":null}]})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->content_pieces, 1);
  c = DecodeChunk(R"({"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":34}})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->completion_tokens, 34);
  EXPECT_EQ(c->prompt_tokens, 12);
  c = DecodeChunk("[DONE]");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->done);
  c = DecodeChunk(R"({"error":{"message":"boom","code":500}})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->error, "boom");
  auto bad = DecodeChunk("{\"choices\":[");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, core::Code::kDataLoss);
}

TEST(OpenAiTest, DecodesWholeResponses) {
  auto r = DecodeResponse(
      R"({"choices":[{"message":{"content":"x"}}],"usage":{"completion_tokens":5,"prompt_tokens":3}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->completion_tokens, 5);
  EXPECT_EQ(r->prompt_tokens, 3);
  EXPECT_FALSE(DecodeResponse("not json").ok());
  EXPECT_FALSE(DecodeResponse("[1]").ok());
}

}  // namespace
}  // namespace gpuscale::load
