// A PromQL series selector (`name{label="v",other=~"re"}`) evaluated offline against label
// sets, so --check-config can apply each rule's seriesQuery to a saved /api/v1/series answer.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gpuscale::adapter {

class SeriesSelector {
 public:
  // Errors name the position: "selector 'a{b=}' at 4: expected a quoted string".
  static core::Result<SeriesSelector> Parse(std::string_view text);
  SeriesSelector(SeriesSelector&&) noexcept;
  SeriesSelector& operator=(SeriesSelector&&) noexcept;
  ~SeriesSelector();
  // `labels` includes __name__.
  bool Matches(const std::map<std::string, std::string>& labels) const;

 private:
  SeriesSelector();
  struct Matcher;
  std::vector<Matcher> matchers_;
};

}  // namespace gpuscale::adapter
