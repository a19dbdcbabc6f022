#include "adapter/registry.h"

#include <algorithm>
#include <set>

namespace gpuscale::adapter {
namespace {

core::Result<CompiledRule> CompileOne(const Config& config, const DiscoveryRule& rule,
                                      const ResourceMapper& mapper) {
  auto fail = [&](Position pos, const std::string& field, const core::Error& e) {
    return core::InvalidArgument(Where(config.file, pos.line ? pos : rule.position) + rule.where +
                                 "." + field + ": " + e.message);
  };
  auto filters = SeriesFilterSet::Create(rule.series_filters, rule.name.matches);
  if (!filters.ok()) return fail(rule.position, "seriesFilters", filters.error());
  auto namer = NameMatcher::Create(rule.name);
  if (!namer.ok()) return fail(rule.name.matches_position, "name", namer.error());
  auto resources = ResourceConverter::Create(rule.resources, mapper);
  if (!resources.ok()) {
    Position pos = rule.resources.template_position;
    if (!rule.resources.override_positions.empty()) {
      pos = rule.resources.override_positions.begin()->second;
    }
    return fail(pos, "resources", resources.error());
  }
  auto query = Template::Parse(rule.metrics_query);
  if (!query.ok()) return fail(rule.metrics_query_position, "metricsQuery", query.error());
  return CompiledRule{rule,
                      std::move(*filters),
                      std::move(*namer),
                      std::move(*resources),
                      std::move(*query),
                      rule.resources.namespaced.value_or(true)};
}

}  // namespace

core::Result<RuleSet> RuleSet::Compile(const Config& config, const ResourceMapper& mapper) {
  RuleSet set;
  auto index_of = [&](const std::string& q) {
    auto it = std::find(set.series_queries.begin(), set.series_queries.end(), q);
    if (it != set.series_queries.end()) return static_cast<int>(it - set.series_queries.begin());
    set.series_queries.push_back(q);
    return static_cast<int>(set.series_queries.size() - 1);
  };
  for (const auto& rule : config.rules) {
    GPUSCALE_ASSIGN_OR_RETURN(CompiledRule c, CompileOne(config, rule, mapper));
    set.custom_query_index.push_back(index_of(rule.series_query));
    set.custom.push_back(std::move(c));
  }
  for (const auto& rule : config.external_rules) {
    GPUSCALE_ASSIGN_OR_RETURN(CompiledRule c, CompileOne(config, rule, mapper));
    set.external_query_index.push_back(index_of(rule.series_query));
    set.external.push_back(std::move(c));
  }
  return set;
}

MetricSnapshot BuildSnapshot(const RuleSet& rules,
                             const std::vector<std::vector<SeriesShape>>& shapes,
                             std::vector<RuleStats>* custom_stats,
                             std::vector<RuleStats>* external_stats) {
  MetricSnapshot snap;
  if (custom_stats) custom_stats->assign(rules.custom.size(), RuleStats{});
  if (external_stats) external_stats->assign(rules.external.size(), RuleStats{});
  std::vector<GroupResource> resources;
  std::vector<std::string_view> labels;
  for (std::size_t i = 0; i < rules.custom.size(); ++i) {
    const CompiledRule& rule = rules.custom[i];
    RuleStats stats;
    std::set<std::string> exposed;
    const auto& list = shapes[static_cast<std::size_t>(rules.custom_query_index[i])];
    for (const auto& s : list) {
      ++stats.series_seen;
      if (!rule.filters.Passes(s.name)) {
        ++stats.series_filtered;
        continue;
      }
      labels.assign(s.label_names.begin(), s.label_names.end());
      resources.clear();
      bool namespaced = false;
      rule.resources->ResourcesForLabels(labels, &resources, &namespaced);
      auto name = rule.namer.MetricName(s.name);
      if (!name) {
        ++stats.series_unnamed;
        continue;
      }
      if (resources.empty()) ++stats.series_without_resources;
      for (const auto& gr : resources) {
        CustomMetricKey key{gr, namespaced && !IsRootScopedSpecial(gr), *name};
        snap.custom[key] = MetricSource{s.name, static_cast<int>(i)};
        exposed.insert(gr.String() + "/" + *name);
      }
    }
    stats.metrics.assign(exposed.begin(), exposed.end());
    if (custom_stats) (*custom_stats)[i] = std::move(stats);
  }
  for (std::size_t i = 0; i < rules.external.size(); ++i) {
    const CompiledRule& rule = rules.external[i];
    RuleStats stats;
    std::set<std::string> exposed;
    const auto& list = shapes[static_cast<std::size_t>(rules.external_query_index[i])];
    for (const auto& s : list) {
      ++stats.series_seen;
      if (!rule.filters.Passes(s.name)) {
        ++stats.series_filtered;
        continue;
      }
      auto name = rule.namer.MetricName(s.name);
      if (!name) {
        ++stats.series_unnamed;
        continue;
      }
      snap.external[*name] = MetricSource{s.name, static_cast<int>(i)};
      exposed.insert(*name);
    }
    stats.metrics.assign(exposed.begin(), exposed.end());
    if (external_stats) (*external_stats)[i] = std::move(stats);
  }
  return snap;
}

std::vector<SeriesShape> ShapesOf(const std::vector<prom::Labels>& series) {
  ShapeCollector shapes;
  for (const auto& labels : series) shapes.Add(labels);
  return shapes.Take();
}

void ShapeCollector::Add(const prom::Labels& series) {
  scratch_.name.clear();
  scratch_.label_names.resize(series.size());
  for (std::size_t i = 0; i < series.size(); ++i) {
    if (series[i].name == "__name__") scratch_.name = series[i].value;
    scratch_.label_names[i] = series[i].name;
  }
  std::sort(scratch_.label_names.begin(), scratch_.label_names.end());
  if (!shapes_.contains(scratch_)) shapes_.insert(scratch_);
}

std::vector<SeriesShape> ShapeCollector::Take() {
  std::vector<SeriesShape> out(std::make_move_iterator(shapes_.begin()),
                               std::make_move_iterator(shapes_.end()));
  shapes_.clear();
  return out;
}

}  // namespace gpuscale::adapter
