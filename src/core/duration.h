// Go-style duration strings ("300ms", "1m30s", "2h"), as Kubernetes and Prometheus flags use.
#pragma once

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace gpuscale::core {

// Parses a Go time.ParseDuration string: a sequence of decimal numbers with units ns, us, µs,
// ms, s, m, h, optionally signed; "0" alone is zero. Errors name the offending text.
Result<Duration> ParseDuration(std::string_view text);
// Formats like Go's Duration.String(): "1m30s", "500ms", "0s".
std::string FormatDuration(Duration d);

}  // namespace gpuscale::core
