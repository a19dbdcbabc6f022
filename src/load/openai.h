// OpenAI-compatible request bodies and response decoding for the load generator: bytes ↔ plain
// structs, no sockets. Prompts are synthetic words, about one token each.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/rng.h"

namespace gpuscale::load {

enum class Api { kChat, kCompletions };

// How max_tokens is chosen per request.
struct MaxTokensSpec {
  enum class Kind { kNone, kFixed, kUniform, kNormal, kLogNormal };
  Kind kind = Kind::kNone;
  double a = 0;  // fixed value; uniform low; normal/log-normal mean
  double b = 0;  // uniform high; normal/log-normal standard deviation
  // A trace's output length wins over the spec (and is sent even when kind is kNone).
  bool from_trace = true;
};
// "none", "128", "uniform:64:256", "normal:128:32", "lognormal:128:64" (mean and stddev of
// the values, not of their logarithm).
core::Result<MaxTokensSpec> ParseMaxTokens(std::string_view text);
// max_tokens for one request; `trace_tokens` < 0 when the arrival has none. nullopt: send none.
// Drawn values are clamped to at least 1.
std::optional<int> SampleMaxTokens(const MaxTokensSpec& spec, int trace_tokens, core::Rng& rng);

// A prompt of `tokens` three-letter common words (one token each for usual tokenizers; 4 bytes
// each with the space, so byte-based estimates agree), drawn from `rng`.
std::string SyntheticPrompt(int tokens, core::Rng& rng);

struct BodyOptions {
  Api api = Api::kChat;
  std::string model;
  bool stream = false;
  std::optional<int> max_tokens;
  bool ignore_eos = false;
};
// The JSON body of POST /v1/chat/completions (one user message) or /v1/completions. A streaming
// body asks for usage in the last chunk (stream_options.include_usage).
std::string BuildBody(const BodyOptions& options, std::string_view prompt);
// "/v1/chat/completions" or "/v1/completions".
std::string_view ApiPath(Api api);

// What one streamed chunk (an SSE data payload) says.
struct ChunkInfo {
  bool done = false;       // the "[DONE]" sentinel
  int content_pieces = 0;  // choices carrying non-empty text or delta content
  std::optional<std::int64_t> completion_tokens;  // from "usage", when present
  std::optional<std::int64_t> prompt_tokens;
  std::string error;  // an "error" object's message, when the server sent one
};
// Decodes one data payload. kDataLoss for malformed JSON, naming what was wrong.
core::Result<ChunkInfo> DecodeChunk(std::string_view data);

// Usage and content of a whole (non-streaming) response body.
struct ResponseInfo {
  std::optional<std::int64_t> completion_tokens;
  std::optional<std::int64_t> prompt_tokens;
  std::string error;
};
core::Result<ResponseInfo> DecodeResponse(std::string_view body);

}  // namespace gpuscale::load
