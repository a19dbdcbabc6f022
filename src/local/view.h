// What `gpuscale up` shows: one snapshot per sync, rendered for a terminal (like
// `kubectl describe hpa` and `kubectl get deploy -w` together), as JSON for the web page and
// scripts, and the page itself. Pure functions over plain structs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "local/replicas.h"

namespace gpuscale::local {

struct MetricStatus {
  std::string name;               // gpu_utilization_percent
  std::string target;             // "20" (AverageValue, as written in the spec)
  double target_value = 0;        // 20
  std::optional<double> current;  // average over pods; unset when the metric is unavailable
  std::optional<int> proposal;    // replicas this metric asks for
  std::string error;
};

struct ViewEvent {
  core::Timestamp time;
  std::string type;    // Normal / Warning
  std::string reason;  // SuccessfulRescale, Started, Crashed, ...
  std::string object;  // hpa/<name> or pod/<name>
  std::string message;
};

struct UpSnapshot {
  core::Timestamp time;
  double uptime_s = 0;
  std::string hpa_name;
  std::string deployment;
  int min_replicas = 1;
  int max_replicas = 1;
  int current_replicas = 0;  // replicas that exist
  int ready_replicas = 0;
  int desired_replicas = 0;
  std::vector<MetricStatus> metrics;
  std::vector<ReplicaView> replicas;
  std::vector<std::string> conditions;  // "AbleToScale True ReadyForNewScale: ..."
  double request_rate = 0;              // router requests/s over the last window
  std::optional<double> ttft_p50_s;
  std::optional<double> ttft_p99_s;
  std::uint64_t requests_total = 0;
  int crashes = 0;
  std::string load;  // what load runs ("looper", "none", ...)
};

// A multi-line view for a terminal (no escape codes; the caller clears the screen).
std::string RenderTerminal(const UpSnapshot& s, const std::vector<ViewEvent>& recent_events);
// One line, for logs and non-terminal output.
std::string RenderLine(const UpSnapshot& s);
// {"time":..., "replicas":{...}, "metrics":[...], ...}
std::string EncodeSnapshotJson(const UpSnapshot& s);
std::string EncodeEventJson(const ViewEvent& e);
// The self-contained live page (no external resources): polls /api/state and /api/history.
std::string_view UiPageHtml();

}  // namespace gpuscale::local
