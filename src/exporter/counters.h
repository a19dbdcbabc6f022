// dcgm-exporter's counters CSV (-f/--collectors): one "FIELD, type, help" record per line, '#'
// comments, fields trimmed of spaces, CSV quoting for commas in help text. Selects which
// fields the exporter reads and how each family is typed and described.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "gpu/fields.h"

namespace gpuscale::exporter {

struct Counter {
  const gpu::FieldInfo* field = nullptr;
  std::string type;  // written verbatim into # TYPE: gauge, counter, histogram or summary
  std::string help;  // written into # HELP
};

struct CounterSet {
  std::vector<Counter> metrics;  // families, in file order
  std::vector<Counter> labels;   // "label" rows: FIELD="value" on every series
  // Lines skipped because the field exists in DCGM but not through NVML ("<file>:<line>: ...").
  std::vector<std::string> warnings;
};

// Errors (kInvalidArgument) name the place: "counters.csv:7: expected 3 fields (name, type,
// help), found 2", an unknown metric type, a name that is not a DCGM field, a repeated field,
// unbalanced quotes.
core::Result<CounterSet> ParseCounters(std::string_view text, std::string_view source_name);
core::Result<CounterSet> ReadCounters(const std::string& path);

// dcgm-exporter 4.8.x's etc/default-counters.csv rows (25 families and the driver label).
std::string_view DefaultCountersCsv();
CounterSet DefaultCounters();

}  // namespace gpuscale::exporter
