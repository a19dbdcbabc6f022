// Kubernetes label selectors in their string form ("app=web,tier in (a,b),!canary"), as
// scale.status.selector carries them (labels.Parse).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gpuscale::hpa {

class Selector {
 public:
  // Parses the string form; errors say what was found and where.
  static core::Result<Selector> Parse(std::string_view text);
  bool Matches(const std::map<std::string, std::string>& labels) const;

 private:
  enum class Op { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Op op;
    std::vector<std::string> values;
  };
  std::vector<Requirement> requirements_;
};

}  // namespace gpuscale::hpa
