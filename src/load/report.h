// Reports of a load run: a console summary, JSON, CSV (one row per request) and a
// self-contained HTML page with inline SVG charts (nothing fetched). Pure: strings out.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "load/stats.h"

namespace gpuscale::load {

// One rate of a sweep and what it achieved.
struct SweepPoint {
  double offered_rate = 0;  // requests per second asked for
  Summary summary;
};

struct Report {
  std::string title = "gpuscale load";
  std::string command;  // how the run was started, shown verbatim
  std::vector<std::pair<std::string, std::string>> settings;  // name → value, in order
  double started_unix_s = 0;
  std::vector<std::string> targets;
  Summary summary;
  double interval_s = 1;
  std::vector<IntervalStats> series;
  std::vector<SweepPoint> sweep;
  // The requests (not owned; may be null). Needed for CSV, per-request JSON and the scatter plot.
  const std::vector<RequestRecord>* requests = nullptr;
  std::vector<std::string> notes;  // shown at the end (e.g. a trace's attribution)
};

// A few lines for a terminal: counts, rates, latency percentiles in ms, errors.
std::string SummaryText(const Summary& s);
// One JSON object: settings, summary (seconds), series, sweep and, when asked, every request.
std::string ReportJson(const Report& report, bool include_requests);
// A header row and one row per request (seconds; itl as mean and max).
std::string RequestsCsv(const std::vector<RequestRecord>& requests);
// A complete HTML document: summary tables, latency-over-time and rate charts, sweep charts.
std::string ReportHtml(const Report& report);

}  // namespace gpuscale::load
