#include "local/view.h"

#include <fmt/format.h>

#include <ctime>

#include "core/json_escape.h"

namespace gpuscale::local {

namespace {

std::string Clock(core::Timestamp t) {
  std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string Num(double v) {
  if (v == static_cast<double>(static_cast<int64_t>(v))) return fmt::format("{}", v);
  return fmt::format("{:.2f}", v);
}

std::string OptSeconds(const std::optional<double>& v) {
  return v ? fmt::format("{:.0f}ms", *v * 1000) : std::string("-");
}

void AppendJsonNumberOrNull(const std::optional<double>& v, std::string* out) {
  if (v) {
    *out += fmt::format("{}", *v);
  } else {
    *out += "null";
  }
}

}  // namespace

std::string RenderTerminal(const UpSnapshot& s, const std::vector<ViewEvent>& recent_events) {
  std::string out;
  out += fmt::format("Name:              {}\n", s.hpa_name);
  out += fmt::format("Reference:         Deployment/{}\n", s.deployment);
  out += "Metrics:           ( current / target )\n";
  for (const MetricStatus& m : s.metrics) {
    std::string current = m.current ? Num(*m.current) : std::string("<unknown>");
    out += fmt::format("  \"{}\" on pods:  {} / {}", m.name, current, m.target);
    if (m.proposal) out += fmt::format("   (asks for {})", *m.proposal);
    out += "\n";
    if (!m.error.empty()) out += fmt::format("    error: {}\n", m.error);
  }
  out +=
      fmt::format("Min replicas:      {}\nMax replicas:      {}\n", s.min_replicas, s.max_replicas);
  out += fmt::format("Deployment pods:   {} current / {} desired ({} ready)\n", s.current_replicas,
                     s.desired_replicas, s.ready_replicas);
  out += "Conditions:\n";
  for (const std::string& c : s.conditions) out += "  " + c + "\n";
  out += fmt::format(
      "Load:              {}   {:.1f} req/s   TTFT p50 {}  p99 {}   ({} requests, {} crashes)\n",
      s.load, s.request_rate, OptSeconds(s.ttft_p50_s), OptSeconds(s.ttft_p99_s), s.requests_total,
      s.crashes);
  out += "\nNAME                              READY   STATUS     PORT   GPU  IN-FLIGHT  SERVED\n";
  for (const ReplicaView& r : s.replicas) {
    out += fmt::format("{:<33} {:<7} {:<10} {:<6} {:<4} {:<10} {}\n", r.pod,
                       r.phase == Phase::kReady ? "1/1" : "0/1", PhaseName(r.phase), r.port, r.gpu,
                       r.outstanding, r.served);
  }
  out += "\nEvents:\n";
  size_t first = recent_events.size() > 8 ? recent_events.size() - 8 : 0;
  for (size_t i = first; i < recent_events.size(); ++i) {
    const ViewEvent& e = recent_events[i];
    out += fmt::format("  {}  {:<7} {:<18} {:<36} {}\n", Clock(e.time), e.type, e.reason, e.object,
                       e.message);
  }
  return out;
}

std::string RenderLine(const UpSnapshot& s) {
  std::string metrics;
  for (const MetricStatus& m : s.metrics) {
    metrics +=
        fmt::format(" {}={}/{}", m.name, m.current ? Num(*m.current) : "<unknown>", m.target);
  }
  return fmt::format("t={:.0f}s replicas={}/{} ready={}{} rate={:.1f}/s ttft_p50={} ttft_p99={}",
                     s.uptime_s, s.current_replicas, s.desired_replicas, s.ready_replicas, metrics,
                     s.request_rate, OptSeconds(s.ttft_p50_s), OptSeconds(s.ttft_p99_s));
}

std::string EncodeSnapshotJson(const UpSnapshot& s) {
  std::string out = "{";
  out +=
      fmt::format("\"time\":{:.3f},\"uptime_s\":{:.3f},", core::ToUnixSeconds(s.time), s.uptime_s);
  out += "\"hpa\":" + core::JsonString(s.hpa_name) + ",";
  out += "\"deployment\":" + core::JsonString(s.deployment) + ",";
  out += fmt::format(
      "\"min_replicas\":{},\"max_replicas\":{},\"current_replicas\":{},\"ready_replicas\":{},"
      "\"desired_replicas\":{},",
      s.min_replicas, s.max_replicas, s.current_replicas, s.ready_replicas, s.desired_replicas);
  out += "\"metrics\":[";
  for (size_t i = 0; i < s.metrics.size(); ++i) {
    const MetricStatus& m = s.metrics[i];
    if (i) out += ",";
    out += "{\"name\":" + core::JsonString(m.name) + ",\"target\":" + core::JsonString(m.target);
    out += fmt::format(",\"target_value\":{},\"current\":", m.target_value);
    AppendJsonNumberOrNull(m.current, &out);
    out += ",\"proposal\":";
    if (m.proposal) {
      out += std::to_string(*m.proposal);
    } else {
      out += "null";
    }
    out += ",\"error\":" + core::JsonString(m.error) + "}";
  }
  out += "],\"replicas\":[";
  for (size_t i = 0; i < s.replicas.size(); ++i) {
    const ReplicaView& r = s.replicas[i];
    if (i) out += ",";
    out += fmt::format(
        "{{\"pod\":{},\"phase\":\"{}\",\"port\":{},\"gpu\":{},\"outstanding\":{},\"served\":{},"
        "\"restarts\":{}}}",
        core::JsonString(r.pod), PhaseName(r.phase), r.port, r.gpu, r.outstanding, r.served,
        r.restarts);
  }
  out += "],\"conditions\":[";
  for (size_t i = 0; i < s.conditions.size(); ++i) {
    if (i) out += ",";
    out += core::JsonString(s.conditions[i]);
  }
  out += fmt::format("],\"request_rate\":{:.3f},\"requests_total\":{},\"crashes\":{},",
                     s.request_rate, s.requests_total, s.crashes);
  out += "\"ttft_p50_s\":";
  AppendJsonNumberOrNull(s.ttft_p50_s, &out);
  out += ",\"ttft_p99_s\":";
  AppendJsonNumberOrNull(s.ttft_p99_s, &out);
  out += ",\"load\":" + core::JsonString(s.load) + "}";
  return out;
}

std::string EncodeEventJson(const ViewEvent& e) {
  return fmt::format("{{\"time\":{:.3f},\"type\":{},\"reason\":{},\"object\":{},\"message\":{}}}",
                     core::ToUnixSeconds(e.time), core::JsonString(e.type),
                     core::JsonString(e.reason), core::JsonString(e.object),
                     core::JsonString(e.message));
}

}  // namespace gpuscale::local
