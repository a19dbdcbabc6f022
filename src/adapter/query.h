// PromQL for one metrics API request: Kubernetes label selectors turned into label matchers in
// prometheus-adapter's order and format, then the rule's metricsQuery template.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/template.h"
#include "core/result.h"

namespace gpuscale::adapter {

// One requirement of a Kubernetes label selector (k8s.io/apimachinery/pkg/labels).
struct Requirement {
  enum class Op {
    kEquals,
    kDoubleEquals,
    kNotEquals,
    kIn,
    kNotIn,
    kExists,
    kDoesNotExist,
    kGt,
    kLt
  };
  std::string key;
  Op op = Op::kEquals;
  std::vector<std::string> values;  // sorted, unique
  bool operator==(const Requirement&) const = default;
};

// Parses a selector such as "app=web,tier in (a,b),!canary". Requirements come back sorted by
// key, as labels.Parse returns them. Errors name the offending text.
core::Result<std::vector<Requirement>> ParseLabelSelector(std::string_view selector);
// The selector's canonical string (labels.Selector.String()).
std::string SelectorString(const std::vector<Requirement>& requirements);

// True when `labels` satisfy every requirement (labels.Selector.Matches).
bool MatchesSelector(const std::vector<Requirement>& requirements,
                     const std::map<std::string, std::string>& labels);

// Go's strconv.Quote / %q for the ASCII range; bytes >= 0x80 pass through.
std::string GoQuote(std::string_view s);
// Escapes RE2 metacharacters, so a name used in `=~` matches only itself.
std::string RegexEscape(std::string_view s);

// The inputs of one query.
struct QueryInput {
  std::string_view series;                                    // the discovered series name
  const std::vector<Requirement>* metric_selector = nullptr;  // may be null
  std::string namespace_label;                                // empty: no namespace matcher
  std::string namespace_value;
  std::string resource_label;      // empty for external metrics
  std::vector<std::string> names;  // resource names (custom metrics)
  // Escape regex metacharacters in names joined for `=~` (prometheus-adapter does not).
  bool escape_names = true;
  std::vector<std::string> extra_group_by;
};

// Renders the matchers and runs `metrics_query`. Errors: an unsupported selector operator
// (gt/lt), an empty rendered query, a template execution error.
core::Result<std::string> BuildQuery(const Template& metrics_query, const QueryInput& in);

// The template data BuildQuery uses, exposed for --check-config and tests.
core::Result<TemplateValue> QueryArgs(const QueryInput& in);

}  // namespace gpuscale::adapter
