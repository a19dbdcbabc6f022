#include "adapter/config.h"

#include <gtest/gtest.h>

namespace gpuscale::adapter {
namespace {

std::string ErrorOf(std::string_view yaml) {
  auto c = ParseConfig(yaml, "config.yaml");
  return c.ok() ? "OK" : c.error().message;
}

TEST(AdapterConfig, HelmDefaultRulesLoad) {
  auto c = LoadConfig("testdata/helm-default-rules.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->rules.size(), 6u);
  EXPECT_EQ(c->rules[0].series_query,
            "{__name__=~\"^container_.*\",container!=\"POD\",namespace!=\"\",pod!=\"\"}");
  EXPECT_EQ(c->rules[0].resources.overrides.at("pod").resource, "pod");
  EXPECT_EQ(c->rules[1].series_filters.size(), 1u);
  EXPECT_FALSE(c->rules[1].series_filters[0].is);
  EXPECT_EQ(c->rules[3].resources.template_text, "<<.Resource>>");
  EXPECT_EQ(c->rules[4].name.matches, "^(.*)_total$");
  EXPECT_EQ(c->rules[5].metrics_query,
            "sum(rate(<<.Series>>{<<.LabelMatchers>>}[5m])) by (<<.GroupBy>>)");
  EXPECT_EQ(c->rules[2].position.line, 28);
  EXPECT_TRUE(c->warnings.empty());
}

TEST(AdapterConfig, SeedRulesCorrectedLoad) {
  auto c = LoadConfig("testdata/seed-rules.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->rules.size(), 2u);
  EXPECT_EQ(c->rules[1].name.as, "gpu_utilization_percent");
}

TEST(AdapterConfig, SeedRulesAsShippedAreInvalidYaml) {
  auto c = LoadConfig("testdata/seed-rules-broken.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "testdata/seed-rules-broken.yaml:11:3: invalid YAML: end of map not found");
}

TEST(AdapterConfig, UnknownKeysNameFileLineColumnAndRule) {
  EXPECT_EQ(ErrorOf("rules:\n- seriesQuery: x\n  metricsQuery: y\n  nmae: {}\n"),
            "config.yaml:4:3: rules[0]: unknown field \"nmae\" (expected one of: metricsQuery, "
            "name, resources, seriesFilters, seriesQuery)");
  EXPECT_EQ(ErrorOf("rules:\n- seriesQuery: x\n  metricsQuery: y\n  name: {match: a}\n"),
            "config.yaml:4:10: rules[0].name: unknown field \"match\" (expected one of: as, "
            "matches)");
  EXPECT_EQ(ErrorOf("rule: []\n"),
            "config.yaml:1:1: unknown field \"rule\" (expected one of: externalRules, "
            "resourceRules, rules)");
  EXPECT_EQ(ErrorOf("externalRules:\n- seriesQuery: x\n  metricsQuery: y\n  resources:\n"
                    "    overrides: {namespace: {resource: namespace, kind: x}}\n"),
            "config.yaml:5:50: externalRules[0].resources.overrides.namespace: unknown field "
            "\"kind\" (expected one of: group, resource)");
}

TEST(AdapterConfig, DuplicateKeysAndWrongTypes) {
  EXPECT_EQ(ErrorOf("rules:\n- seriesQuery: x\n  seriesQuery: z\n  metricsQuery: y\n"),
            "config.yaml:3:3: rules[0]: duplicate key \"seriesQuery\"");
  EXPECT_EQ(ErrorOf("rules:\n- seriesQuery: [a]\n  metricsQuery: y\n"),
            "config.yaml:2:16: rules[0].seriesQuery: expected a string, found a sequence");
  EXPECT_EQ(ErrorOf("rules: {a: b}\n"),
            "config.yaml:1:8: rules: expected a sequence, found a mapping");
  EXPECT_EQ(
      ErrorOf("externalRules:\n- seriesQuery: x\n  metricsQuery: y\n  resources: {namespaced: "
              "maybe}\n"),
      "config.yaml:4:27: externalRules[0].resources.namespaced: expected true or false, found "
      "\"maybe\"");
  EXPECT_EQ(ErrorOf(""), "config.yaml: the config is empty");
}

TEST(AdapterConfig, SemanticErrors) {
  EXPECT_EQ(
      ErrorOf(
          "rules:\n- seriesQuery: x\n  seriesFilters: [{is: a, isNot: b}]\n  metricsQuery: y\n"),
      "config.yaml:3:19: rules[0].seriesFilters[0]: cannot have both an is (a) and an isNot (b)");
  EXPECT_EQ(ErrorOf("rules:\n- seriesQuery: x\n  seriesFilters: [{}]\n  metricsQuery: y\n"),
            "config.yaml:3:19: rules[0].seriesFilters[0]: must have either an is or an isNot");
  EXPECT_EQ(ErrorOf("rules:\n- seriesQuery: x\n  seriesFilters: [{is: 'a('}]\n  metricsQuery: y\n"),
            "config.yaml:3:24: rules[0].seriesFilters[0].is: invalid regular expression \"a(\": "
            "missing ): a(");
  EXPECT_EQ(ErrorOf("rules:\n- seriesQuery: x\n  name: {matches: '(a)(b)'}\n  metricsQuery: y\n"),
            "config.yaml:3:19: rules[0].name: must specify an 'as' value for name matcher "
            "\"(a)(b)\": it has 2 capture groups");
  EXPECT_EQ(ErrorOf("rules:\n- seriesQuery: x\n  resources: {template: 'kube_<<.Group>>'}\n"
                    "  metricsQuery: y\n"),
            "config.yaml:3:25: rules[0].resources.template: must include at least <<.Resource>> "
            "in the label template");
  EXPECT_EQ(ErrorOf("rules:\n- seriesQuery: x\n  metricsQuery: 'sum(<<.Series>'\n"),
            "config.yaml:3:17: rules[0].metricsQuery: unable to parse metrics query template: "
            "1:14: unexpected \">\" in action");
  EXPECT_EQ(ErrorOf("rules:\n- seriesQuery: x\n"),
            "config.yaml:2:3: rules[0].metricsQuery: metricsQuery is empty: every query for this "
            "rule would fail");
}

TEST(AdapterConfig, WarnsAboutDollarNumberWordTemplates) {
  auto c = ParseConfig(
      "rules:\n- seriesQuery: x\n  name: {matches: '^(.*)_total$', as: '$1_per_second'}\n"
      "  metricsQuery: y\n",
      "config.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_EQ(c->warnings[0],
            "config.yaml:3:39: rules[0].name.as: \"$1_per_second\" refers to a group named "
            "\"1_per_second\", which expands to \"\"; write \"${1}_per_second\"");
}

TEST(AdapterConfig, ResourceRulesParseWithAWarning) {
  auto c = ParseConfig(
      "resourceRules:\n  cpu:\n    containerQuery: a\n    nodeQuery: b\n    resources:\n"
      "      overrides: {node: {resource: node}}\n    containerLabel: container\n  window: 5m\n",
      "config.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c->resource_rules.has_value());
  EXPECT_EQ(c->resource_rules->cpu.container_query, "a");
  ASSERT_EQ(c->warnings.size(), 1u);
}

TEST(AdapterConfig, MissingFile) {
  EXPECT_EQ(LoadConfig("testdata/nope.yaml").error().message,
            "testdata/nope.yaml: cannot read the config file");
  EXPECT_EQ(LoadConfig("").error().message,
            "no metrics discovery configuration file specified (make sure to use --config)");
}

}  // namespace
}  // namespace gpuscale::adapter
