// Boost.JSON is used for decoding only, here; encoders build strings directly (they run per
// token on the streaming path).
#include "engine/api.h"

#include <fmt/format.h>

#include <array>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>
#include <cmath>

#include "core/json_escape.h"

namespace gpuscale::engine {
namespace json = boost::json;

namespace {

// Line and column (1-based) of byte `offset` in `text`.
std::string Position(std::string_view text, std::size_t offset) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("{}:{}", line, column);
}

std::string_view KindName(json::kind k) {
  switch (k) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

core::Error FieldError(std::string_view field, std::string_view what) {
  return core::InvalidArgument(fmt::format("{}: {}", field, what));
}

core::Error WrongType(std::string_view field, std::string_view expected, const json::value& v) {
  return FieldError(field, fmt::format("expected {}, found {}", expected, KindName(v.kind())));
}

// Reads an optional integer field; JSON numbers with integral values are accepted as vLLM's
// pydantic models accept 5.0 for an int.
core::Result<std::optional<std::int64_t>> OptionalInt(const json::object& o, std::string_view f) {
  auto it = o.find(f);
  if (it == o.end() || it->value().is_null()) return std::optional<std::int64_t>();
  const json::value& v = it->value();
  if (v.is_int64()) return std::optional<std::int64_t>(v.get_int64());
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v.get_uint64()));
  }
  if (v.is_double() && std::trunc(v.get_double()) == v.get_double() &&
      std::abs(v.get_double()) < 9e18) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v.get_double()));
  }
  return WrongType(f, "an integer", v);
}

core::Result<bool> OptionalBool(const json::object& o, std::string_view f, bool fallback) {
  auto it = o.find(f);
  if (it == o.end() || it->value().is_null()) return fallback;
  if (!it->value().is_bool()) return WrongType(f, "a boolean", it->value());
  return it->value().get_bool();
}

core::Status CheckNumber(const json::object& o, std::string_view f) {
  auto it = o.find(f);
  if (it == o.end() || it->value().is_null() || it->value().is_number()) return {};
  return WrongType(f, "a number", it->value());
}

int TextTokens(std::size_t bytes) { return static_cast<int>((bytes + 3) / 4); }

// Chat message content: a string or a list of parts ({"type":"text","text":...}).
core::Result<std::string> ContentText(const json::value& content, const std::string& field) {
  if (content.is_null()) return std::string();
  if (content.is_string()) return std::string(content.get_string());
  if (!content.is_array()) return WrongType(field, "a string or an array of parts", content);
  std::string text;
  const json::array& parts = content.get_array();
  for (std::size_t i = 0; i < parts.size(); ++i) {
    std::string pf = fmt::format("{}[{}]", field, i);
    if (!parts[i].is_object()) return WrongType(pf, "an object", parts[i]);
    const json::object& part = parts[i].get_object();
    auto type = part.find("type");
    if (type == part.end() || !type->value().is_string()) {
      return FieldError(pf + ".type", "Field required (a string)");
    }
    if (type->value().get_string() != "text") continue;  // images etc. add no text tokens here
    auto t = part.find("text");
    if (t == part.end() || !t->value().is_string()) {
      return FieldError(pf + ".text", "Field required (a string)");
    }
    text += std::string(t->value().get_string());
  }
  return text;
}

core::Status DecodeMessages(const json::object& o, ApiRequest* r) {
  auto it = o.find("messages");
  if (it == o.end()) return FieldError("messages", "Field required");
  if (!it->value().is_array()) return WrongType("messages", "an array", it->value());
  const json::array& msgs = it->value().get_array();
  if (msgs.empty()) return FieldError("messages", "List should have at least 1 item");
  int tokens = 3;  // assistant prefix of the chat template
  for (std::size_t i = 0; i < msgs.size(); ++i) {
    std::string field = fmt::format("messages[{}]", i);
    if (!msgs[i].is_object()) return WrongType(field, "an object", msgs[i]);
    const json::object& m = msgs[i].get_object();
    auto role = m.find("role");
    if (role == m.end()) return FieldError(field + ".role", "Field required");
    if (!role->value().is_string()) return WrongType(field + ".role", "a string", role->value());
    std::string text;
    auto content = m.find("content");
    if (content != m.end()) {
      GPUSCALE_ASSIGN_OR_RETURN(text, ContentText(content->value(), field + ".content"));
    }
    tokens += 4 + TextTokens(text.size());
    if (role->value().get_string() == "user" || r->last_text.empty()) r->last_text = text;
  }
  r->prompt_tokens = tokens;
  return {};
}

