// The exposition parser. It reads line by line with a cursor and reports the first error as
// "line L:C: expected X, found Y" (columns count bytes from 1). Acceptance follows
// Prometheus 2.x's scrape parser; grouping into families follows Go's expfmt.TextParser.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <unordered_map>

#include "prom/exposition.h"
#include "prom/internal/go_float.h"

namespace gpuscale::prom {
namespace {

using internal::FloatStatus;
using internal::ParseGoFloat;

bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool IsNameChar(char c, bool colon) { return IsNameStart(c, colon) || IsDigit(c); }

// Like Go's utf8.ValidString: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= n) return false;
    for (int i = 1; i <= n; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

// A quoted, printable rendering of input text for error messages.
std::string Quote(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7F) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > kMax) out += "...";
  out.push_back('"');
  return out;
}

struct FamilyState {
  std::size_t index;
  bool help_seen = false;
  bool type_seen = false;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  core::Result<std::vector<MetricFamily>> Run() {
    std::size_t pos = 0;
    while (pos < text_.size()) {
      std::size_t nl = text_.find('\n', pos);
      if (nl == std::string_view::npos) nl = text_.size();
      ++line_no_;
      line_ = text_.substr(pos, nl - pos);
      i_ = 0;
      core::Status st = ParseLine();
      if (!st.ok()) return std::move(st).error();
      pos = nl + 1;
    }
    return std::move(families_);
  }

 private:
  core::Error Fail(std::size_t column_index, std::string_view message) const {
    return core::InvalidArgument("line " + std::to_string(line_no_) + ":" +
                                 std::to_string(column_index + 1) + ": " + std::string(message));
  }
  // What is at `at`: 'c', '\x01' or end of line.
  std::string Found(std::size_t at) const {
    if (at >= line_.size()) return "end of line";
    unsigned char c = line_[at];
    if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
    static constexpr char kHex[] = "0123456789abcdef";
    return std::string("'\\x") + kHex[c >> 4] + kHex[c & 15] + "'";
  }
  core::Error Expected(std::string_view what) const {
    return Fail(i_, "expected " + std::string(what) + ", found " + Found(i_));
  }

  bool AtEnd() const { return i_ >= line_.size(); }
  void SkipBlanks() {
    while (i_ < line_.size() && IsBlank(line_[i_])) ++i_;
  }
  std::string_view ReadName(bool colon) {
    std::size_t start = i_;
    if (i_ < line_.size() && IsNameStart(line_[i_], colon)) {
      ++i_;
      while (i_ < line_.size() && IsNameChar(line_[i_], colon)) ++i_;
    }
    return line_.substr(start, i_ - start);
  }

  core::Status ParseLine() {
    SkipBlanks();
    if (AtEnd()) return {};
    if (line_[i_] == '#') return ParseComment();
    return ParseSample();
  }

  core::Status ParseComment() {
    ++i_;
    SkipBlanks();
    std::string_view rest = line_.substr(i_);
    bool help = rest.starts_with("HELP");
    bool type = rest.starts_with("TYPE");
    // Like Prometheus, "# HELP" counts only when a blank follows the keyword.
    if ((!help && !type) || rest.size() < 5 || !IsBlank(rest[4])) return {};
    std::string_view keyword = help ? "HELP" : "TYPE";
    i_ += 4;
    SkipBlanks();
    std::size_t name_at = i_;
    std::string_view name = ReadName(true);
    if (name.empty()) return Expected("metric name after " + std::string(keyword));
    if (!AtEnd() && !IsBlank(line_[i_])) {
      return Expected("a blank after metric name \"" + std::string(name) + "\"");
    }
    SkipBlanks();
    std::string_view text = line_.substr(i_);

    auto [it, inserted] = by_name_.try_emplace(std::string(name), FamilyState{families_.size()});
    FamilyState& state = it->second;
    if (inserted)
      families_.push_back(MetricFamily{std::string(name), {}, MetricType::kUntyped, {}});
    MetricFamily& family = families_[state.index];
    if (help) {
      if (state.help_seen) {
        return Fail(name_at, "second HELP line for metric \"" + std::string(name) + "\"");
      }
      if (!IsValidUtf8(text)) return Fail(i_, "HELP text is not valid UTF-8");
      state.help_seen = true;
      family.help = UnescapeHelp(text);
    } else {
      if (state.type_seen) {
        return Fail(name_at, "second TYPE line for metric \"" + std::string(name) + "\"");
      }
      if (!family.samples.empty()) {
        return Fail(name_at,
                    "TYPE line for metric \"" + std::string(name) + "\" after its samples");
      }
      while (!text.empty() && IsBlank(text.back())) text.remove_suffix(1);
      if (text == "counter") {
        family.type = MetricType::kCounter;
      } else if (text == "gauge") {
        family.type = MetricType::kGauge;
      } else if (text == "histogram") {
        family.type = MetricType::kHistogram;
      } else if (text == "summary") {
        family.type = MetricType::kSummary;
      } else if (text == "untyped") {
        family.type = MetricType::kUntyped;
      } else {
        return Fail(i_,
                    "expected counter, gauge, histogram, summary or untyped, found " + Quote(text));
      }
      state.type_seen = true;
    }
    current_ = state.index;
    return {};
  }

