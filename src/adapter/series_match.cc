#include "adapter/series_match.h"

#include <re2/re2.h>

#include <cctype>

namespace gpuscale::adapter {

struct SeriesSelector::Matcher {
  std::string label;
  std::string op;  // = != =~ !~
  std::string value;
  std::unique_ptr<re2::RE2> re;
};

SeriesSelector::SeriesSelector() = default;
SeriesSelector::SeriesSelector(SeriesSelector&&) noexcept = default;
SeriesSelector& SeriesSelector::operator=(SeriesSelector&&) noexcept = default;
SeriesSelector::~SeriesSelector() = default;

namespace {
bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
}  // namespace

core::Result<SeriesSelector> SeriesSelector::Parse(std::string_view text) {
  SeriesSelector sel;
  std::size_t i = 0;
  auto fail = [&](const std::string& what) {
    return core::InvalidArgument("selector '" + std::string(text) + "' at " + std::to_string(i) +
                                 ": " + what);
  };
  auto skip = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto add = [&](std::string label, std::string op, std::string value) -> core::Status {
    Matcher m{std::move(label), std::move(op), std::move(value), nullptr};
    if (m.op == "=~" || m.op == "!~") {
      m.re = std::make_unique<re2::RE2>("^(?:" + m.value + ")$", re2::RE2::Quiet);
      if (!m.re->ok())
        return fail("invalid regular expression \"" + m.value + "\": " + m.re->error());
    }
    sel.matchers_.push_back(std::move(m));
    return core::Status::Ok();
  };
  skip();
  std::size_t b = i;
  while (i < text.size() && IsNameChar(text[i])) ++i;
  if (i > b) GPUSCALE_RETURN_IF_ERROR(add("__name__", "=", std::string(text.substr(b, i - b))));
  skip();
  if (i < text.size() && text[i] == '{') {
    ++i;
    for (;;) {
      skip();
      if (i < text.size() && text[i] == '}') {
        ++i;
        break;
      }
      b = i;
      while (i < text.size() && IsNameChar(text[i])) ++i;
      if (i == b) return fail("expected a label name");
      std::string label(text.substr(b, i - b));
      skip();
      std::string op;
      for (const char* cand : {"=~", "!~", "!=", "="}) {
        if (text.substr(i).starts_with(cand)) {
          op = cand;
          break;
        }
      }
      if (op.empty()) return fail("expected =, !=, =~ or !~");
      i += op.size();
      skip();
      if (i >= text.size() || (text[i] != '"' && text[i] != '\'' && text[i] != '`')) {
        return fail("expected a quoted string");
      }
      const char q = text[i++];
      std::string value;
      while (i < text.size() && text[i] != q) {
        if (text[i] == '\\' && q != '`' && i + 1 < text.size()) {
          ++i;
          char e = text[i];
          value += e == 'n' ? '\n' : e == 't' ? '\t' : e;
        } else {
          value += text[i];
        }
        ++i;
      }
      if (i >= text.size()) return fail("unterminated string");
      ++i;
      GPUSCALE_RETURN_IF_ERROR(add(std::move(label), op, std::move(value)));
      skip();
      if (i < text.size() && text[i] == ',') ++i;
    }
  }
  skip();
  if (i != text.size()) return fail("unexpected text");
  if (sel.matchers_.empty()) return fail("empty selector");
  return sel;
}

bool SeriesSelector::Matches(const std::map<std::string, std::string>& labels) const {
  static const std::string kEmpty;
  for (const auto& m : matchers_) {
    auto it = labels.find(m.label);
    const std::string& v = it == labels.end() ? kEmpty : it->second;
    bool ok = m.op == "="    ? v == m.value
              : m.op == "!=" ? v != m.value
              : m.op == "=~" ? re2::RE2::FullMatch(v, *m.re)
                             : !re2::RE2::FullMatch(v, *m.re);
    if (!ok) return false;
  }
  return true;
}

}  // namespace gpuscale::adapter
