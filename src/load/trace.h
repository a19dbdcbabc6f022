// The Azure LLM inference trace format (CSV with header TIMESTAMP,ContextTokens,GeneratedTokens):
// a reader that turns it into arrival offsets with token counts. Pure: no clock, no sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace gpuscale::load {

// One request of a trace.
struct TraceRecord {
  core::Duration offset{};   // since the first request of the trace
  int context_tokens = 0;    // prompt length
  int generated_tokens = 0;  // output length
};

struct Trace {
  std::vector<TraceRecord> records;  // sorted by offset; the first has offset 0
  // Offset of the last request (the trace's length in time).
  core::Duration span() const { return records.empty() ? core::Duration{} : records.back().offset; }
};

// Parses trace text. `name` (a file name) prefixes errors: "trace.csv:12:1: TIMESTAMP: ...".
// TIMESTAMP is "YYYY-MM-DD HH:MM:SS[.fraction]" (as Azure publishes it) or a number of seconds.
// Columns are found by name in the header, in any order; extra columns are ignored. Rows out of
// time order are sorted (stable). An empty trace (header only) is an error.
core::Result<Trace> ParseAzureTrace(std::string_view text, std::string_view name = "trace");
// Reads and parses a file; kNotFound when it cannot be opened.
core::Result<Trace> ReadAzureTrace(const std::string& path);

// Parses "YYYY-MM-DD HH:MM:SS[.fraction]" (UTC) into seconds since the Unix epoch, exactly to the
// nanosecond. Returns kInvalidArgument naming what was expected.
core::Result<core::Duration> ParseTraceTimestamp(std::string_view text);

}  // namespace gpuscale::load
