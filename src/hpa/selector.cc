#include "hpa/selector.h"

#include <algorithm>
#include <cctype>

namespace gpuscale::hpa {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '/';
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  void SkipSpace() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  bool AtEnd() {
    SkipSpace();
    return pos_ >= s_.size();
  }
  std::string_view Name() {
    SkipSpace();
    size_t start = pos_;
    while (pos_ < s_.size() && IsNameChar(s_[pos_])) ++pos_;
    return s_.substr(start, pos_ - start);
  }
  bool Consume(std::string_view tok) {
    SkipSpace();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  std::string Rest() {
    SkipSpace();
    size_t end = pos_;
    while (end < s_.size() && s_[end] != ' ' && s_[end] != ',') ++end;
    return std::string(s_.substr(pos_, std::max<size_t>(end - pos_, 1)));
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

core::Error Unexpected(Lexer& lx, std::string_view expected) {
  return core::InvalidArgument("unable to parse requirement: at column " +
                               std::to_string(lx.pos() + 1) + ": found '" + lx.Rest() +
                               "', expected: " + std::string(expected));
}

}  // namespace

core::Result<Selector> Selector::Parse(std::string_view text) {
  Selector sel;
  Lexer lx(text);
  if (lx.AtEnd()) return sel;
  while (true) {
    Requirement r;
    if (lx.Consume("!")) {
      r.key = std::string(lx.Name());
      if (r.key.empty()) return Unexpected(lx, "identifier");
      r.op = Op::kDoesNotExist;
    } else {
      r.key = std::string(lx.Name());
      if (r.key.empty()) return Unexpected(lx, "identifier");
      if (lx.Consume("==") || lx.Consume("=")) {
        r.op = Op::kEquals;
        r.values.emplace_back(lx.Name());
      } else if (lx.Consume("!=")) {
        r.op = Op::kNotEquals;
        r.values.emplace_back(lx.Name());
      } else if (lx.Consume("notin") || lx.Consume("in")) {
        // Re-check which keyword matched by looking at the op text is unnecessary: "notin" is
        // tried first.
        r.op = Op::kIn;
        if (text.substr(0, lx.pos()).ends_with("notin")) r.op = Op::kNotIn;
        if (!lx.Consume("(")) return Unexpected(lx, "'('");
        while (true) {
          r.values.emplace_back(lx.Name());
          if (lx.Consume(")")) break;
          if (!lx.Consume(",")) return Unexpected(lx, "',' or ')'");
        }
      } else {
        r.op = Op::kExists;
      }
    }
    sel.requirements_.push_back(std::move(r));
    if (lx.AtEnd()) break;
    if (!lx.Consume(",")) return Unexpected(lx, "',' or 'end of string'");
  }
  return sel;
}

bool Selector::Matches(const std::map<std::string, std::string>& labels) const {
  for (const auto& r : requirements_) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    auto in_values = [&] {
      return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    };
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn:
        if (!in_values()) return false;
        break;
      case Op::kNotEquals:
      case Op::kNotIn:
        if (in_values()) return false;
        break;
      case Op::kExists:
        if (!has) return false;
        break;
      case Op::kDoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

}  // namespace gpuscale::hpa
