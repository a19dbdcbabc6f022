#include "adapter/query.h"

#include <gtest/gtest.h>

namespace gpuscale::adapter {
namespace {

TEST(AdapterQuery, ParseSelector) {
  auto r = ParseLabelSelector("tier in (b, a),app=web,!canary,env!=prod,x notin (z),y");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(SelectorString(*r), "app=web,!canary,env!=prod,tier in (a,b),x notin (z),y");
  EXPECT_TRUE(ParseLabelSelector("")->empty());
  EXPECT_EQ(ParseLabelSelector("app=web,").error().message,
            "unable to parse requirement: at position 8 of \"app=web,\": expected a label key");
  EXPECT_EQ(ParseLabelSelector("a in (b").error().message,
            "unable to parse requirement: at position 7 of \"a in (b\": expected ',' or ')' in "
            "value set");
  EXPECT_FALSE(ParseLabelSelector("a>b").ok());
  EXPECT_TRUE(ParseLabelSelector("a>5").ok());
}

TEST(AdapterQuery, MatchesSelector) {
  auto sel = *ParseLabelSelector("app=web,tier in (a,b),!canary,gen>2");
  EXPECT_TRUE(MatchesSelector(sel, {{"app", "web"}, {"tier", "b"}, {"gen", "3"}}));
  EXPECT_FALSE(MatchesSelector(sel, {{"app", "web"}, {"tier", "b"}, {"gen", "3"}, {"canary", ""}}));
  EXPECT_FALSE(MatchesSelector(sel, {{"app", "web"}, {"tier", "c"}, {"gen", "3"}}));
  EXPECT_FALSE(MatchesSelector(sel, {{"app", "web"}, {"tier", "a"}, {"gen", "2"}}));
  EXPECT_TRUE(MatchesSelector({}, {}));
}

TEST(AdapterQuery, GoQuoteEscapes) {
  EXPECT_EQ(GoQuote("plain-pod-0"), "\"plain-pod-0\"");
  EXPECT_EQ(GoQuote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
  EXPECT_EQ(GoQuote(std::string("\x01", 1)), "\"\\x01\"");
  EXPECT_EQ(RegexEscape("web.v1-0"), "web\\.v1-0");
}

std::string Build(std::string tmpl, QueryInput in) {
  auto t = Template::Parse(tmpl);
  EXPECT_TRUE(t.ok());
  auto q = BuildQuery(*t, in);
  return q.ok() ? *q : "ERROR: " + q.error().message;
}

// The outputs prometheus-adapter's own tests verify.
TEST(AdapterQuery, MatchesPrometheusAdapterOutputs) {
  QueryInput in;
  in.series = "container_some_usage";
  in.namespace_label = "namespace";
  in.namespace_value = "somens";
  in.resource_label = "pod";
  in.names = {"somepod1", "somepod2"};
  EXPECT_EQ(Build("sum(<<.Series>>{<<.LabelMatchers>>,container!=\"POD\"}) by (<<.GroupBy>>)", in),
            "sum(container_some_usage{namespace=\"somens\",pod=~\"somepod1|somepod2\",container!="
            "\"POD\"}) by (pod)");

  auto sel = ParseLabelSelector("param1=value1");
  QueryInput in2;
  in2.series = "ingress_hits_total";
  in2.metric_selector = &*sel;
  in2.namespace_label = "kube_namespace";
  in2.namespace_value = "somens";
  in2.resource_label = "kube_service";
  in2.names = {"somesvc"};
  EXPECT_EQ(Build("sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m])) by (<<.GroupBy>>)", in2),
            "sum(rate(ingress_hits_total{param1=\"value1\",kube_namespace=\"somens\",kube_service="
            "\"somesvc\"}[1m])) by (kube_service)");
}

TEST(AdapterQuery, SelectorOperators) {
  auto sel = ParseLabelSelector("a=1,b!=2,c in (3,4),d notin (5),e,!f,g in (6)");
  ASSERT_TRUE(sel.ok());
  QueryInput in;
  in.series = "m";
  in.metric_selector = &*sel;
  EXPECT_EQ(Build("<<.LabelMatchers>>", in),
            "a=\"1\",b!=\"2\",c=~\"3|4\",d!~\"5\",e!=\"\",f=\"\",g=~\"6\"");
  EXPECT_EQ(Build("<<range $k, $v := .LabelValuesByName>><<$k>>:<<$v>>;<<end>>", in),
            "a:1;b:2;c:3|4;d:5;e:;f:;g:6;");
  auto gt = ParseLabelSelector("a>1");
  in.metric_selector = &*gt;
  EXPECT_EQ(Build("<<.LabelMatchers>>", in), "ERROR: operator not supported by prometheus");
}

TEST(AdapterQuery, NamesAreQuotedAndRegexEscaped) {
  QueryInput in;
  in.series = "m";
  in.resource_label = "pod";
  in.names = {"web-1.a", "web\"2"};
  EXPECT_EQ(Build("<<.LabelMatchers>>", in), "pod=~\"web-1\\\\.a|web\\\"2\"");
  in.escape_names = false;
  EXPECT_EQ(Build("<<.LabelMatchers>>", in), "pod=~\"web-1.a|web\\\"2\"");
  in.names = {"web-1.a"};
  EXPECT_EQ(Build("<<.LabelMatchers>>", in), "pod=\"web-1.a\"");
}

TEST(AdapterQuery, ExternalHasEmptyGroupBy) {
  QueryInput in;
  in.series = "queue_depth";
  in.namespace_label = "namespace";
  in.namespace_value = "default";
  EXPECT_EQ(Build("sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>) <<.GroupBySlice>>", in),
            "sum(queue_depth{namespace=\"default\"}) by () []");
  EXPECT_EQ(Build("<<if .GroupBy>>x<<end>>", in),
            "ERROR: empty query produced by metrics query template");
}

}  // namespace
}  // namespace gpuscale::adapter
