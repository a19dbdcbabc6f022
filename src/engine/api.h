// The OpenAI-compatible wire format of vLLM 0.10: request decoding with vLLM's validation and
// error bodies, and encoders for responses, SSE chunks, /v1/models and errors. Bytes <-> plain
// structs; no sockets. Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gpuscale::engine {

enum class ApiKind { kChat, kCompletion };

// A decoded /v1/chat/completions or /v1/completions request (fields the emulator uses; others
// are accepted and ignored as vLLM ignores sampling options that do not change timing).
struct ApiRequest {
  ApiKind kind = ApiKind::kChat;
  std::optional<std::string> model;
  // Estimated prompt tokens: exact for token-id prompts; otherwise ceil(bytes / 4) per text
  // plus 4 per chat message and 3 for the assistant prefix (no tokenizer is loaded).
  int prompt_tokens = 1;
  std::string last_text;          // last user message or the prompt text (echo material)
  std::optional<int> max_tokens;  // max_tokens or max_completion_tokens
  int min_tokens = 0;
  bool ignore_eos = false;
  bool stream = false;
  bool include_usage = false;           // stream_options.include_usage
  bool continuous_usage_stats = false;  // stream_options.continuous_usage_stats
  bool echo = false;                    // completions: prepend the prompt to the text
  std::optional<std::uint64_t> seed;
};

// An API error as vLLM returns it: HTTP status plus {"object":"error","message",...}.
struct ApiError {
  int status = 400;
  std::string type = "BadRequestError";  // BadRequestError | NotFoundError | InternalServerError
  std::string message;
  std::optional<std::string> param;
};
std::string EncodeError(const ApiError& error);
ApiError BadRequest(std::string message, std::optional<std::string> param = std::nullopt);
ApiError ModelNotFound(std::string_view model);

// Decodes a request body. Malformed JSON names line:column; field errors name the field.
core::Result<ApiRequest> DecodeRequest(ApiKind kind, std::string_view body);
// The Error's message, as an ApiError (status from the code: 400 or 404).
ApiError ToApiError(const core::Error& error);

// What every response of one request shares.
struct ResponseHead {
  ApiKind kind = ApiKind::kChat;
  std::string id;            // "chatcmpl-<32 hex>" or "cmpl-<32 hex>"
  std::int64_t created = 0;  // Unix seconds
  std::string model;
};

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
};

// Non-streaming body (chat.completion or text_completion), as vLLM 0.10 serialises it.
std::string EncodeResponse(const ResponseHead& head, std::string_view text,
                           std::string_view finish_reason, const Usage& usage);

// One SSE data payload (without "data: " framing). `finish_reason` empty: null.
// `role_chunk`: the chat stream's first chunk (delta {"role":"assistant","content":""}).
// `usage` (continuous_usage_stats) adds a running usage object.
void AppendChunk(const ResponseHead& head, std::string_view text, std::string_view finish_reason,
                 bool role_chunk, const Usage* usage, std::string* out);
std::string EncodeChunk(const ResponseHead& head, std::string_view text,
                        std::string_view finish_reason, bool role_chunk = false,
                        const Usage* usage = nullptr);
// The final usage chunk sent before [DONE] with stream_options.include_usage.
std::string EncodeUsageChunk(const ResponseHead& head, const Usage& usage);

// Appends one SSE event carrying `payload` (a single-line JSON text or "[DONE]").
void AppendSseData(std::string_view payload, std::string* out);

// GET /v1/models for one served model.
std::string EncodeModels(std::string_view model, std::int64_t created, int max_model_len,
                         std::string_view permission_id);

// Generated text: token `index` of a response (a word with a leading space). Deterministic.
std::string_view TokenText(std::uint64_t index);

// A random-looking 32-hex-digit id from a counter and a seed (ids need not be secret).
std::string HexId(std::uint64_t seed, std::uint64_t counter);

}  // namespace gpuscale::engine