core::Status DecodePrompt(const json::object& o, ApiRequest* r) {
  auto it = o.find("prompt");
  if (it == o.end() || it->value().is_null()) return FieldError("prompt", "Field required");
  const json::value& p = it->value();
  if (p.is_string()) {
    r->last_text = std::string(p.get_string());
    r->prompt_tokens = std::max(1, TextTokens(r->last_text.size()));
    return {};
  }
  if (!p.is_array()) {
    return WrongType("prompt", "a string, an array of strings or an array of token ids", p);
  }
  const json::array& a = p.get_array();
  if (a.empty()) return FieldError("prompt", "List should have at least 1 item");
  if (a.size() > 1 && (a[0].is_string() || a[0].is_array())) {
    return FieldError("prompt", "batched prompts are not supported; send one prompt per request");
  }
  const json::value& first = a[0];
  if (first.is_string()) {
    r->last_text = std::string(first.get_string());
    r->prompt_tokens = std::max(1, TextTokens(r->last_text.size()));
    return {};
  }
  const json::array& ids = first.is_array() ? first.get_array() : a;
  if (ids.empty()) return FieldError("prompt", "token id list should have at least 1 item");
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].is_int64() && !ids[i].is_uint64()) {
      return WrongType(fmt::format("prompt[{}]", i), "a token id (integer)", ids[i]);
    }
  }
  r->prompt_tokens = static_cast<int>(ids.size());
  return {};
}

void AppendUsageObject(const Usage& u, bool with_details, std::string* out) {
  *out += fmt::format(R"({{"prompt_tokens":{},"total_tokens":{},"completion_tokens":{})",
                      u.prompt_tokens, u.prompt_tokens + u.completion_tokens, u.completion_tokens);
  if (with_details) *out += R"(,"prompt_tokens_details":null)";
  *out += '}';
}

void AppendHeadFields(const ResponseHead& h, std::string_view object, std::string* out) {
  *out += R"({"id":)";
  core::AppendJsonString(h.id, out);
  *out += R"(,"object":")";
  *out += object;
  *out += R"(","created":)";
  *out += fmt::format("{}", h.created);
  *out += R"(,"model":)";
  core::AppendJsonString(h.model, out);
}

void AppendReason(std::string_view finish_reason, std::string* out) {
  if (finish_reason.empty()) {
    *out += "null";
  } else {
    *out += '"';
    *out += finish_reason;
    *out += '"';
  }
}

}  // namespace

ApiError BadRequest(std::string message, std::optional<std::string> param) {
  return ApiError{400, "BadRequestError", std::move(message), std::move(param)};
}

ApiError ModelNotFound(std::string_view model) {
  return ApiError{404, "NotFoundError", fmt::format("The model `{}` does not exist.", model),
                  std::nullopt};
}

std::string EncodeError(const ApiError& e) {
  std::string out = R"({"object":"error","message":)";
  core::AppendJsonString(e.message, &out);
  out += R"(,"type":)";
  core::AppendJsonString(e.type, &out);
  out += R"(,"param":)";
  if (e.param) {
    core::AppendJsonString(*e.param, &out);
  } else {
    out += "null";
  }
  out += fmt::format(R"(,"code":{}}})", e.status);
  return out;
}

ApiError ToApiError(const core::Error& error) {
  if (error.code == core::Code::kNotFound) {
    return ApiError{404, "NotFoundError", error.message, std::nullopt};
  }
  if (error.code == core::Code::kInvalidArgument || error.code == core::Code::kResourceExhausted) {
    return BadRequest(error.message);
  }
  return ApiError{core::HttpStatus(error.code), "InternalServerError", error.message, std::nullopt};
}

