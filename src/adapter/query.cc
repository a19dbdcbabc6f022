#include "adapter/query.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>

namespace gpuscale::adapter {
namespace {

bool IsSelectorSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsKeyChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '/';
}
bool IsValueChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

class SelectorParser {
 public:
  explicit SelectorParser(std::string_view s) : s_(s) {}

  core::Result<std::vector<Requirement>> Run() {
    std::vector<Requirement> out;
    Skip();
    if (i_ >= s_.size()) return out;
    for (;;) {
      GPUSCALE_ASSIGN_OR_RETURN(Requirement r, One());
      out.push_back(std::move(r));
      Skip();
      if (i_ >= s_.size()) break;
      if (s_[i_] != ',') return Fail("expected ',' or end of selector");
      ++i_;
      Skip();
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Requirement& a, const Requirement& b) { return a.key < b.key; });
    return out;
  }

 private:
  core::Error Fail(const std::string& what) const {
    return core::InvalidArgument("unable to parse requirement: at position " + std::to_string(i_) +
                                 " of \"" + std::string(s_) + "\": " + what);
  }
  void Skip() {
    while (i_ < s_.size() && IsSelectorSpace(s_[i_])) ++i_;
  }
  std::string Word(bool key) {
    std::size_t b = i_;
    while (i_ < s_.size() && (key ? IsKeyChar(s_[i_]) : IsValueChar(s_[i_]))) ++i_;
    return std::string(s_.substr(b, i_ - b));
  }

  core::Result<Requirement> One() {
    Requirement r;
    if (s_[i_] == '!') {
      ++i_;
      Skip();
      r.key = Word(true);
      if (r.key.empty()) return Fail("expected a label key after '!'");
      r.op = Requirement::Op::kDoesNotExist;
      return r;
    }
    r.key = Word(true);
    if (r.key.empty()) return Fail("expected a label key");
    if (r.key.size() > 317) return Fail("label key too long");
    Skip();
    if (i_ >= s_.size() || s_[i_] == ',') {
      r.op = Requirement::Op::kExists;
      return r;
    }
    auto rest = s_.substr(i_);
    if (rest.starts_with("==")) {
      r.op = Requirement::Op::kDoubleEquals;
      i_ += 2;
    } else if (rest.starts_with("!=")) {
      r.op = Requirement::Op::kNotEquals;
      i_ += 2;
    } else if (rest.starts_with("=")) {
      r.op = Requirement::Op::kEquals;
      i_ += 1;
    } else if (rest.starts_with(">")) {
      r.op = Requirement::Op::kGt;
      i_ += 1;
    } else if (rest.starts_with("<")) {
      r.op = Requirement::Op::kLt;
      i_ += 1;
    } else if (rest.starts_with("notin") && rest.size() > 5 && !IsKeyChar(rest[5])) {
      r.op = Requirement::Op::kNotIn;
      i_ += 5;
    } else if (rest.starts_with("in") && rest.size() > 2 && !IsKeyChar(rest[2])) {
      r.op = Requirement::Op::kIn;
      i_ += 2;
    } else {
      return Fail("expected an operator (=, ==, !=, in, notin, >, <)");
    }
    Skip();
    std::set<std::string> values;
    if (r.op == Requirement::Op::kIn || r.op == Requirement::Op::kNotIn) {
      if (i_ >= s_.size() || s_[i_] != '(') return Fail("expected '(' after in/notin");
      ++i_;
      for (;;) {
        Skip();
        std::string v = Word(false);
        if (v.size() > 63) return Fail("label value \"" + v + "\" is longer than 63 characters");
        values.insert(v);
        Skip();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == ')') {
          ++i_;
          break;
        }
        return Fail("expected ',' or ')' in value set");
      }
    } else {
      std::string v = Word(false);
      if (v.size() > 63) return Fail("label value \"" + v + "\" is longer than 63 characters");
      if ((r.op == Requirement::Op::kGt || r.op == Requirement::Op::kLt) &&
          (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) {
             return std::isdigit(static_cast<unsigned char>(c));
           }))) {
        return Fail("for 'gt', 'lt' operators, the value must be an integer");
      }
      values.insert(v);
    }
    r.values.assign(values.begin(), values.end());
    return r;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

core::Result<std::vector<Requirement>> ParseLabelSelector(std::string_view selector) {
  return SelectorParser(selector).Run();
}

std::string SelectorString(const std::vector<Requirement>& requirements) {
  std::string out;
  for (const auto& r : requirements) {
    if (!out.empty()) out += ',';
    auto join = [&] {
      std::string j;
      for (std::size_t i = 0; i < r.values.size(); ++i) j += (i ? "," : "") + r.values[i];
      return j;
    };
    switch (r.op) {
      case Requirement::Op::kExists:
        out += r.key;
        break;
      case Requirement::Op::kDoesNotExist:
        out += "!" + r.key;
        break;
      case Requirement::Op::kEquals:
        out += r.key + "=" + join();
        break;
      case Requirement::Op::kDoubleEquals:
        out += r.key + "==" + join();
        break;
      case Requirement::Op::kNotEquals:
        out += r.key + "!=" + join();
        break;
      case Requirement::Op::kIn:
        out += r.key + " in (" + join() + ")";
        break;
      case Requirement::Op::kNotIn:
        out += r.key + " notin (" + join() + ")";
        break;
      case Requirement::Op::kGt:
        out += r.key + ">" + join();
        break;
      case Requirement::Op::kLt:
        out += r.key + "<" + join();
        break;
    }
  }
  return out;
}

