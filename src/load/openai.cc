// The load component's JSON codec file: the only one that includes Boost.JSON.
#include "load/openai.h"

#include <algorithm>
#include <array>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <vector>

#include "core/json_escape.h"

namespace gpuscale::load {
namespace json = boost::json;
namespace {

// Three-letter common words: one token each for usual tokenizers, and four bytes with the
// separating space, so servers that estimate tokens as bytes / 4 (the emulator) count them too.
constexpr std::array<std::string_view, 104> kWords = {
    "the", "and", "for", "you", "are", "was", "but", "not", "all", "can", "had", "her", "one",
    "our", "out", "day", "get", "has", "him", "his", "how", "man", "new", "now", "old", "see",
    "two", "way", "who", "boy", "did", "its", "let", "put", "say", "she", "too", "use", "big",
    "end", "far", "few", "got", "run", "set", "sun", "top", "try", "act", "add", "age", "ago",
    "air", "art", "ask", "bad", "bed", "box", "car", "cup", "cut", "dog", "eat", "egg", "eye",
    "fit", "fly", "fun", "gas", "hat", "hot", "job", "key", "kid", "law", "lay", "leg", "lie",
    "low", "map", "mix", "net", "oil", "pay", "pen", "pet", "raw", "red", "row", "sea", "sit",
    "six", "sky", "son", "tax", "tea", "ten", "tie", "toy", "van", "war", "win", "yes", "yet"};

core::Result<double> ParseNumber(std::string_view s, std::string_view what) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v) || v < 0) {
    return core::InvalidArgument("max-tokens: expected a non-negative number for " +
                                 std::string(what) + ", found '" + std::string(s) + "'");
  }
  return v;
}

std::optional<std::int64_t> IntField(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return std::nullopt;
}

std::string ErrorMessage(const json::value& e) {
  if (e.is_string()) return std::string(e.as_string());
  if (e.is_object()) {
    if (const json::value* m = e.as_object().if_contains("message"); m && m->is_string()) {
      return std::string(m->as_string());
    }
  }
  return json::serialize(e);
}

void ReadUsage(const json::object& o, std::optional<std::int64_t>* completion,
               std::optional<std::int64_t>* prompt) {
  const json::value* u = o.if_contains("usage");
  if (u == nullptr || !u->is_object()) return;
  *completion = IntField(u->as_object(), "completion_tokens");
  *prompt = IntField(u->as_object(), "prompt_tokens");
}

bool NonEmptyString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() && !v->as_string().empty();
}

// Decoders parse into an Arena on their stack: a response or stream chunk is read once, per
// request or per token, and the heap allocations of a default-allocated DOM were a visible share
// of the load generator's CPU.
class Arena {
 public:
  json::storage_ptr storage() { return &resource_; }

 private:
  unsigned char buffer_[2048];
  json::monotonic_resource resource_{buffer_, sizeof(buffer_)};
};

// The object lives in `arena`.
core::Result<json::object> ParseObject(std::string_view text, std::string_view what, Arena& arena) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec, arena.storage());
  if (ec) {
    return core::DataLoss(std::string(what) + ": invalid JSON (" + ec.message() + ")");
  }
  if (!v.is_object()) return core::DataLoss(std::string(what) + ": expected a JSON object");
  return std::move(v.as_object());
}

}  // namespace

core::Result<MaxTokensSpec> ParseMaxTokens(std::string_view text) {
  MaxTokensSpec spec;
  if (text == "none" || text.empty()) return spec;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t c = text.find(':', start);
    parts.push_back(text.substr(start, c == std::string_view::npos ? c : c - start));
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  if (parts.size() == 1) {
    GPUSCALE_ASSIGN_OR_RETURN(spec.a, ParseNumber(parts[0], "the fixed value"));
    if (spec.a < 1) return core::InvalidArgument("max-tokens: expected at least 1");
    spec.kind = MaxTokensSpec::Kind::kFixed;
    return spec;
  }
  if (parts.size() != 3) {
    return core::InvalidArgument(
        "max-tokens: expected N, none, uniform:LO:HI, normal:MEAN:SD or "
        "lognormal:MEAN:SD, found '" +
        std::string(text) + "'");
  }
  if (parts[0] == "uniform") {
    spec.kind = MaxTokensSpec::Kind::kUniform;
  } else if (parts[0] == "normal") {
    spec.kind = MaxTokensSpec::Kind::kNormal;
  } else if (parts[0] == "lognormal") {
    spec.kind = MaxTokensSpec::Kind::kLogNormal;
  } else {
    return core::InvalidArgument("max-tokens: unknown distribution '" + std::string(parts[0]) +
                                 "' (expected uniform, normal or lognormal)");
  }
  GPUSCALE_ASSIGN_OR_RETURN(spec.a, ParseNumber(parts[1], parts[0]));
  GPUSCALE_ASSIGN_OR_RETURN(spec.b, ParseNumber(parts[2], parts[0]));
  if (spec.kind == MaxTokensSpec::Kind::kUniform && spec.b < spec.a) {
    return core::InvalidArgument("max-tokens: uniform:LO:HI needs LO <= HI");
  }
  if (spec.kind == MaxTokensSpec::Kind::kLogNormal && spec.a <= 0) {
    return core::InvalidArgument("max-tokens: lognormal needs a positive mean");
  }
  return spec;
}