core::Result<ApiRequest> DecodeRequest(ApiKind kind, std::string_view body) {
  json::parser parser;
  boost::system::error_code ec;
  std::size_t consumed = parser.write_some(body.data(), body.size(), ec);
  if (!ec && consumed < body.size()) {
    // Trailing bytes after a complete value: only whitespace is allowed.
    std::size_t rest = body.find_first_not_of(" \t\r\n", consumed);
    if (rest != std::string_view::npos) {
      return core::InvalidArgument(fmt::format(
          "JSON decode error at {}: extra data after the request object", Position(body, rest)));
    }
  }
  if (ec) {
    return core::InvalidArgument(
        fmt::format("JSON decode error at {}: {}", Position(body, consumed), ec.message()));
  }
  json::value root = parser.release();
  if (!root.is_object()) {
    return core::InvalidArgument(
        fmt::format("request body: expected a JSON object, found {}", KindName(root.kind())));
  }
  const json::object& o = root.get_object();
  ApiRequest r;
  r.kind = kind;

  if (auto it = o.find("model"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_string()) return WrongType("model", "a string", it->value());
    r.model = std::string(it->value().get_string());
  }
  if (kind == ApiKind::kChat) {
    GPUSCALE_RETURN_IF_ERROR(DecodeMessages(o, &r));
  } else {
    GPUSCALE_RETURN_IF_ERROR(DecodePrompt(o, &r));
    GPUSCALE_ASSIGN_OR_RETURN(r.echo, OptionalBool(o, "echo", false));
    if (auto it = o.find("suffix"); it != o.end() && !it->value().is_null()) {
      return FieldError("suffix", "suffix is not currently supported");
    }
  }

  GPUSCALE_ASSIGN_OR_RETURN(auto max_tokens, OptionalInt(o, "max_tokens"));
  if (kind == ApiKind::kChat) {
    GPUSCALE_ASSIGN_OR_RETURN(auto mct, OptionalInt(o, "max_completion_tokens"));
    if (mct) max_tokens = mct;
  }
  if (max_tokens) {
    if (*max_tokens < 1) {
      return FieldError("max_tokens", fmt::format("must be at least 1, got {}", *max_tokens));
    }
    r.max_tokens = static_cast<int>(std::min<std::int64_t>(*max_tokens, INT32_MAX));
  }
  GPUSCALE_ASSIGN_OR_RETURN(auto min_tokens, OptionalInt(o, "min_tokens"));
  if (min_tokens) {
    if (*min_tokens < 0) {
      return FieldError("min_tokens", fmt::format("must be at least 0, got {}", *min_tokens));
    }
    if (r.max_tokens && *min_tokens > *r.max_tokens) {
      return FieldError("min_tokens", fmt::format("must be less than or equal to max_tokens={}, "
                                                  "got {}",
                                                  *r.max_tokens, *min_tokens));
    }
    r.min_tokens = static_cast<int>(std::min<std::int64_t>(*min_tokens, INT32_MAX));
  }
  GPUSCALE_ASSIGN_OR_RETURN(auto n, OptionalInt(o, "n"));
  if (n && *n != 1) {
    return FieldError("n", fmt::format("only n=1 is supported by this engine, got {}", *n));
  }
  GPUSCALE_ASSIGN_OR_RETURN(auto seed, OptionalInt(o, "seed"));
  if (seed) r.seed = static_cast<std::uint64_t>(*seed);
  GPUSCALE_ASSIGN_OR_RETURN(r.ignore_eos, OptionalBool(o, "ignore_eos", false));
  GPUSCALE_ASSIGN_OR_RETURN(r.stream, OptionalBool(o, "stream", false));
  for (std::string_view f : {"temperature", "top_p", "top_k", "presence_penalty",
                             "frequency_penalty", "repetition_penalty", "min_p"}) {
    GPUSCALE_RETURN_IF_ERROR(CheckNumber(o, f));
  }
  if (auto t = o.find("temperature"); t != o.end() && t->value().is_number()) {
    if (t->value().to_number<double>() < 0) {
      return FieldError("temperature", "must be non-negative");
    }
  }
  if (auto it = o.find("stream_options"); it != o.end() && !it->value().is_null()) {
    if (!it->value().is_object()) return WrongType("stream_options", "an object", it->value());
    if (!r.stream) {
      return FieldError("stream_options", "Stream options can only be defined when `stream=True`.");
    }
    const json::object& so = it->value().get_object();
    for (const auto& kv : so) {
      if (kv.key() != "include_usage" && kv.key() != "continuous_usage_stats") {
        return FieldError(fmt::format("stream_options.{}", std::string_view(kv.key())),
                          "Extra inputs are not permitted");
      }
    }
    auto include = OptionalBool(so, "include_usage", false);
    if (!include.ok()) return FieldError("stream_options", include.error().message);
    auto continuous = OptionalBool(so, "continuous_usage_stats", false);
    if (!continuous.ok()) return FieldError("stream_options", continuous.error().message);
    r.include_usage = *include;
    r.continuous_usage_stats = *continuous;
  }
  return r;
}

// ---- Encoders ------------------------------------------------------------------------------

std::string EncodeResponse(const ResponseHead& head, std::string_view text,
                           std::string_view finish_reason, const Usage& usage) {
  std::string out;
  out.reserve(256 + text.size());
  if (head.kind == ApiKind::kChat) {
    AppendHeadFields(head, "chat.completion", &out);
    out += R"(,"choices":[{"index":0,"message":{"role":"assistant","reasoning_content":null,)";
    out += R"("content":)";
    core::AppendJsonString(text, &out);
    out += R"(,"tool_calls":[]},"logprobs":null,"finish_reason":)";
    AppendReason(finish_reason, &out);
    out += R"(,"stop_reason":null}],"usage":)";
    AppendUsageObject(usage, true, &out);
    out += R"(,"prompt_logprobs":null})";
  } else {
    AppendHeadFields(head, "text_completion", &out);
    out += R"(,"choices":[{"index":0,"text":)";
    core::AppendJsonString(text, &out);
    out += R"(,"logprobs":null,"finish_reason":)";
    AppendReason(finish_reason, &out);
    out += R"(,"stop_reason":null,"prompt_logprobs":null}],"usage":)";
    AppendUsageObject(usage, true, &out);
    out += '}';
  }
  return out;
}