  static std::string UnescapeHelp(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '\\' || s[i + 1] == 'n')) {
        out.push_back(s[i + 1] == 'n' ? '\n' : '\\');
        ++i;
      } else {
        out.push_back(s[i]);
      }
    }
    return out;
  }

  core::Status ParseSample() {
    std::string_view name = ReadName(true);
    if (name.empty()) return Expected("metric name or '#'");
    Sample sample;
    sample.name = std::string(name);
    SkipBlanks();
    if (!AtEnd() && line_[i_] == '{') {
      ++i_;
      sample.labels.reserve(last_label_count_);
      GPUSCALE_RETURN_IF_ERROR(ParseLabels(&sample.labels));
      last_label_count_ = sample.labels.size();
      SkipBlanks();
    } else if (i_ < line_.size() && !IsBlank(line_[i_ - 1])) {
      return Expected("'{' or a blank after metric name \"" + sample.name + "\"");
    }
    if (AtEnd()) return Expected("a value for \"" + sample.name + "\"");
    std::size_t value_at = i_;
    while (i_ < line_.size() && !IsBlank(line_[i_])) ++i_;
    std::string_view value_text = line_.substr(value_at, i_ - value_at);
    switch (ParseGoFloat(value_text, &sample.value)) {
      case FloatStatus::kOk:
        break;
      case FloatStatus::kSyntax:
        return Fail(value_at,
                    "expected a number for \"" + sample.name + "\", found " + Quote(value_text));
      case FloatStatus::kRange:
        return Fail(value_at, "value " + Quote(value_text) + " is out of range");
    }
    SkipBlanks();
    if (!AtEnd()) {
      std::size_t ts_at = i_;
      while (i_ < line_.size() && !IsBlank(line_[i_])) ++i_;
      std::string_view ts_text = line_.substr(ts_at, i_ - ts_at);
      std::string_view digits = ts_text.starts_with('-') ? ts_text.substr(1) : ts_text;
      bool all_digits = !digits.empty();
      for (char c : digits) all_digits = all_digits && IsDigit(c);
      int64_t ts = 0;
      auto [ptr, ec] = std::from_chars(ts_text.data(), ts_text.data() + ts_text.size(), ts);
      if (!all_digits) {
        return Fail(ts_at, "expected a timestamp in integer milliseconds or end of line, found " +
                               Quote(ts_text));
      }
      if (ec != std::errc()) return Fail(ts_at, "timestamp " + Quote(ts_text) + " is out of range");
      sample.timestamp_ms = ts;
      SkipBlanks();
      if (!AtEnd()) return Expected("end of line after the timestamp");
    }
    AddSample(std::move(sample));
    return {};
  }

  core::Status ParseLabels(Labels* labels) {
    while (true) {
      SkipBlanks();
      if (!AtEnd() && line_[i_] == '}') {
        ++i_;
        return {};
      }
      std::size_t name_at = i_;
      std::string_view name = ReadName(false);
      if (name.empty()) return Expected("label name or '}'");
      for (const Label& l : *labels) {
        if (l.name == name) {
          return Fail(name_at, "duplicate label name \"" + std::string(name) + "\"");
        }
      }
      SkipBlanks();
      if (AtEnd() || line_[i_] != '=') {
        return Expected("'=' after label name \"" + std::string(name) + "\"");
      }
      ++i_;
      SkipBlanks();
      if (AtEnd() || line_[i_] != '"') {
        return Expected("'\"' to open the value of label \"" + std::string(name) + "\"");
      }
      std::size_t value_at = ++i_;
      Label label{std::string(name), {}};
      bool closed = false;
      while (i_ < line_.size()) {
        // Copy the run up to the next quote or backslash in one go.
        std::size_t run = i_;
        while (run < line_.size() && line_[run] != '"' && line_[run] != '\\') ++run;
        label.value.append(line_.data() + i_, run - i_);
        i_ = run;
        if (i_ >= line_.size()) break;
        if (line_[i_] == '"') {
          closed = true;
          break;
        }
        if (i_ + 1 >= line_.size()) {
          label.value.push_back('\\');
          ++i_;
          break;
        }
        char n = line_[i_ + 1];
        if (n == '\\' || n == '"') {
          label.value.push_back(n);
        } else if (n == 'n') {
          label.value.push_back('\n');
        } else {
          // Prometheus keeps unknown escapes as written.
          label.value.push_back('\\');
          label.value.push_back(n);
        }
        i_ += 2;
      }
      if (!closed) return Expected("'\"' to close the value of label \"" + label.name + "\"");
      if (!IsValidUtf8(label.value)) {
        return Fail(value_at, "value of label \"" + label.name + "\" is not valid UTF-8");
      }
      ++i_;
      labels->push_back(std::move(label));
      SkipBlanks();
      if (!AtEnd() && line_[i_] == ',') {
        ++i_;
        continue;
      }
      if (!AtEnd() && line_[i_] == '}') {
        ++i_;
        return {};
      }
      return Expected("',' or '}' after label \"" + labels->back().name + "\"");
    }
  }

  // Whether sample `name` belongs to `family` (its own name or its type's suffixes).
  static bool Belongs(const MetricFamily& family, std::string_view name) {
    if (name == family.name) return true;
    if (family.type != MetricType::kHistogram && family.type != MetricType::kSummary) {
      return false;
    }
    if (!name.starts_with(family.name)) return false;
    std::string_view suffix = name.substr(family.name.size());
    return suffix == "_sum" || suffix == "_count" ||
           (family.type == MetricType::kHistogram && suffix == "_bucket");
  }

  void AddSample(Sample sample) {
    std::size_t target = families_.size();
    if (current_ < families_.size() && Belongs(families_[current_], sample.name)) {
      target = current_;
    } else if (auto it = by_name_.find(sample.name); it != by_name_.end()) {
      target = it->second.index;
    } else {
      std::string_view name = sample.name;
      for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (!name.ends_with(suffix)) continue;
        auto base = by_name_.find(std::string(name.substr(0, name.size() - suffix.size())));
        if (base != by_name_.end() && Belongs(families_[base->second.index], name)) {
          target = base->second.index;
        }
        break;
      }
    }
    if (target == families_.size()) {
      by_name_.emplace(sample.name, FamilyState{target});
      families_.push_back(MetricFamily{sample.name, {}, MetricType::kUntyped, {}});
    }
    families_[target].samples.push_back(std::move(sample));
    current_ = target;
  }

  std::string_view text_;
  std::string_view line_;
  std::size_t i_ = 0;
  int line_no_ = 0;
  std::size_t last_label_count_ = 0;  // to size the next sample's labels
  std::vector<MetricFamily> families_;
  std::unordered_map<std::string, FamilyState> by_name_;
  std::size_t current_ = static_cast<std::size_t>(-1);
};

}  // namespace

core::Result<std::vector<MetricFamily>> ParseText(std::string_view text) {
  return Parser(text).Run();
}

}  // namespace gpuscale::prom