bool MatchesSelector(const std::vector<Requirement>& requirements,
                     const std::map<std::string, std::string>& labels) {
  for (const auto& r : requirements) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    auto in = [&] {
      return has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    };
    switch (r.op) {
      case Requirement::Op::kEquals:
      case Requirement::Op::kDoubleEquals:
      case Requirement::Op::kIn:
        if (!in()) return false;
        break;
      case Requirement::Op::kNotEquals:
      case Requirement::Op::kNotIn:
        if (in()) return false;
        break;
      case Requirement::Op::kExists:
        if (!has) return false;
        break;
      case Requirement::Op::kDoesNotExist:
        if (has) return false;
        break;
      case Requirement::Op::kGt:
      case Requirement::Op::kLt: {
        if (!has || r.values.empty()) return false;
        char* end = nullptr;
        long long v = std::strtoll(it->second.c_str(), &end, 10);
        if (end == it->second.c_str() || *end) return false;
        long long bound = std::strtoll(r.values[0].c_str(), nullptr, 10);
        if (r.op == Requirement::Op::kGt ? !(v > bound) : !(v < bound)) return false;
        break;
      }
    }
  }
  return true;
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string RegexEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

namespace {

struct Part {
  std::string label;
  std::vector<std::string> values;
  Requirement::Op op;
};

// prometheus-adapter's selectMatcher + selectTargetValue.
core::Result<std::string> Matcher(const Part& p, std::map<std::string, std::string>* by_name) {
  using Op = Requirement::Op;
  if (p.label.empty()) return core::InvalidArgument("label not specified");
  if (p.op == Op::kGt || p.op == Op::kLt)
    return core::InvalidArgument("operator not supported by prometheus");
  std::string joined;
  for (std::size_t i = 0; i < p.values.size(); ++i) joined += (i ? "|" : "") + p.values[i];
  std::string op;
  const bool exists = p.op == Op::kExists || p.op == Op::kDoesNotExist;
  switch (p.values.size()) {
    case 0:
      if (!exists) return core::InvalidArgument("malformed query: an operator needs values");
      op = p.op == Op::kExists ? "!=" : "=";
      break;
    case 1:
      if (exists) return core::InvalidArgument("operator does not take values");
      op = (p.op == Op::kEquals || p.op == Op::kDoubleEquals) ? "="
           : p.op == Op::kNotEquals                           ? "!="
           : p.op == Op::kIn                                  ? "=~"
                                                              : "!~";
      break;
    default:
      if (exists) return core::InvalidArgument("operator does not take values");
      op = (p.op == Op::kEquals || p.op == Op::kDoubleEquals || p.op == Op::kIn) ? "=~" : "!~";
  }
  (*by_name)[p.label] = joined;
  return p.label + op + GoQuote(exists ? "" : joined);
}

}  // namespace

core::Result<TemplateValue> QueryArgs(const QueryInput& in) {
  std::vector<Part> parts;
  if (in.metric_selector) {
    for (const auto& r : *in.metric_selector) parts.push_back({r.key, r.values, r.op});
  }
  if (!in.namespace_label.empty()) {
    parts.push_back({in.namespace_label, {in.namespace_value}, Requirement::Op::kEquals});
  }
  std::map<std::string, std::string> by_name;
  std::string matchers;
  for (const auto& p : parts) {
    GPUSCALE_ASSIGN_OR_RETURN(std::string m, Matcher(p, &by_name));
    if (!matchers.empty()) matchers += ',';
    matchers += m;
  }
  std::vector<std::string> group_by;
  if (!in.resource_label.empty()) {
    std::string target;
    for (std::size_t i = 0; i < in.names.size(); ++i) {
      if (i) target += '|';
      target += in.names.size() > 1 && in.escape_names ? RegexEscape(in.names[i]) : in.names[i];
    }
    if (!matchers.empty()) matchers += ',';
    matchers += in.resource_label + (in.names.size() > 1 ? "=~" : "=") + GoQuote(target);
    by_name[in.resource_label] = target;
    group_by.push_back(in.resource_label);
  }
  group_by.insert(group_by.end(), in.extra_group_by.begin(), in.extra_group_by.end());
  std::string group_by_joined;
  for (std::size_t i = 0; i < group_by.size(); ++i) group_by_joined += (i ? "," : "") + group_by[i];
  return TemplateValue::Struct("naming.queryTemplateArgs",
                               {{"Series", TemplateValue::String(std::string(in.series))},
                                {"LabelMatchers", TemplateValue::String(matchers)},
                                {"LabelValuesByName", TemplateValue::StringMap(by_name)},
                                {"GroupBy", TemplateValue::String(group_by_joined)},
                                {"GroupBySlice", TemplateValue::StringList(group_by)}});
}

core::Result<std::string> BuildQuery(const Template& metrics_query, const QueryInput& in) {
  GPUSCALE_ASSIGN_OR_RETURN(TemplateValue args, QueryArgs(in));
  GPUSCALE_ASSIGN_OR_RETURN(std::string q, metrics_query.Execute(args));
  if (q.empty()) return core::InvalidArgument("empty query produced by metrics query template");
  return q;
}

}  // namespace gpuscale::adapter
