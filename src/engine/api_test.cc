#include "engine/api.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace gpuscale::engine {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string TrimNewline(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

ResponseHead Head(ApiKind kind) {
  ResponseHead h;
  h.kind = kind;
  h.id = std::string(kind == ApiKind::kChat ? "chatcmpl-" : "cmpl-") +
         "0123456789abcdef0123456789abcdef";
  h.created = 1753164476;
  h.model = "google/gemma-3-1b-it";
  return h;
}

// Golden transcripts in testdata/ follow vLLM 0.10's serialisation field by field: the chat
// response is the shape of the real v0.10.0 output in reference §1.5; chunks follow vLLM's
// exclude_unset (chat) and full (completion) chunk serialisation.
TEST(EngineApi, ChatResponseMatchesGolden) {
  std::string text;
  for (int i = 0; i < 3; ++i) text += TokenText(static_cast<std::uint64_t>(i));
  EXPECT_EQ(EncodeResponse(Head(ApiKind::kChat), text, "length", Usage{16, 3}),
            TrimNewline(ReadFile("testdata/chat_response.json")));
}

TEST(EngineApi, ChatStreamMatchesGolden) {
  ResponseHead h = Head(ApiKind::kChat);
  std::string out;
  AppendSseData(EncodeChunk(h, "", "", /*role_chunk=*/true), &out);
  for (int i = 0; i < 3; ++i) {
    AppendSseData(EncodeChunk(h, TokenText(static_cast<std::uint64_t>(i)), i == 2 ? "length" : ""),
                  &out);
  }
  AppendSseData(EncodeUsageChunk(h, Usage{16, 3}), &out);
  AppendSseData("[DONE]", &out);
  EXPECT_EQ(out, ReadFile("testdata/chat_stream.txt"));
}

TEST(EngineApi, CompletionResponseAndStreamMatchGolden) {
  ResponseHead h = Head(ApiKind::kCompletion);
  EXPECT_EQ(EncodeResponse(h, " The engine", "stop", Usage{5, 2}),
            TrimNewline(ReadFile("testdata/completion_response.json")));
  std::string out;
  AppendSseData(EncodeChunk(h, TokenText(0), ""), &out);
  AppendSseData(EncodeChunk(h, TokenText(1), "stop"), &out);
  AppendSseData(EncodeUsageChunk(h, Usage{5, 2}), &out);
  AppendSseData("[DONE]", &out);
  EXPECT_EQ(out, ReadFile("testdata/completion_stream.txt"));
}

TEST(EngineApi, ContinuousUsageAddsRunningUsageToChunks) {
  Usage u{16, 1};
  std::string chat = EncodeChunk(Head(ApiKind::kChat), " The", "", false, &u);
  EXPECT_NE(chat.find(R"("usage":{"prompt_tokens":16,"total_tokens":17,"completion_tokens":1})"),
            std::string::npos);
  std::string cmpl = EncodeChunk(Head(ApiKind::kCompletion), " The", "", false, &u);
  EXPECT_NE(cmpl.find(R"("usage":{"prompt_tokens":16,"total_tokens":17,"completion_tokens":1})"),
            std::string::npos);
}

TEST(EngineApi, ModelsAndErrorsMatchGolden) {
  EXPECT_EQ(EncodeModels("google/gemma-3-1b-it", 1753164476, 32768,
                         "modelperm-0123456789abcdef0123456789abcdef"),
            TrimNewline(ReadFile("testdata/models.json")));
  EXPECT_EQ(EncodeError(ModelNotFound("gpt-4")),
            TrimNewline(ReadFile("testdata/error_model_not_found.json")));
  EXPECT_EQ(EncodeError(BadRequest("max_tokens: must be at least 1, got 0")),
            R"({"object":"error","message":"max_tokens: must be at least 1, got 0",)"
            R"("type":"BadRequestError","param":null,"code":400})");
}

