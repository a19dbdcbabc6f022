#include "adapter/template.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>
#include <set>
#include <utility>

namespace gpuscale::adapter {

// ---------------------------------------------------------------------------------------------
// TemplateValue

TemplateValue TemplateValue::Bool(bool b) {
  TemplateValue v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}
TemplateValue TemplateValue::Int(std::int64_t i) {
  TemplateValue v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}
TemplateValue TemplateValue::Float(double f) {
  TemplateValue v;
  v.kind_ = Kind::kFloat;
  v.f_ = f;
  return v;
}
TemplateValue TemplateValue::String(std::string s) {
  TemplateValue v;
  v.kind_ = Kind::kString;
  v.s_ = std::move(s);
  return v;
}
TemplateValue TemplateValue::List(std::vector<TemplateValue> items) {
  TemplateValue v;
  v.kind_ = Kind::kList;
  v.list_ = std::move(items);
  return v;
}
TemplateValue TemplateValue::StringList(const std::vector<std::string>& items) {
  std::vector<TemplateValue> list;
  list.reserve(items.size());
  for (const auto& s : items) list.push_back(String(s));
  TemplateValue v = List(std::move(list));
  v.type_name_ = "[]string";
  return v;
}
TemplateValue TemplateValue::Map(std::map<std::string, TemplateValue> entries) {
  TemplateValue v;
  v.kind_ = Kind::kMap;
  v.map_ = std::move(entries);
  return v;
}
TemplateValue TemplateValue::StringMap(const std::map<std::string, std::string>& entries) {
  std::map<std::string, TemplateValue> m;
  for (const auto& [k, s] : entries) m.emplace(k, String(s));
  TemplateValue v = Map(std::move(m));
  v.type_name_ = "map[string]string";
  return v;
}
TemplateValue TemplateValue::Struct(std::string type_name,
                                    std::map<std::string, TemplateValue> fields) {
  TemplateValue v = Map(std::move(fields));
  v.is_struct_ = true;
  v.type_name_ = std::move(type_name);
  return v;
}

bool TemplateValue::Truthy() const {
  switch (kind_) {
    case Kind::kNil:
      return false;
    case Kind::kBool:
      return b_;
    case Kind::kInt:
      return i_ != 0;
    case Kind::kFloat:
      return f_ != 0;
    case Kind::kString:
      return !s_.empty();
    case Kind::kList:
      return !list_.empty();
    case Kind::kMap:
      return is_struct_ || !map_.empty();
  }
  return false;
}

namespace {
std::string FormatFloat(double f) {
  // Go's %v for float64 is strconv.FormatFloat(f, 'g', -1, 64): the shortest representation,
  // with an exponent only for large or small magnitudes.
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), f);
  std::string s(buf, res.ptr);
  double mag = std::fabs(f);
  if (mag != 0 && (mag < 1e-4 || mag >= 1e21)) {
    res = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
    s.assign(buf, res.ptr);
    // C++ writes e+21 / e-05; Go writes e+21 / e-05 as well.
  }
  return s;
}
}  // namespace

std::string TemplateValue::ToString() const {
  switch (kind_) {
    case Kind::kNil:
      return "<no value>";
    case Kind::kBool:
      return b_ ? "true" : "false";
    case Kind::kInt:
      return std::to_string(i_);
    case Kind::kFloat:
      return FormatFloat(f_);
    case Kind::kString:
      return s_;
    case Kind::kList: {
      std::string out = "[";
      for (std::size_t i = 0; i < list_.size(); ++i) {
        if (i) out += ' ';
        out += list_[i].ToString();
      }
      return out + "]";
    }
    case Kind::kMap: {
      std::string out = is_struct_ ? "{" : "map[";
      bool first = true;
      for (const auto& [k, v] : map_) {
        if (!first) out += ' ';
        first = false;
        if (!is_struct_) out += k + ":";
        out += v.ToString();
      }
      return out + (is_struct_ ? "}" : "]");
    }
  }
  return "";
}

