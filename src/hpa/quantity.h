// Kubernetes resource.Quantity values ("20", "500m", "1.5k", "10Gi", "1e3") in the form the
// HorizontalPodAutoscaler reads them: milli-units, rounded up (Quantity.MilliValue()).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace gpuscale::hpa {

// Parses a Quantity string and returns ceil(value * 1000), saturating at the int64 range.
// Accepts an optional sign, a decimal number, and one suffix: a decimal SI suffix
// (n u m "" k M G T P E), a binary SI suffix (Ki Mi Gi Ti Pi Ei) or a decimal exponent
// (e3, E-2). Errors say what was found.
core::Result<int64_t> ParseMilliQuantity(std::string_view text);

// Formats a milli-value as Kubernetes prints resource.NewMilliQuantity(v, DecimalSI): the
// largest power-of-1000 suffix that keeps the number whole ("20666m", "20", "2k").
std::string FormatMilliQuantity(int64_t milli);
// As NewMilliQuantity(v, BinarySI).String(): whole values of at least 1024 use Ki, Mi, ...;
// everything else falls back to the decimal form (memory quantities).
std::string FormatMilliQuantityBinary(int64_t milli);

}  // namespace gpuscale::hpa