TEST(EngineApi, DecodesAChatRequest) {
  auto r = DecodeRequest(ApiKind::kChat, R"({
    "model": "google/gemma-3-1b-it",
    "messages": [{"role": "system", "content": "Be brief."},
                 {"role": "user", "content": [{"type": "text", "text": "Explain quantum computing"}]}],
    "max_completion_tokens": 100, "stream": true,
    "stream_options": {"include_usage": true},
    "temperature": 0.7, "ignore_eos": true, "seed": 3})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "google/gemma-3-1b-it");
  EXPECT_EQ(r->max_tokens, 100);
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_FALSE(r->continuous_usage_stats);
  EXPECT_TRUE(r->ignore_eos);
  EXPECT_EQ(r->seed, 3u);
  EXPECT_EQ(r->last_text, "Explain quantum computing");
  // 3 (assistant prefix) + (4 + ceil(9/4)=3) + (4 + ceil(25/4)=7).
  EXPECT_EQ(r->prompt_tokens, 21);
}

TEST(EngineApi, DecodesCompletionPrompts) {
  auto text = DecodeRequest(ApiKind::kCompletion, R"({"prompt": "San Francisco is a"})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->prompt_tokens, 5);
  EXPECT_FALSE(text->max_tokens.has_value());
  auto ids = DecodeRequest(ApiKind::kCompletion, R"({"prompt": [1, 2, 3, 4, 5, 6, 7]})");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->prompt_tokens, 7);
  auto nested = DecodeRequest(ApiKind::kCompletion, R"({"prompt": [[1, 2, 3]]})");
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->prompt_tokens, 3);
}

void ExpectError(ApiKind kind, std::string_view body, std::string_view message) {
  auto r = DecodeRequest(kind, body);
  ASSERT_FALSE(r.ok()) << body;
  EXPECT_EQ(r.error().code, core::Code::kInvalidArgument);
  EXPECT_NE(r.error().message.find(message), std::string::npos)
      << "body: " << body << "\nmessage: " << r.error().message;
  EXPECT_EQ(ToApiError(r.error()).status, 400);
}

TEST(EngineApi, RejectsBadRequestsNamingThePlace) {
  ExpectError(ApiKind::kChat, "{\"messages\": [\n  {\"role\": \"user\",, }]}",
              "JSON decode error at 2:");
  ExpectError(ApiKind::kChat, "[1]", "expected a JSON object, found an array");
  ExpectError(ApiKind::kChat, "{}", "messages: Field required");
  ExpectError(ApiKind::kChat, R"({"messages": []})", "messages: List should have at least 1");
  ExpectError(ApiKind::kChat, R"({"messages": [{"content": "hi"}]})",
              "messages[0].role: Field required");
  ExpectError(ApiKind::kChat, R"({"messages": [{"role": "user", "content": 5}]})",
              "messages[0].content: expected a string or an array of parts, found an integer");
  ExpectError(ApiKind::kChat, R"({"messages": [{"role":"user","content":"x"}], "max_tokens": 0})",
              "max_tokens: must be at least 1, got 0");
  ExpectError(ApiKind::kChat,
              R"({"messages": [{"role":"user","content":"x"}], "max_tokens": "ten"})",
              "max_tokens: expected an integer, found a string");
  ExpectError(
      ApiKind::kChat,
      R"({"messages": [{"role":"user","content":"x"}], "stream_options": {"include_usage": true}})",
      "Stream options can only be defined when `stream=True`.");
  ExpectError(ApiKind::kChat, R"({"messages": [{"role":"user","content":"x"}], "stream": "yes"})",
              "stream: expected a boolean, found a string");
  ExpectError(ApiKind::kChat, R"({"messages": [{"role":"user","content":"x"}], "n": 2})",
              "n: only n=1 is supported");
  ExpectError(ApiKind::kChat, R"({"messages": [{"role":"user","content":"x"}], "temperature": -1})",
              "temperature: must be non-negative");
  ExpectError(ApiKind::kCompletion, R"({"model": "m"})", "prompt: Field required");
  ExpectError(ApiKind::kCompletion, R"({"prompt": ["a", "b"]})", "batched prompts");
  ExpectError(ApiKind::kCompletion, R"({"prompt": "a", "suffix": "b"})", "suffix");
  ExpectError(ApiKind::kCompletion, R"({"prompt": [1, "x"]})", "prompt[1]: expected a token id");
  ExpectError(ApiKind::kCompletion, R"({"prompt": "a"} trailing)", "extra data");
}

TEST(EngineApi, IdsAreDistinctHex) {
  std::string a = HexId(1, 1), b = HexId(1, 2), c = HexId(2, 1);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

}  // namespace
}  // namespace gpuscale::engine
