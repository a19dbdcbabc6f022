// Compiled rules and the metric registry discovery builds from /api/v1/series answers. The
// registry holds one entry per (resource, namespaced, metric) pair, so its size follows the
// metrics exposed, not the number of series.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/config.h"
#include "adapter/naming.h"
#include "adapter/resources.h"
#include "adapter/template.h"
#include "core/result.h"
#include "prom/exposition.h"

namespace gpuscale::adapter {

// One rule ready to run. Thread-safe (the converter locks its cache).
struct CompiledRule {
  DiscoveryRule config;
  SeriesFilterSet filters;
  NameMatcher namer;
  std::unique_ptr<ResourceConverter> resources;
  Template query;
  bool namespaced = true;  // externalRules: add the namespace matcher
};

struct RuleSet {
  std::vector<CompiledRule> custom;
  std::vector<CompiledRule> external;
  // Distinct seriesQuery strings: one /api/v1/series call each, shared by the rules that use it.
  std::vector<std::string> series_queries;
  std::vector<int> custom_query_index;    // rule → index into series_queries
  std::vector<int> external_query_index;  // rule → index into series_queries

  // Builds every namer, converter and template, as prometheus-adapter does at start-up. Errors
  // name the file, rule and field. `mapper` must outlive the result.
  static core::Result<RuleSet> Compile(const Config& config, const ResourceMapper& mapper);
};

// What discovery keeps of one series: its name and label names (values are never needed to
// decide which metrics exist). Discovery deduplicates these, so many pods with the same label
// names cost one entry.
struct SeriesShape {
  std::string name;
  std::vector<std::string> label_names;  // sorted
  auto operator<=>(const SeriesShape&) const = default;
};

// (name, sorted label names) of each series from /api/v1/series, deduplicated and sorted.
std::vector<SeriesShape> ShapesOf(const std::vector<prom::Labels>& series);

// The same, one series at a time, for series handed over as they are decoded: memory follows
// the distinct shapes, not the series. Not thread-safe.
class ShapeCollector {
 public:
  void Add(const prom::Labels& series);
  // The shapes so far, sorted; the collector is empty afterwards.
  std::vector<SeriesShape> Take();

 private:
  std::set<SeriesShape> shapes_;
  SeriesShape scratch_;  // reused, so a shape already seen costs no allocation
};

struct CustomMetricKey {
  GroupResource resource;
  bool namespaced = true;
  std::string metric;
  auto operator<=>(const CustomMetricKey&) const = default;
};

struct MetricSource {
  std::string series_name;
  int rule = 0;  // index into RuleSet::custom or ::external
};

// An immutable view of every metric the adapter exposes.
struct MetricSnapshot {
  std::map<CustomMetricKey, MetricSource> custom;
  std::map<std::string, MetricSource> external;
};

// Per-rule statistics of one build, for --check-config and the discovery log.
struct RuleStats {
  int series_seen = 0;
  int series_filtered = 0;  // dropped by seriesFilters / name.matches
  int series_unnamed = 0;
  int series_without_resources = 0;
  std::vector<std::string> metrics;  // "pods/http_requests" (custom) or "queue_depth" (external)
};

// Builds the snapshot: each rule sees the shapes of its seriesQuery (`shapes[query index]`).
// Later rules and series win on collisions, as in prometheus-adapter. Stats are filled if given.
MetricSnapshot BuildSnapshot(const RuleSet& rules,
                             const std::vector<std::vector<SeriesShape>>& shapes,
                             std::vector<RuleStats>* custom_stats = nullptr,
                             std::vector<RuleStats>* external_stats = nullptr);

}  // namespace gpuscale::adapter
