// prometheus-adapter's rules file (`--config`), parsed strictly: unknown or duplicate keys,
// wrong types and invalid regexes or templates are errors that name file:line:column and the
// rule ("config.yaml:12:5: rules[1].name: unknown field \"match\"").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gpuscale::adapter {

// Where a value sits in the YAML file; 1-based, 0 when unknown.
struct Position {
  int line = 0;
  int column = 0;
};

// A Kubernetes group and resource as written in a config ("pod", {group: apps, resource:
// deployment}); normalised later against the resource mapper.
struct GroupResource {
  std::string group;
  std::string resource;
  // "pods", "deployments.apps" (kube's GroupResource.String()).
  std::string String() const { return group.empty() ? resource : resource + "." + group; }
  auto operator<=>(const GroupResource&) const = default;
};

// One entry of seriesFilters: exactly one of is / isNot.
struct SeriesFilter {
  bool is = true;  // false: isNot
  std::string pattern;
  Position position;
};

struct ResourceMapping {
  std::string template_text;  // `template`: e.g. "<<.Resource>>"; empty when absent
  Position template_position;
  std::map<std::string, GroupResource> overrides;  // label → group-resource
  std::map<std::string, Position> override_positions;
  std::optional<bool> namespaced;  // externalRules only; default true
};

struct NameMapping {
  std::string matches;  // RE2 (Go regexp) pattern; empty means ".*"
  std::string as;       // Go Expand template; empty means $0 or $1
  Position matches_position;
  Position as_position;
};

struct DiscoveryRule {
  std::string series_query;
  std::vector<SeriesFilter> series_filters;
  ResourceMapping resources;
  NameMapping name;
  std::string metrics_query;
  Position position;  // the rule's first key
  Position metrics_query_position;
  std::string where;  // "rules[0]" or "externalRules[2]", for messages
};

// resourceRules (metrics.k8s.io) are parsed and validated so that configs which carry them
// load, but gpuscale does not serve metrics.k8s.io (see docs/adapter.md).
struct ResourceRule {
  std::string container_query;
  std::string node_query;
  ResourceMapping resources;
  std::string container_label;
};
struct ResourceRules {
  ResourceRule cpu;
  ResourceRule memory;
  std::string window;
  Position position;
};

struct Config {
  std::string file;  // the name used in messages
  std::vector<DiscoveryRule> rules;
  std::vector<DiscoveryRule> external_rules;
  std::optional<ResourceRules> resource_rules;
  // Things that load but are probably mistakes ("$1_per_second" expands to ""); printed by
  // --check-config and logged at start-up.
  std::vector<std::string> warnings;
};

// Parses and validates `yaml`; `file` names it in messages. Errors are InvalidArgument.
core::Result<Config> ParseConfig(std::string_view yaml, std::string_view file);
// Reads `path` and parses it. A missing or unreadable file is InvalidArgument naming the path.
core::Result<Config> LoadConfig(const std::string& path);

// "config.yaml:3:5: " for messages (just "config.yaml: " without a position).
std::string Where(std::string_view file, Position position);

}  // namespace gpuscale::adapter
