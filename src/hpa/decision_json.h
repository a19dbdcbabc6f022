// The JSON form of a Decision that `gpuscale hpa recommend|replay` print (docs/hpa.md).
#pragma once

#include <string>

#include "hpa/types.h"

namespace gpuscale::hpa {

// One JSON object on one line. `spec` supplies each metric's target.
std::string EncodeDecision(const HpaSpec& spec, const Decision& decision);

}  // namespace gpuscale::hpa