void AppendChunk(const ResponseHead& head, std::string_view text, std::string_view finish_reason,
                 bool role_chunk, const Usage* usage, std::string* out) {
  if (head.kind == ApiKind::kChat) {
    // vLLM serialises chat chunks with exclude_unset: stop_reason appears only on the chunk
    // that finishes, usage only with continuous_usage_stats.
    AppendHeadFields(head, "chat.completion.chunk", out);
    *out += R"(,"choices":[{"index":0,"delta":{)";
    if (role_chunk) *out += R"("role":"assistant",)";
    *out += R"("content":)";
    core::AppendJsonString(text, out);
    *out += R"(},"logprobs":null,"finish_reason":)";
    AppendReason(finish_reason, out);
    if (!finish_reason.empty()) *out += R"(,"stop_reason":null)";
    *out += "}]";
    if (usage) {
      *out += R"(,"usage":)";
      AppendUsageObject(*usage, false, out);
    }
    *out += '}';
  } else {
    // Completion chunks are serialised with every field.
    AppendHeadFields(head, "text_completion", out);
    *out += R"(,"choices":[{"index":0,"text":)";
    core::AppendJsonString(text, out);
    *out += R"(,"logprobs":null,"finish_reason":)";
    AppendReason(finish_reason, out);
    *out += R"(,"stop_reason":null}],"usage":)";
    if (usage) {
      AppendUsageObject(*usage, false, out);
    } else {
      *out += "null";
    }
    *out += '}';
  }
}

std::string EncodeChunk(const ResponseHead& head, std::string_view text,
                        std::string_view finish_reason, bool role_chunk, const Usage* usage) {
  std::string out;
  out.reserve(192 + text.size());
  AppendChunk(head, text, finish_reason, role_chunk, usage, &out);
  return out;
}

std::string EncodeUsageChunk(const ResponseHead& head, const Usage& usage) {
  std::string out;
  AppendHeadFields(head, head.kind == ApiKind::kChat ? "chat.completion.chunk" : "text_completion",
                   &out);
  out += R"(,"choices":[],"usage":)";
  AppendUsageObject(usage, false, &out);
  out += '}';
  return out;
}

void AppendSseData(std::string_view payload, std::string* out) {
  *out += "data: ";
  *out += payload;
  *out += "\n\n";
}

std::string EncodeModels(std::string_view model, std::int64_t created, int max_model_len,
                         std::string_view permission_id) {
  std::string out = R"({"object":"list","data":[{"id":)";
  core::AppendJsonString(model, &out);
  out += fmt::format(R"(,"object":"model","created":{},"owned_by":"vllm","root":)", created);
  core::AppendJsonString(model, &out);
  out += fmt::format(R"(,"parent":null,"max_model_len":{},"permission":[{{"id":)", max_model_len);
  core::AppendJsonString(permission_id, &out);
  out +=
      fmt::format(R"(,"object":"model_permission","created":{},"allow_create_engine":false,)"
                  R"("allow_sampling":true,"allow_logprobs":true,"allow_search_indices":false,)"
                  R"("allow_view":true,"allow_fine_tuning":false,"organization":"*","group":null,)"
                  R"("is_blocking":false}}]}}]}})",
                  created);
  return out;
}

std::string_view TokenText(std::uint64_t index) {
  static constexpr std::array<std::string_view, 32> kWords = {
      " The",      " engine", " emulates", " a",       " GPU",     " serving", " tokens",
      " one",      " step",   " at",       " a",       " time",    ",",        " batching",
      " requests", " that",   " arrive",   " while",   " others",  " decode",  ".",
      " Each",     " step",   " reads",    " the",     " weights", " and",     " the",
      " cache",    " of",     " every",    " sequence"};
  return kWords[index % kWords.size()];
}

std::string HexId(std::uint64_t seed, std::uint64_t counter) {
  // splitmix64 twice: distinct, well-mixed 128 bits per (seed, counter).
  auto mix = [](std::uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  std::uint64_t a = mix(seed ^ mix(counter));
  std::uint64_t b = mix(a ^ counter);
  return fmt::format("{:016x}{:016x}", a, b);
}

}  // namespace gpuscale::engine
