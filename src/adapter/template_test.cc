#include "adapter/template.h"

#include <gtest/gtest.h>

namespace gpuscale::adapter {
namespace {

TemplateValue QueryArgs() {
  return TemplateValue::Struct(
      "naming.queryTemplateArgs",
      {{"Series", TemplateValue::String("http_requests_total")},
       {"LabelMatchers", TemplateValue::String("namespace=\"default\",pod=~\"a|b\"")},
       {"LabelValuesByName", TemplateValue::StringMap({{"namespace", "default"}, {"pod", "a|b"}})},
       {"GroupBy", TemplateValue::String("pod")},
       {"GroupBySlice", TemplateValue::StringList({"pod", "container"})}});
}

std::string Render(std::string_view text, const TemplateValue& dot = QueryArgs()) {
  auto t = Template::Parse(text);
  if (!t.ok()) return "PARSE ERROR: " + t.error().message;
  auto out = t->Execute(dot);
  if (!out.ok()) return "EXEC ERROR: " + out.error().message;
  return *out;
}

TEST(AdapterTemplate, TextAndFields) {
  EXPECT_EQ(Render("plain"), "plain");
  EXPECT_EQ(Render("sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)"),
            "sum(http_requests_total{namespace=\"default\",pod=~\"a|b\"}) by (pod)");
  EXPECT_EQ(Render("<<.GroupBySlice>>"), "[pod container]");
  EXPECT_EQ(Render("<<.LabelValuesByName>>"), "map[namespace:default pod:a|b]");
  EXPECT_EQ(Render("<<.LabelValuesByName.pod>>"), "a|b");
  EXPECT_EQ(Render("<<.LabelValuesByName.missing>>"), "");
}

TEST(AdapterTemplate, Index) {
  EXPECT_EQ(Render("<<index .LabelValuesByName \"namespace\">>"), "default");
  EXPECT_EQ(Render("<<index .GroupBySlice 1>>"), "container");
  EXPECT_EQ(Render("<<index .LabelValuesByName \"nope\">>"), "");
  EXPECT_EQ(Render("<<index .GroupBySlice 5>>"),
            "EXEC ERROR: 1:3: error calling index: index out of range: 5");
}

TEST(AdapterTemplate, RangeOverMapIsSortedAndBindsVariables) {
  EXPECT_EQ(Render("<<range $k, $v := .LabelValuesByName>><<$k>>=<<$v>>;<<end>>"),
            "namespace=default;pod=a|b;");
  EXPECT_EQ(Render("<<range .GroupBySlice>>[<<.>>]<<end>>"), "[pod][container]");
  EXPECT_EQ(Render("<<range $i, $e := .GroupBySlice>><<$i>>:<<$e>> <<end>>"), "0:pod 1:container ");
  EXPECT_EQ(Render("<<range .Empty>>x<<else>>none<<end>>",
                   TemplateValue::Map({{"Empty", TemplateValue::StringList({})}})),
            "none");
}

TEST(AdapterTemplate, IfElseChainsAndComparisons) {
  const std::string t =
      "<<range $k, $v := .LabelValuesByName>><<if ne $k \"namespace\">><<$k>>=~\"<<$v>>\""
      "<<end>><<end>>";
  EXPECT_EQ(Render(t), "pod=~\"a|b\"");
  EXPECT_EQ(
      Render("<<if eq .GroupBy \"x\">>x<<else if eq .GroupBy \"pod\">>pod<<else>>other<<end>>"),
      "pod");
  EXPECT_EQ(Render("<<if and .Series (not .GroupBy)>>a<<else>>b<<end>>"), "b");
  EXPECT_EQ(Render("<<if or \"\" .GroupBy>>yes<<end>>"), "yes");
  EXPECT_EQ(Render("<<if lt 1 2>>lt<<end>><<if ge 2 2>>ge<<end>><<if gt \"b\" \"a\">>gt<<end>>"),
            "ltgegt");
  EXPECT_EQ(Render("<<if eq .GroupBy \"a\" \"b\" \"pod\">>any<<end>>"), "any");
}

TEST(AdapterTemplate, VariablesPipelinesAndJoin) {
  EXPECT_EQ(Render("<<$s := .Series>><<$s>>"), "http_requests_total");
  EXPECT_EQ(Render("<<$x := \"a\">><<$x = \"b\">><<$x>>"), "b");
  EXPECT_EQ(Render("<<.GroupBySlice | join \",\">>"), "pod,container");
  EXPECT_EQ(Render("<<join \",\" .GroupBySlice>>"), "pod,container");
  EXPECT_EQ(Render("<<len .GroupBySlice>> <<.Series | len>>"), "2 19");
  EXPECT_EQ(Render("<<printf \"%s[%d]\" .Series 5>>"), "http_requests_total[5]");
  EXPECT_EQ(Render("<<print 1 2 \"x\" 3>>"), "1 2x3");
  EXPECT_EQ(Render("<<(index .LabelValuesByName \"pod\") | printf \"%q\">>"), "\"a|b\"");
  EXPECT_EQ(Render("<<$.Series>>"), "http_requests_total");
  EXPECT_EQ(Render("<<with .GroupBy>>by (<<.>>)<<end>>"), "by (pod)");
}

TEST(AdapterTemplate, TrimMarkersAndComments) {
  EXPECT_EQ(Render("a  <<- .GroupBy ->>  b"), "apodb");
  EXPECT_EQ(Render("a <</* note */>> b"), "a  b");
  EXPECT_EQ(Render("a\n  <<- /* note */ ->>\n  b"), "ab");
  EXPECT_EQ(Render("<<-3>>"), "-3");
}

TEST(AdapterTemplate, ParseErrorsNamePosition) {
  EXPECT_EQ(Render("sum(<<.Series"), "PARSE ERROR: 1:5: unclosed action");
  EXPECT_EQ(Render("<<joinn \",\" .GroupBySlice>>"),
            "PARSE ERROR: 1:3: function \"joinn\" not defined");
  EXPECT_EQ(Render("x\n<<if .Series>>y"),
            "PARSE ERROR: 2:1: unexpected EOF: <<if>> has no <<end>>");
  EXPECT_EQ(Render("<<end>>"), "PARSE ERROR: 1:3: unexpected <<end>>");
  EXPECT_EQ(Render("<<$nope>>"), "PARSE ERROR: 1:3: undefined variable \"$nope\"");
  EXPECT_EQ(Render("<<.Series 1>>"),
            "PARSE ERROR: 1:3: can't give argument to non-function .Series");
  EXPECT_EQ(Render("<<\"abc>>"), "PARSE ERROR: 1:3: unterminated quoted string");
  EXPECT_EQ(Render("<<range $k, $v := .LabelValuesByName>><<end>><<$k>>"),
            "PARSE ERROR: 1:48: undefined variable \"$k\"");
}

TEST(AdapterTemplate, ExecutionErrors) {
  // The field prometheus-adapter's doc comment names but the struct lacks.
  EXPECT_EQ(Render("<<.LabelMatchersByName>>"),
            "EXEC ERROR: 1:3: can't evaluate field LabelMatchersByName in type "
            "naming.queryTemplateArgs");
  EXPECT_EQ(Render("<<.Series.Foo>>"), "EXEC ERROR: 1:3: can't evaluate field Foo in type string");
  EXPECT_EQ(Render("<<if lt .Series 1>>x<<end>>"),
            "EXEC ERROR: 1:6: error calling lt: incompatible types for comparison");
}

TEST(AdapterTemplate, Constant) {
  auto t = Template::Parse("no actions");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->IsConstant());
  auto u = Template::Parse("<<.Resource>>");
  ASSERT_TRUE(u.ok());
  EXPECT_FALSE(u->IsConstant());
}

}  // namespace
}  // namespace gpuscale::adapter
