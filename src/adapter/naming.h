// Metric naming as prometheus-adapter does it: `name.matches` is an unanchored RE2 (Go regexp)
// pattern and `name.as` a Go regexp.Expand template ($1, ${1}, $name, $$).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/config.h"
#include "core/result.h"

namespace re2 {
class RE2;
}

namespace gpuscale::adapter {

// Go's Regexp.Expand: appends `tmpl` to `out` with $1/${1}/$name/${name} replaced by the
// submatches of `groups` (index 0 is the whole match; empty optional = the group did not
// match). `$name` takes the longest run of [A-Za-z0-9_], so "$1_total" names group "1_total"
// and expands to "". "$$" is a literal "$"; a malformed reference keeps its "$".
void GoExpand(std::string_view tmpl, const re2::RE2& re,
              const std::vector<std::optional<std::string_view>>& groups, std::string* out);

// Likely mistakes in an `as` template, e.g. "$1_per_second": "expands ${1_per_second}, which is
// empty; write ${1}_per_second".
std::vector<std::string> AsTemplateWarnings(std::string_view as);

// One rule's `name`: decides whether a series name matches and what metric name it gets.
// Immutable; thread-safe.
class NameMatcher {
 public:
  // Errors: an invalid pattern, or no `as` with more than one capture group.
  static core::Result<NameMatcher> Create(const NameMapping& mapping);
  NameMatcher(NameMatcher&&) noexcept;
  NameMatcher& operator=(NameMatcher&&) noexcept;
  ~NameMatcher();

  // The exposed metric name, or nullopt when the series name does not match.
  std::optional<std::string> MetricName(std::string_view series_name) const;
  const std::string& as() const { return as_; }

 private:
  NameMatcher() = default;
  std::unique_ptr<re2::RE2> re_;
  std::string as_;
};

// A rule's seriesFilters plus the implicit `is` filter for name.matches, applied to series
// names (unanchored; all must pass). Immutable; thread-safe.
class SeriesFilterSet {
 public:
  static core::Result<SeriesFilterSet> Create(const std::vector<SeriesFilter>& filters,
                                              std::string_view name_matches);
  SeriesFilterSet(SeriesFilterSet&&) noexcept;
  SeriesFilterSet& operator=(SeriesFilterSet&&) noexcept;
  ~SeriesFilterSet();
  bool Passes(std::string_view series_name) const;

 private:
  SeriesFilterSet() = default;
  struct Filter;
  std::vector<Filter> filters_;
};

}  // namespace gpuscale::adapter