std::string TemplateValue::TypeName() const {
  if (!type_name_.empty()) return type_name_;
  switch (kind_) {
    case Kind::kNil:
      return "<nil>";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kList:
      return "[]interface {}";
    case Kind::kMap:
      return "map[string]interface {}";
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Syntax tree

namespace template_internal {

struct Pipe;

// One operand of a command.
struct Arg {
  enum class Kind { kDot, kField, kVariable, kLiteral, kFunction, kPipe };
  Kind kind = Kind::kDot;
  std::string name;                 // variable ("$x") or function name
  std::vector<std::string> fields;  // field chain applied after the base
  TemplateValue literal;
  std::shared_ptr<Pipe> pipe;  // parenthesised pipeline
  int line = 1, col = 1;
};

struct Command {
  std::vector<Arg> args;
  int line = 1, col = 1;
};

struct Pipe {
  std::vector<std::string> decl;  // declared or assigned variables
  bool assign = false;            // `=` rather than `:=`
  std::vector<Command> cmds;
  int line = 1, col = 1;
};

struct Node {
  enum class Kind { kList, kText, kAction, kIf, kRange, kWith, kBreak, kContinue };
  Kind kind = Kind::kList;
  std::string text;
  std::shared_ptr<Pipe> pipe;
  std::vector<std::shared_ptr<Node>> children;  // kList items
  std::shared_ptr<Node> body;                   // if/range/with
  std::shared_ptr<Node> else_body;              // optional
  int line = 1, col = 1;
};

}  // namespace template_internal

namespace {

using template_internal::Arg;
using template_internal::Command;
using template_internal::Node;
using template_internal::Pipe;
using NodePtr = std::shared_ptr<Node>;

constexpr std::string_view kLeft = "<<";
constexpr std::string_view kRight = ">>";

const std::set<std::string, std::less<>>& Builtins() {
  static const std::set<std::string, std::less<>> kNames = {
      "and", "or", "not", "len",   "index",  "eq",      "ne",  "lt",
      "le",  "gt", "ge",  "print", "printf", "println", "join"};
  return kNames;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

enum class Tok {
  kEof,
  kDot,
  kField,     // .Name
  kVariable,  // $ or $name
  kIdent,     // function or keyword
  kString,
  kNumber,
  kBool,
  kNil,
  kPipe,
  kLParen,
  kRParen,
  kComma,
  kDeclare,  // :=
  kAssign,   // =
};

struct Token {
  Tok tok = Tok::kEof;
  std::string text;  // identifier, field name (without dot), variable name, decoded string
  TemplateValue literal;
  int line = 1, col = 1;
};

class Parser {
 public:
  explicit Parser(std::string_view src) : src_(src) {}

  core::Result<NodePtr> Run() {
    auto root = std::make_shared<Node>();
    root->kind = Node::Kind::kList;
    std::string end_keyword;
    auto st = ParseList(root.get(), &end_keyword);
    if (!st.ok()) return st.error();
    if (!end_keyword.empty())
      return Fail(last_line_, last_col_, "unexpected <<" + end_keyword + ">>");
    return root;
  }

 private:
  // --- positions and errors
  void PosOf(std::size_t offset, int* line, int* col) const {
    int l = 1, c = 1;
    for (std::size_t i = 0; i < offset && i < src_.size(); ++i) {
      if (src_[i] == '\n') {
        ++l;
        c = 1;
      } else {
        ++c;
      }
    }
    *line = l;
    *col = c;
  }
  static core::Error Fail(int line, int col, std::string msg) {
    return core::InvalidArgument(std::to_string(line) + ":" + std::to_string(col) + ": " + msg);
  }
  core::Error FailAt(std::size_t offset, std::string msg) const {
    int l, c;
    PosOf(offset, &l, &c);
    return Fail(l, c, std::move(msg));
  }

  // --- text level: fills `list` until an {{end}}/{{else}} (returned in end_keyword) or EOF.
  core::Status ParseList(Node* list, std::string* end_keyword) {
    while (pos_ < src_.size()) {
      std::size_t open = src_.find(kLeft, pos_);
      std::string_view text =
          src_.substr(pos_, open == std::string_view::npos ? npos() : open - pos_);
      std::size_t action_start = open;
      if (open == std::string_view::npos) {
        AddText(list, text);
        pos_ = src_.size();
        break;
      }
      std::size_t p = open + kLeft.size();
      bool trim_left = p + 1 < src_.size() && src_[p] == '-' && IsSpace(src_[p + 1]);
      if (trim_left) {
        while (!text.empty() && IsSpace(text.back())) text.remove_suffix(1);
        p += 2;
      }
      AddText(list, text);
      pos_ = p;
      PosOf(action_start, &last_line_, &last_col_);
      // Comment: <</* ... */>>
      std::size_t q = pos_;
      while (q < src_.size() && IsSpace(src_[q])) ++q;
      if (src_.substr(q, 2) == "/*") {
        std::size_t close = src_.find("*/", q + 2);
        if (close == std::string_view::npos) return FailAt(action_start, "unclosed comment");
        std::size_t r = close + 2;
        bool trim_right = false;
        while (r < src_.size() && IsSpace(src_[r])) ++r;
        if (src_.substr(r, 1) == "-" && r > close + 2 && src_.substr(r + 1, 2) == kRight) {
          trim_right = true;
          r += 1;
        }
        if (src_.substr(r, 2) != kRight)
          return FailAt(action_start, "comment ends before closing delimiter");
        pos_ = r + 2;
        if (trim_right) SkipSpace();
        continue;
      }
      // An action: tokenize up to the closing delimiter.
      auto toks = LexAction(action_start);
      if (!toks.ok()) return toks.error();
      tokens_ = std::move(*toks);
      ti_ = 0;
      std::string keyword;
      if (Peek().tok == Tok::kIdent) keyword = Peek().text;
      const int line = last_line_, col = last_col_;
      if (keyword == "end" || keyword == "else") {
        if (keyword == "end") {
          Next();
          if (Peek().tok != Tok::kEof) return Unexpected(Peek(), "end");
        }
        *end_keyword = keyword;
        return core::Status::Ok();
      }
      if (keyword == "if" || keyword == "range" || keyword == "with") {
        Next();
        auto n = ParseControl(keyword, line, col);
        if (!n.ok()) return n.error();
        list->children.push_back(std::move(*n));
        continue;
      }
      if (keyword == "break" || keyword == "continue") {
        if (range_depth_ == 0) return Fail(line, col, "{{" + keyword + "}} outside {{range}}");
        Next();
        if (Peek().tok != Tok::kEof) return Unexpected(Peek(), keyword);
        auto n = std::make_shared<Node>();
        n->kind = keyword == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
        n->line = line;
        n->col = col;
        list->children.push_back(n);
        continue;
      }
      if (keyword == "define" || keyword == "template" || keyword == "block") {
        return Fail(line, col, "<<" + keyword + ">> is not supported in adapter templates");
      }
      auto pipe = ParsePipe("command", /*allow_decl=*/true);
      if (!pipe.ok()) return pipe.error();
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::kAction;
      n->pipe = std::move(*pipe);
      n->line = line;
      n->col = col;
      list->children.push_back(n);
    }
    return core::Status::Ok();
  }

  static constexpr std::size_t npos() { return std::string_view::npos; }

  void AddText(Node* list, std::string_view text) {
    if (text.empty()) return;
    auto n = std::make_shared<Node>();
    n->kind = Node::Kind::kText;
    n->text = std::string(text);
    list->children.push_back(n);
  }
  void SkipSpace() {
    while (pos_ < src_.size() && IsSpace(src_[pos_])) ++pos_;
  }

  // if/range/with: pipeline, body, optional else (else if chains for if and with), end.
  core::Result<NodePtr> ParseControl(const std::string& keyword, int line, int col) {
    auto n = std::make_shared<Node>();
    n->kind = keyword == "if"      ? Node::Kind::kIf
              : keyword == "range" ? Node::Kind::kRange
                                   : Node::Kind::kWith;
    n->line = line;
    n->col = col;
    const std::size_t saved_vars = vars_.size();
    auto pipe = ParsePipe(keyword, /*allow_decl=*/true, keyword == "range");
    if (!pipe.ok()) return pipe.error();
    n->pipe = std::move(*pipe);
    if (n->kind == Node::Kind::kRange) ++range_depth_;
    n->body = std::make_shared<Node>();
    std::string end_keyword;
    GPUSCALE_RETURN_IF_ERROR(ParseList(n->body.get(), &end_keyword));
    if (n->kind == Node::Kind::kRange) --range_depth_;
    if (end_keyword.empty())
      return Fail(line, col, "unexpected EOF: <<" + keyword + ">> has no <<end>>");
    if (end_keyword == "else") {
      // Tokens after "else": nothing, or "if ..." / "with ..." for a chain.
      Next();
      n->else_body = std::make_shared<Node>();
      if (Peek().tok == Tok::kIdent && (Peek().text == "if" || Peek().text == "with") &&
          n->kind != Node::Kind::kRange) {
        std::string chained = Next().text;
        auto inner = ParseControl(chained, last_line_, last_col_);
        if (!inner.ok()) return inner.error();
        n->else_body->children.push_back(std::move(*inner));
        // The chained control consumed the shared <<end>>.
        vars_.resize(saved_vars);
        return n;
      }
      if (Peek().tok != Tok::kEof) return Unexpected(Peek(), "else");
      std::string end2;
      GPUSCALE_RETURN_IF_ERROR(ParseList(n->else_body.get(), &end2));
      if (end2 != "end") {
        return Fail(line, col,
                    end2.empty() ? "unexpected EOF: <<" + keyword + ">> has no <<end>>"
                                 : "expected <<end>>, found <<else>>");
      }
    }
    vars_.resize(saved_vars);
    return n;
  }

  core::Error Unexpected(const Token& t, const std::string& context) const {
    std::string what;
    switch (t.tok) {
      case Tok::kEof:
        what = "end of action";
        break;
      case Tok::kString:
        what = "string";
        break;
      case Tok::kNumber:
        what = "number";
        break;
      case Tok::kRParen:
        what = "\")\"";
        break;
      case Tok::kLParen:
        what = "\"(\"";
        break;
      case Tok::kComma:
        what = "\",\"";
        break;
      case Tok::kPipe:
        what = "\"|\"";
        break;
      case Tok::kDeclare:
        what = "\":=\"";
        break;
      case Tok::kAssign:
        what = "\"=\"";
        break;
      default:
        what = "<" + t.text + ">";
    }
    return Fail(t.line, t.col, "unexpected " + what + " in " + context);
  }

  // Pipeline: [decl] command { '|' command }.
  core::Result<std::shared_ptr<Pipe>> ParsePipe(const std::string& context, bool allow_decl,
                                                bool range = false, bool in_paren = false) {
    auto pipe = std::make_shared<Pipe>();
    pipe->line = Peek().line;
    pipe->col = Peek().col;
    if (allow_decl && Peek().tok == Tok::kVariable) {
      // Look ahead for `$x :=`, `$x =` or (range) `$k, $v :=`.
      std::size_t save = ti_;
      std::vector<std::string> names{Next().text};
      if (range && Peek().tok == Tok::kComma) {
        Next();
        if (Peek().tok != Tok::kVariable) return Unexpected(Peek(), context);
        names.push_back(Next().text);
      }
      if (Peek().tok == Tok::kDeclare || Peek().tok == Tok::kAssign) {
        pipe->assign = Next().tok == Tok::kAssign;
        if (pipe->assign) {
          for (const auto& nm : names) {
            if (!VarDefined(nm))
              return Fail(pipe->line, pipe->col, "undefined variable \"" + nm + "\"");
          }
        }
        pipe->decl = names;
      } else if (names.size() == 2) {
        return Unexpected(Peek(), context);
      } else {
        ti_ = save;
      }
    }
    for (;;) {
      Command cmd;
      cmd.line = Peek().line;
      cmd.col = Peek().col;
      for (;;) {
        const Token& t = Peek();
        if (t.tok == Tok::kEof || t.tok == Tok::kPipe) break;
        if (t.tok == Tok::kRParen) {
          if (in_paren) break;
          return Unexpected(t, context);
        }
        auto arg = ParseOperand(context);
        if (!arg.ok()) return arg.error();
        cmd.args.push_back(std::move(*arg));
      }
      if (cmd.args.empty()) {
        return Fail(cmd.line, cmd.col,
                    Peek().tok == Tok::kPipe ? "missing command before \"|\""
                                             : "missing value for " + context);
      }
      for (std::size_t i = 1; i < cmd.args.size(); ++i) {
        if (cmd.args[0].kind != Arg::Kind::kFunction) {
          return Fail(cmd.line, cmd.col,
                      "can't give argument to non-function " + Describe(cmd.args[0]));
        }
      }
      pipe->cmds.push_back(std::move(cmd));
      if (Peek().tok == Tok::kPipe) {
        Next();
        if (Peek().tok == Tok::kEof || Peek().tok == Tok::kRParen) {
          return Fail(Peek().line, Peek().col, "missing command after \"|\"");
        }
        continue;
      }
      break;
    }
    if (!in_paren && Peek().tok != Tok::kEof) return Unexpected(Peek(), context);
    // Declarations come into scope after the pipeline that declares them.
    if (!pipe->assign) {
      for (const auto& nm : pipe->decl) vars_.push_back(nm);
    }
    return pipe;
  }

  static std::string Describe(const Arg& a) {
    switch (a.kind) {
      case Arg::Kind::kDot:
        return ".";
      case Arg::Kind::kField: {
        std::string s;
        for (const auto& f : a.fields) s += "." + f;
        return s;
      }
      case Arg::Kind::kVariable:
        return a.name;
      case Arg::Kind::kLiteral:
        return a.literal.kind() == TemplateValue::Kind::kString
                   ? "\"" + a.literal.string_value() + "\""
                   : a.literal.ToString();
      default:
        return "(...)";
    }
  }

  bool VarDefined(const std::string& name) const {
    if (name == "$") return true;
    for (const auto& v : vars_) {
      if (v == name) return true;
    }
    return false;
  }

  core::Result<Arg> ParseOperand(const std::string& context) {
    Token t = Next();
    Arg a;
    a.line = t.line;
    a.col = t.col;
    switch (t.tok) {
      case Tok::kDot:
        a.kind = Arg::Kind::kDot;
        break;
      case Tok::kField:
        a.kind = Arg::Kind::kField;
        a.fields.push_back(t.text);
        break;
      case Tok::kVariable:
        if (!VarDefined(t.text))
          return Fail(t.line, t.col, "undefined variable \"" + t.text + "\"");
        a.kind = Arg::Kind::kVariable;
        a.name = t.text;
        break;
      case Tok::kString:
      case Tok::kNumber:
      case Tok::kBool:
      case Tok::kNil:
        a.kind = Arg::Kind::kLiteral;
        a.literal = t.literal;
        if (t.tok == Tok::kNil) return Fail(t.line, t.col, "nil is not a command");
        break;
      case Tok::kIdent:
        if (!Builtins().contains(t.text)) {
          return Fail(t.line, t.col, "function \"" + t.text + "\" not defined");
        }
        a.kind = Arg::Kind::kFunction;
        a.name = t.text;
        return a;
      case Tok::kLParen: {
        auto inner = ParsePipe(context, /*allow_decl=*/false, false, /*in_paren=*/true);
        if (!inner.ok()) return inner.error();
        if (Peek().tok != Tok::kRParen) return Fail(t.line, t.col, "unclosed left paren");
        Next();
        a.kind = Arg::Kind::kPipe;
        a.pipe = std::move(*inner);
        break;
      }
      default:
        return Unexpected(t, context);
    }
    // Trailing field chain: .A.B after any operand except a literal.
    while (Peek().tok == Tok::kField && Adjacent()) {
      if (a.kind == Arg::Kind::kLiteral) return Fail(t.line, t.col, "unexpected . after term");
      if (a.kind == Arg::Kind::kDot) {
        a.kind = Arg::Kind::kField;
      }
      a.fields.push_back(Next().text);
    }
    return a;
  }

  // True when the next token directly follows the previous one (no space), as `$x.Field`.
  bool Adjacent() const {
    if (ti_ == 0) return false;
    return tokens_[ti_].adjacent_to_prev;
  }

  struct LexToken : Token {
    bool adjacent_to_prev = false;
  };

  const LexToken& Peek() const { return tokens_[ti_]; }
  const LexToken& Next() {
    const LexToken& t = tokens_[ti_];
    if (ti_ + 1 < tokens_.size()) ++ti_;
    last_line_ = t.line;
    last_col_ = t.col;
    return t;
  }

  // Tokenizes one action starting after the opening delimiter (at pos_), through the closing
  // delimiter (with its optional trim marker); leaves pos_ after it.
  core::Result<std::vector<LexToken>> LexAction(std::size_t action_start) {
    std::vector<LexToken> out;
    std::size_t prev_end = npos();
    for (;;) {
      std::size_t start = pos_;
      while (pos_ < src_.size() && IsSpace(src_[pos_])) ++pos_;
      bool had_space = pos_ != start;
      if (pos_ >= src_.size()) return FailAt(action_start, "unclosed action");
      // Closing delimiter, with optional trim marker " ->>".
      if (had_space && src_.substr(pos_, 1) == "-" && src_.substr(pos_ + 1, 2) == kRight) {
        pos_ += 3;
        SkipSpace();
        break;
      }
      if (src_.substr(pos_, 2) == kRight) {
        pos_ += 2;
        break;
      }
      LexToken t;
      PosOf(pos_, &t.line, &t.col);
      t.adjacent_to_prev = prev_end == pos_;
      char c = src_[pos_];
      if (c == '.' && pos_ + 1 < src_.size() &&
          (std::isalpha(static_cast<unsigned char>(src_[pos_ + 1])) || src_[pos_ + 1] == '_')) {
        std::size_t e = pos_ + 1;
        while (e < src_.size() && IsIdentChar(src_[e])) ++e;
        t.tok = Tok::kField;
        t.text = std::string(src_.substr(pos_ + 1, e - pos_ - 1));
        pos_ = e;
      } else if (c == '.' && !(pos_ + 1 < src_.size() &&
                               std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])))) {
        t.tok = Tok::kDot;
        ++pos_;
      } else if (c == '$') {
        std::size_t e = pos_ + 1;
        while (e < src_.size() && IsIdentChar(src_[e])) ++e;
        t.tok = Tok::kVariable;
        t.text = std::string(src_.substr(pos_, e - pos_));
        pos_ = e;
      } else if (c == '"' || c == '`') {
        auto s = LexString();
        if (!s.ok()) return s.error();
        t.tok = Tok::kString;
        t.literal = TemplateValue::String(*s);
      } else if (std::isdigit(static_cast<unsigned char>(c)) || c == '.' ||
                 ((c == '-' || c == '+') && pos_ + 1 < src_.size() &&
                  (std::isdigit(static_cast<unsigned char>(src_[pos_ + 1])) ||
                   src_[pos_ + 1] == '.'))) {
        std::size_t e = pos_ + 1;
        while (e < src_.size() && (IsIdentChar(src_[e]) || src_[e] == '.' ||
                                   ((src_[e] == '+' || src_[e] == '-') &&
                                    (src_[e - 1] == 'e' || src_[e - 1] == 'E')))) {
          ++e;
        }
        std::string num(src_.substr(pos_, e - pos_));
        auto lit = ParseNumber(num);
        if (!lit) return FailAt(pos_, "bad number syntax: \"" + num + "\"");
        t.tok = Tok::kNumber;
        t.literal = *lit;
        pos_ = e;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t e = pos_;
        while (e < src_.size() && IsIdentChar(src_[e])) ++e;
        t.text = std::string(src_.substr(pos_, e - pos_));
        if (t.text == "true" || t.text == "false") {
          t.tok = Tok::kBool;
          t.literal = TemplateValue::Bool(t.text == "true");
        } else if (t.text == "nil") {
          t.tok = Tok::kNil;
        } else {
          t.tok = Tok::kIdent;
        }
        pos_ = e;
      } else if (c == '|') {
        t.tok = Tok::kPipe;
        ++pos_;
      } else if (c == '(') {
        t.tok = Tok::kLParen;
        ++pos_;
      } else if (c == ')') {
        t.tok = Tok::kRParen;
        ++pos_;
      } else if (c == ',') {
        t.tok = Tok::kComma;
        ++pos_;
      } else if (c == ':' && src_.substr(pos_, 2) == ":=") {
        t.tok = Tok::kDeclare;
        pos_ += 2;
      } else if (c == '=') {
        t.tok = Tok::kAssign;
        ++pos_;
      } else {
        return FailAt(pos_, std::string("unexpected \"") + c + "\" in action");
      }
      prev_end = pos_;
      out.push_back(std::move(t));
    }
    LexToken eof;
    PosOf(pos_, &eof.line, &eof.col);
    eof.tok = Tok::kEof;
    out.push_back(eof);
    return out;
  }

  static std::optional<TemplateValue> ParseNumber(const std::string& s) {
    std::int64_t i = 0;
    const char* b = s.data();
    const char* e = s.data() + s.size();
    if (*b == '+') ++b;
    auto r = std::from_chars(b, e, i);
    if (r.ec == std::errc() && r.ptr == e) return TemplateValue::Int(i);
    double d = 0;
    auto rd = std::from_chars(b, e, d);
    if (rd.ec == std::errc() && rd.ptr == e) return TemplateValue::Float(d);
    return std::nullopt;
  }

  // A Go interpreted ("...") or raw (`...`) string at pos_.
  core::Result<std::string> LexString() {
    const std::size_t start = pos_;
    const char quote = src_[pos_++];
    std::string out;
    while (pos_ < src_.size()) {
      char c = src_[pos_++];
      if (c == quote) return out;
      if (quote == '`') {
        out += c;
        continue;
      }
      if (c == '\n') break;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= src_.size()) break;
      char esc = src_[pos_++];
      switch (esc) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
        case '"':
        case '\'':
          out += esc;
          break;
        case 'x': {
          if (pos_ + 2 > src_.size()) return FailAt(start, "bad escape in string");
          unsigned v = 0;
          auto r = std::from_chars(src_.data() + pos_, src_.data() + pos_ + 2, v, 16);
          if (r.ptr != src_.data() + pos_ + 2) return FailAt(start, "bad escape in string");
          out += static_cast<char>(v);
          pos_ += 2;
          break;
        }
        default:
          return FailAt(pos_ - 2, std::string("unknown escape sequence \\") + esc);
      }
    }
    return FailAt(start, "unterminated quoted string");
  }

  std::string_view src_;
  std::size_t pos_ = 0;
  std::vector<LexToken> tokens_;
  std::size_t ti_ = 0;
  std::vector<std::string> vars_;
  int range_depth_ = 0;
  int last_line_ = 1, last_col_ = 1;
};