std::optional<int> SampleMaxTokens(const MaxTokensSpec& spec, int trace_tokens, core::Rng& rng) {
  if (spec.from_trace && trace_tokens >= 0) return std::max(1, trace_tokens);
  double v = 0;
  switch (spec.kind) {
    case MaxTokensSpec::Kind::kNone:
      return std::nullopt;
    case MaxTokensSpec::Kind::kFixed:
      v = spec.a;
      break;
    case MaxTokensSpec::Kind::kUniform:
      v = static_cast<double>(
          rng.UniformInt(static_cast<std::int64_t>(spec.a), static_cast<std::int64_t>(spec.b)));
      break;
    case MaxTokensSpec::Kind::kNormal:
      v = spec.b > 0 ? rng.Normal(spec.a, spec.b) : spec.a;
      break;
    case MaxTokensSpec::Kind::kLogNormal: {
      // Mean m and standard deviation s of the values → parameters of the underlying normal.
      double var = spec.b * spec.b;
      double sigma2 = std::log(1 + var / (spec.a * spec.a));
      v = rng.LogNormal(std::log(spec.a) - sigma2 / 2, std::sqrt(sigma2));
      break;
    }
  }
  return std::max(1, static_cast<int>(std::lround(v)));
}

std::string SyntheticPrompt(int tokens, core::Rng& rng) {
  std::string out;
  out.reserve(static_cast<std::size_t>(std::max(tokens, 0)) * 5);
  for (int i = 0; i < tokens; ++i) {
    if (i > 0) out += ' ';
    out.append(kWords[static_cast<std::size_t>(rng.UniformInt(0, kWords.size() - 1))]);
  }
  return out;
}

std::string_view ApiPath(Api api) {
  return api == Api::kChat ? "/v1/chat/completions" : "/v1/completions";
}

std::string BuildBody(const BodyOptions& o, std::string_view prompt) {
  std::string b;
  b.reserve(prompt.size() + 160);
  b += "{\"model\":";
  core::AppendJsonString(o.model, &b);
  if (o.api == Api::kChat) {
    b += ",\"messages\":[{\"role\":\"user\",\"content\":";
    core::AppendJsonString(prompt, &b);
    b += "}]";
  } else {
    b += ",\"prompt\":";
    core::AppendJsonString(prompt, &b);
  }
  if (o.stream) b += ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
  if (o.max_tokens) b += ",\"max_tokens\":" + std::to_string(*o.max_tokens);
  if (o.ignore_eos) b += ",\"ignore_eos\":true";
  b += '}';
  return b;
}

core::Result<ChunkInfo> DecodeChunk(std::string_view data) {
  ChunkInfo info;
  std::string_view trimmed = data;
  while (!trimmed.empty() && (trimmed.back() == ' ' || trimmed.back() == '\n')) {
    trimmed.remove_suffix(1);
  }
  if (trimmed == "[DONE]") {
    info.done = true;
    return info;
  }
  Arena arena;
  GPUSCALE_ASSIGN_OR_RETURN(json::object o, ParseObject(data, "stream chunk", arena));
  if (const json::value* e = o.if_contains("error")) info.error = ErrorMessage(*e);
  ReadUsage(o, &info.completion_tokens, &info.prompt_tokens);
  if (const json::value* c = o.if_contains("choices"); c && c->is_array()) {
    for (const json::value& choice : c->as_array()) {
      if (!choice.is_object()) continue;
      const json::object& co = choice.as_object();
      bool content = NonEmptyString(co, "text");
      if (const json::value* d = co.if_contains("delta"); d && d->is_object()) {
        content = content || NonEmptyString(d->as_object(), "content") ||
                  NonEmptyString(d->as_object(), "reasoning_content");
      }
      if (content) ++info.content_pieces;
    }
  }
  return info;
}

core::Result<ResponseInfo> DecodeResponse(std::string_view body) {
  ResponseInfo info;
  Arena arena;
  GPUSCALE_ASSIGN_OR_RETURN(json::object o, ParseObject(body, "response body", arena));
  if (const json::value* e = o.if_contains("error")) info.error = ErrorMessage(*e);
  ReadUsage(o, &info.completion_tokens, &info.prompt_tokens);
  return info;
}

}  // namespace gpuscale::load
