// Go's strconv.ParseFloat as Prometheus uses it (no hex floats, no underscores). Only src/prom
// includes this.
#pragma once

#include <string_view>

namespace gpuscale::prom::internal {

enum class FloatStatus { kOk, kSyntax, kRange };

// Decimal numbers with optional sign and exponent; "NaN" (any case, unsigned); "Inf" and
// "Infinity" (any case, optionally signed). kRange: overflows a double (underflow rounds to 0).
FloatStatus ParseGoFloat(std::string_view s, double* out);

}  // namespace gpuscale::prom::internal