// ---------------------------------------------------------------------------------------------
// Evaluation

enum class Flow { kNormal, kBreak, kContinue };

class Executor {
 public:
  explicit Executor(const TemplateValue& dot) : root_(dot) { vars_.push_back({"$", dot}); }

  core::Result<Flow> Walk(const Node& n, const TemplateValue& dot, std::string* out) {
    switch (n.kind) {
      case Node::Kind::kList:
        for (const auto& c : n.children) {
          GPUSCALE_ASSIGN_OR_RETURN(Flow f, Walk(*c, dot, out));
          if (f != Flow::kNormal) return f;
        }
        return Flow::kNormal;
      case Node::Kind::kText:
        out->append(n.text);
        return Flow::kNormal;
      case Node::Kind::kAction: {
        GPUSCALE_ASSIGN_OR_RETURN(TemplateValue v, EvalPipe(*n.pipe, dot));
        if (n.pipe->decl.empty()) out->append(v.ToString());
        return Flow::kNormal;
      }
      case Node::Kind::kBreak:
        return Flow::kBreak;
      case Node::Kind::kContinue:
        return Flow::kContinue;
      case Node::Kind::kIf:
      case Node::Kind::kWith: {
        const std::size_t mark = vars_.size();
        GPUSCALE_ASSIGN_OR_RETURN(TemplateValue v, EvalPipe(*n.pipe, dot));
        core::Result<Flow> r = Flow::kNormal;
        if (v.Truthy()) {
          r = Walk(*n.body, n.kind == Node::Kind::kWith ? v : dot, out);
        } else if (n.else_body) {
          r = Walk(*n.else_body, dot, out);
        }
        vars_.resize(mark);
        return r;
      }
      case Node::Kind::kRange:
        return WalkRange(n, dot, out);
    }
    return Flow::kNormal;
  }

