// The subset of Go's text/template that prometheus-adapter rules use, with `<<`/`>>` delimiters:
// text, actions with pipelines and variables, if/else if/else, range (with else), with, trim
// markers (`<<-`, `->>`), comments, and the builtins and, or, not, len, index, eq, ne, lt, le,
// gt, ge, print, printf, println, plus join (SEP LIST, as in Sprig).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gpuscale::adapter {

// A value a template reads or computes. Maps iterate in sorted key order, like Go's range over a
// map. A struct is a map whose missing fields are an execution error (Go: "can't evaluate
// field"); a plain map yields "" for a missing key (the zero value of map[string]string).
class TemplateValue {
 public:
  enum class Kind { kNil, kBool, kInt, kFloat, kString, kList, kMap };

  TemplateValue() = default;
  static TemplateValue Bool(bool b);
  static TemplateValue Int(std::int64_t i);
  static TemplateValue Float(double f);
  static TemplateValue String(std::string s);
  static TemplateValue List(std::vector<TemplateValue> items);
  static TemplateValue StringList(const std::vector<std::string>& items);
  static TemplateValue Map(std::map<std::string, TemplateValue> entries);
  static TemplateValue StringMap(const std::map<std::string, std::string>& entries);
  // `type_name` appears in errors about missing fields, as Go prints the struct's type.
  static TemplateValue Struct(std::string type_name, std::map<std::string, TemplateValue> fields);

  Kind kind() const { return kind_; }
  bool is_struct() const { return is_struct_; }
  bool bool_value() const { return b_; }
  std::int64_t int_value() const { return i_; }
  double float_value() const { return f_; }
  const std::string& string_value() const { return s_; }
  const std::vector<TemplateValue>& list() const { return list_; }
  const std::map<std::string, TemplateValue>& map() const { return map_; }
  const std::string& type_name() const { return type_name_; }

  // Go's truth: false, 0, "", nil and empty lists and maps are false.
  bool Truthy() const;
  // As fmt.Sprint prints it: "[a b]" for lists, "map[k:v]" for maps, "<no value>" for nil.
  std::string ToString() const;
  // The Go type's name, for error messages ("string", "[]string", "map[string]string").
  std::string TypeName() const;

 private:
  Kind kind_ = Kind::kNil;
  bool b_ = false;
  bool is_struct_ = false;
  std::int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::vector<TemplateValue> list_;
  std::map<std::string, TemplateValue> map_;
  std::string type_name_;
};

namespace template_internal {
struct Node;
}  // namespace template_internal

// A parsed template. Immutable after Parse; Execute is thread-safe.
class Template {
 public:
  // Parses `text`. Errors are InvalidArgument with Go-like messages that carry the position in
  // the template: "1:12: function \"joinn\" not defined".
  static core::Result<Template> Parse(std::string_view text);

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

  // Runs the template with `dot` as `.` and `$`. Errors are InvalidArgument with the position of
  // the failing action: "1:3: can't evaluate field Foo in type naming.queryTemplateArgs".
  core::Result<std::string> Execute(const TemplateValue& dot) const;
  // The source text it was parsed from.
  const std::string& source() const { return source_; }
  // True when the template has no actions (its output is its text).
  bool IsConstant() const;

 private:
  Template();
  std::string source_;
  std::shared_ptr<const template_internal::Node> root_;
};

}  // namespace gpuscale::adapter
