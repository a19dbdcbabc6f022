// Logging setup. Code logs through spdlog's functions (spdlog::info, ...); verbosity follows
// klog's --v convention: V(n) is true when --v >= n, and V-level messages log at debug.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

#include "core/result.h"

namespace gpuscale::core {

struct LogOptions {
  // klog-style verbosity: 0 logs info and above; >= 1 also logs V(n) messages (as debug).
  int verbosity = 0;
  // "text" (human) or "json" (one object per line: ts, level, msg).
  std::string format = "text";
  // Lowest level: trace, debug, info, warn, error, off. Empty: info, or debug when verbosity > 0.
  std::string level;
};

// Configures the default logger to write to stderr. Returns InvalidArgument for an unknown
// format or level. Not thread-safe with concurrent logging; call once at start-up.
Status ConfigureLogging(const LogOptions& options);

// True when the configured verbosity is at least `level`.
bool V(int level);

}  // namespace gpuscale::core
