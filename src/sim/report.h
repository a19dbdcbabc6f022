// Reports of simulation runs: a terminal summary, JSON, and a self-contained HTML page whose
// charts are inline SVG (no scripts, no external resources). Pure string building.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/oracle.h"
#include "sim/simulator.h"

namespace gpuscale::sim {

// One simulated HPA, as reports show it.
struct Run {
  std::string name;  // the HPA file or a label
  Result result;
  Summary summary;
};

struct ReportInput {
  std::vector<Run> runs;
  std::optional<OracleResult> oracle;
  std::string load;         // what the load was, e.g. "trace AzureLLMInferenceTrace_conv.csv"
  std::string attribution;  // the trace's licence line, empty for synthetic load
  std::uint64_t seed = 0;
};

// A table: one row per run (and the oracle), then the attribution.
std::string FormatSummary(const ReportInput& in);
// {"load":..,"seed":..,"runs":[{"name","summary":{..},"replicas":[..],"events":[..],
//  "requests":[..] (when with_requests)}],"oracle":{..}}
std::string FormatJson(const ReportInput& in, bool with_requests);
// One page: the summary table, then per run replicas (current, desired, ready) over time with the
// oracle's, the metric values the HPA saw, and the TTFT of each request over time.
std::string FormatHtml(const ReportInput& in);

}  // namespace gpuscale::sim
