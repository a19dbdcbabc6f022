// Reads a HorizontalPodAutoscaler manifest (autoscaling/v2 or v2beta2, YAML or JSON) into an
// HpaSpec with the API server's defaults applied and its validation rules checked. Errors name
// file:line:column and the field path.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "hpa/types.h"

namespace gpuscale::hpa {

// `file` names the source in error messages.
core::Result<HpaSpec> ParseHpaSpec(std::string_view text, const std::string& file = "<hpa>");
core::Result<HpaSpec> LoadHpaSpecFile(const std::string& path);

// Reads a whole file; errors name the path.
core::Result<std::string> ReadFile(const std::string& path);

}  // namespace gpuscale::hpa