 private:
  core::Result<Flow> WalkRange(const Node& n, const TemplateValue& dot, std::string* out) {
    const std::size_t mark = vars_.size();
    // Evaluate without declaring: the range variables take each element.
    Pipe p = *n.pipe;
    std::vector<std::string> decl = std::move(p.decl);
    p.decl.clear();
    GPUSCALE_ASSIGN_OR_RETURN(TemplateValue v, EvalPipe(p, dot));
    auto one = [&](const TemplateValue& key, const TemplateValue& elem) -> core::Result<Flow> {
      vars_.resize(mark);
      if (decl.size() == 1) vars_.push_back({decl[0], elem});
      if (decl.size() == 2) {
        vars_.push_back({decl[0], key});
        vars_.push_back({decl[1], elem});
      }
      return Walk(*n.body, elem, out);
    };
    bool any = false;
    switch (v.kind()) {
      case TemplateValue::Kind::kList:
        for (std::size_t i = 0; i < v.list().size(); ++i) {
          any = true;
          GPUSCALE_ASSIGN_OR_RETURN(
              Flow f, one(TemplateValue::Int(static_cast<std::int64_t>(i)), v.list()[i]));
          if (f == Flow::kBreak) break;
        }
        break;
      case TemplateValue::Kind::kMap:
        if (v.is_struct()) return Err(n.line, n.col, "range can't iterate over " + v.ToString());
        for (const auto& [k, elem] : v.map()) {
          any = true;
          GPUSCALE_ASSIGN_OR_RETURN(Flow f, one(TemplateValue::String(k), elem));
          if (f == Flow::kBreak) break;
        }
        break;
      case TemplateValue::Kind::kInt:
        for (std::int64_t i = 0; i < v.int_value(); ++i) {
          any = true;
          GPUSCALE_ASSIGN_OR_RETURN(Flow f, one(TemplateValue::Int(i), TemplateValue::Int(i)));
          if (f == Flow::kBreak) break;
        }
        break;
      case TemplateValue::Kind::kNil:
        break;
      default:
        return Err(n.line, n.col, "range can't iterate over " + v.ToString());
    }
    vars_.resize(mark);
    if (!any && n.else_body) {
      GPUSCALE_ASSIGN_OR_RETURN(Flow f, Walk(*n.else_body, dot, out));
      (void)f;
      vars_.resize(mark);
    }
    return Flow::kNormal;
  }

