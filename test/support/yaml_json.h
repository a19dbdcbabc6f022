// YAML manifests as JSON, the way kubectl reads them: each document of a YAML stream becomes
// one JSON text. Plain scalars resolve by the YAML 1.2 core schema (null, booleans, integers,
// floats); quoted and block scalars stay strings.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gpuscale::testing {

// Converts every non-empty document of `yaml` to compact JSON, in order. `source` names the
// input in errors (which carry line and column).
core::Result<std::vector<std::string>> YamlDocumentsToJson(std::string_view yaml,
                                                           std::string_view source);

}  // namespace gpuscale::testing