  static core::Error Err(int line, int col, std::string msg) {
    return core::InvalidArgument(std::to_string(line) + ":" + std::to_string(col) + ": " + msg);
  }

  core::Result<TemplateValue> EvalPipe(const Pipe& p, const TemplateValue& dot) {
    std::optional<TemplateValue> final;
    for (const auto& cmd : p.cmds) {
      GPUSCALE_ASSIGN_OR_RETURN(TemplateValue v, EvalCommand(cmd, dot, final));
      final = std::move(v);
    }
    TemplateValue result = final ? *final : TemplateValue();
    if (!p.decl.empty()) {
      if (p.assign) {
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
          if (it->first == p.decl[0]) {
            it->second = result;
            break;
          }
        }
      } else {
        vars_.push_back({p.decl[0], result});
      }
    }
    return result;
  }

  core::Result<TemplateValue> EvalCommand(const Command& cmd, const TemplateValue& dot,
                                          const std::optional<TemplateValue>& final) {
    const Arg& first = cmd.args[0];
    if (first.kind == Arg::Kind::kFunction) {
      // and/or short-circuit: evaluate lazily.
      std::vector<TemplateValue> args;
      if (first.name == "and" || first.name == "or") {
        const bool is_and = first.name == "and";
        const std::size_t n = cmd.args.size() - 1 + (final ? 1 : 0);
        if (n < 1)
          return Err(cmd.line, cmd.col,
                     "wrong number of args for " + first.name + ": want at least 1 got 0");
        TemplateValue v;
        for (std::size_t i = 1; i <= n; ++i) {
          if (i < cmd.args.size()) {
            GPUSCALE_ASSIGN_OR_RETURN(v, EvalArg(cmd.args[i], dot));
          } else {
            v = *final;
          }
          if (v.Truthy() != is_and) return v;
        }
        return v;
      }
      for (std::size_t i = 1; i < cmd.args.size(); ++i) {
        GPUSCALE_ASSIGN_OR_RETURN(TemplateValue v, EvalArg(cmd.args[i], dot));
        args.push_back(std::move(v));
      }
      if (final) args.push_back(*final);
      auto r = CallBuiltin(first.name, args);
      if (!r.ok())
        return Err(cmd.line, cmd.col, "error calling " + first.name + ": " + r.error().message);
      return r;
    }
    if (final) {
      return Err(cmd.line, cmd.col, "can't give argument to non-function");
    }
    return EvalArg(first, dot);
  }

  core::Result<TemplateValue> EvalArg(const Arg& a, const TemplateValue& dot) {
    TemplateValue base;
    switch (a.kind) {
      case Arg::Kind::kDot:
      case Arg::Kind::kField:
        base = dot;
        break;
      case Arg::Kind::kVariable: {
        bool found = false;
        for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
          if (it->first == a.name) {
            base = it->second;
            found = true;
            break;
          }
        }
        if (!found) return Err(a.line, a.col, "undefined variable: " + a.name);
        break;
      }
      case Arg::Kind::kLiteral:
        return a.literal;
      case Arg::Kind::kPipe: {
        GPUSCALE_ASSIGN_OR_RETURN(base, EvalPipe(*a.pipe, dot));
        break;
      }
      case Arg::Kind::kFunction: {
        auto r = CallBuiltin(a.name, {});
        if (!r.ok())
          return Err(a.line, a.col, "error calling " + a.name + ": " + r.error().message);
        return r;
      }
    }
    for (const auto& f : a.fields) {
      if (base.kind() != TemplateValue::Kind::kMap) {
        if (base.kind() == TemplateValue::Kind::kNil) {
          return Err(a.line, a.col, "nil pointer evaluating interface {}." + f);
        }
        return Err(a.line, a.col, "can't evaluate field " + f + " in type " + base.TypeName());
      }
      auto it = base.map().find(f);
      if (it == base.map().end()) {
        if (base.is_struct())
          return Err(a.line, a.col, "can't evaluate field " + f + " in type " + base.TypeName());
        base = TemplateValue::String("");
        continue;
      }
      TemplateValue next = it->second;
      base = std::move(next);
    }
    return base;
  }

  static core::Result<TemplateValue> CallBuiltin(const std::string& name,
                                                 const std::vector<TemplateValue>& args) {
    auto want = [&](std::size_t n) -> core::Status {
      if (args.size() != n) {
        return core::InvalidArgument("wrong number of args for " + name + ": want " +
                                     std::to_string(n) + " got " + std::to_string(args.size()));
      }
      return core::Status::Ok();
    };
    if (name == "not") {
      GPUSCALE_RETURN_IF_ERROR(want(1));
      return TemplateValue::Bool(!args[0].Truthy());
    }
    if (name == "len") {
      GPUSCALE_RETURN_IF_ERROR(want(1));
      const auto& v = args[0];
      switch (v.kind()) {
        case TemplateValue::Kind::kString:
          return TemplateValue::Int(static_cast<std::int64_t>(v.string_value().size()));
        case TemplateValue::Kind::kList:
          return TemplateValue::Int(static_cast<std::int64_t>(v.list().size()));
        case TemplateValue::Kind::kMap:
          if (!v.is_struct()) return TemplateValue::Int(static_cast<std::int64_t>(v.map().size()));
          [[fallthrough]];
        default:
          return core::InvalidArgument("len of type " + v.TypeName());
      }
    }
    if (name == "index") {
      if (args.empty())
        return core::InvalidArgument("wrong number of args for index: want at least 1 got 0");
      TemplateValue v = args[0];
      for (std::size_t i = 1; i < args.size(); ++i) {
        const auto& k = args[i];
        if (v.kind() == TemplateValue::Kind::kMap && !v.is_struct()) {
          if (k.kind() != TemplateValue::Kind::kString) {
            return core::InvalidArgument("value has type " + k.TypeName() + "; should be string");
          }
          auto it = v.map().find(k.string_value());
          TemplateValue next = it == v.map().end() ? TemplateValue::String("") : it->second;
          v = std::move(next);
        } else if (v.kind() == TemplateValue::Kind::kList) {
          if (k.kind() != TemplateValue::Kind::kInt)
            return core::InvalidArgument("cannot index slice/array with type " + k.TypeName());
          if (k.int_value() < 0 || static_cast<std::size_t>(k.int_value()) >= v.list().size()) {
            return core::InvalidArgument("index out of range: " + std::to_string(k.int_value()));
          }
          TemplateValue next = v.list()[static_cast<std::size_t>(k.int_value())];
          v = std::move(next);
        } else if (v.kind() == TemplateValue::Kind::kNil) {
          return core::InvalidArgument("index of untyped nil");
        } else {
          return core::InvalidArgument("can't index item of type " + v.TypeName());
        }
      }
      return v;
    }
    if (name == "join") {
      GPUSCALE_RETURN_IF_ERROR(want(2));
      if (args[0].kind() != TemplateValue::Kind::kString) {
        return core::InvalidArgument("separator must be a string, got " + args[0].TypeName());
      }
      if (args[1].kind() != TemplateValue::Kind::kList) {
        return core::InvalidArgument("can't join type " + args[1].TypeName());
      }
      std::string out;
      for (std::size_t i = 0; i < args[1].list().size(); ++i) {
        if (i) out += args[0].string_value();
        out += args[1].list()[i].ToString();
      }
      return TemplateValue::String(std::move(out));
    }
    if (name == "print" || name == "println") {
      std::string out;
      for (std::size_t i = 0; i < args.size(); ++i) {
        // fmt.Sprint adds a space between operands when neither is a string; Sprintln always.
        if (i > 0 && (name == "println" || (args[i - 1].kind() != TemplateValue::Kind::kString &&
                                            args[i].kind() != TemplateValue::Kind::kString))) {
          out += ' ';
        }
        out += args[i].ToString();
      }
      if (name == "println") out += '\n';
      return TemplateValue::String(std::move(out));
    }
    if (name == "printf") {
      if (args.empty() || args[0].kind() != TemplateValue::Kind::kString) {
        return core::InvalidArgument("printf needs a format string");
      }
      return TemplateValue::String(Sprintf(args[0].string_value(), args, 1));
    }
    if (name == "eq" || name == "ne" || name == "lt" || name == "le" || name == "gt" ||
        name == "ge") {
      if (name == "eq") {
        if (args.size() < 2) return core::InvalidArgument("missing argument for comparison");
        for (std::size_t i = 1; i < args.size(); ++i) {
          GPUSCALE_ASSIGN_OR_RETURN(int c, Compare(args[0], args[i], true));
          if (c == 0) return TemplateValue::Bool(true);
        }
        return TemplateValue::Bool(false);
      }
      GPUSCALE_RETURN_IF_ERROR(want(2));
      GPUSCALE_ASSIGN_OR_RETURN(int c, Compare(args[0], args[1], name == "ne"));
      if (name == "ne") return TemplateValue::Bool(c != 0);
      if (name == "lt") return TemplateValue::Bool(c < 0);
      if (name == "le") return TemplateValue::Bool(c <= 0);
      if (name == "gt") return TemplateValue::Bool(c > 0);
      return TemplateValue::Bool(c >= 0);
    }
    return core::InvalidArgument("function \"" + name + "\" not defined");
  }

  // -1, 0, 1; for equality-only comparisons of bools, 0 or 1.
  static core::Result<int> Compare(const TemplateValue& a, const TemplateValue& b, bool equality) {
    using K = TemplateValue::Kind;
    auto num = [](const TemplateValue& v) {
      return v.kind() == K::kInt ? static_cast<double>(v.int_value()) : v.float_value();
    };
    if (a.kind() == K::kString && b.kind() == K::kString) {
      int c = a.string_value().compare(b.string_value());
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (a.kind() == K::kInt && b.kind() == K::kInt) {
      return a.int_value() < b.int_value() ? -1 : a.int_value() > b.int_value() ? 1 : 0;
    }
    if ((a.kind() == K::kInt || a.kind() == K::kFloat) &&
        (b.kind() == K::kInt || b.kind() == K::kFloat) && a.kind() == b.kind()) {
      double x = num(a), y = num(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (equality && a.kind() == K::kBool && b.kind() == K::kBool) {
      return a.bool_value() == b.bool_value() ? 0 : 1;
    }
    if (equality && (a.kind() == K::kNil || b.kind() == K::kNil)) {
      return a.kind() == b.kind() ? 0 : 1;
    }
    if (a.kind() != b.kind()) return core::InvalidArgument("incompatible types for comparison");
    return core::InvalidArgument("invalid type for comparison");
  }

  static std::string Sprintf(const std::string& fmt, const std::vector<TemplateValue>& args,
                             std::size_t next) {
    std::string out;
    for (std::size_t i = 0; i < fmt.size(); ++i) {
      char c = fmt[i];
      if (c != '%' || i + 1 >= fmt.size()) {
        out += c;
        continue;
      }
      char verb = fmt[++i];
      if (verb == '%') {
        out += '%';
        continue;
      }
      if (next >= args.size()) {
        out += "%!";
        out += verb;
        out += "(MISSING)";
        continue;
      }
      const TemplateValue& v = args[next++];
      switch (verb) {
        case 'v':
        case 's':
          out += v.ToString();
          break;
        case 'd':
          if (v.kind() == TemplateValue::Kind::kInt) {
            out += std::to_string(v.int_value());
          } else {
            out += "%!d(" + v.TypeName() + "=" + v.ToString() + ")";
          }
          break;
        case 'q': {
          out += '"';
          for (char ch : v.ToString()) {
            if (ch == '"' || ch == '\\') out += '\\';
            out += ch;
          }
          out += '"';
          break;
        }
        case 'f':
        case 'g': {
          double d = v.kind() == TemplateValue::Kind::kInt ? static_cast<double>(v.int_value())
                                                           : v.float_value();
          char buf[64];
          std::snprintf(buf, sizeof(buf), verb == 'f' ? "%f" : "%g", d);
          out += buf;
          break;
        }
        default:
          out += "%!";
          out += verb;
          out += "(" + v.TypeName() + "=" + v.ToString() + ")";
      }
    }
    for (; next < args.size(); ++next) {
      out += "%!(EXTRA " + args[next].TypeName() + "=" + args[next].ToString() + ")";
    }
    return out;
  }

  const TemplateValue& root_;
  std::vector<std::pair<std::string, TemplateValue>> vars_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Template

Template::Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

core::Result<Template> Template::Parse(std::string_view text) {
  Parser parser(text);
  GPUSCALE_ASSIGN_OR_RETURN(NodePtr root, parser.Run());
  Template t;
  t.source_ = std::string(text);
  t.root_ = std::move(root);
  return t;
}

core::Result<std::string> Template::Execute(const TemplateValue& dot) const {
  std::string out;
  Executor ex(dot);
  GPUSCALE_ASSIGN_OR_RETURN(Flow f, ex.Walk(*root_, dot, &out));
  (void)f;
  return out;
}

bool Template::IsConstant() const {
  for (const auto& c : root_->children) {
    if (c->kind != Node::Kind::kText) return false;
  }
  return true;
}

}  // namespace gpuscale::adapter
