#include "sim/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/json_escape.h"

namespace gpuscale::sim {
namespace {

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  return fmt::format("{:.6g}", v);
}

void SummaryJson(const Summary& s, std::string* out) {
  *out += fmt::format(
      "{{\"requests\":{},\"slo_attainment\":{},\"ttft_p50_s\":{},\"ttft_p99_s\":{},"
      "\"itl_p50_s\":{},\"itl_p99_s\":{},\"e2e_p50_s\":{},\"e2e_p99_s\":{},"
      "\"queue_p50_s\":{},\"queue_p99_s\":{},\"gpu_hours\":{},\"scale_events\":{},"
      "\"max_replicas\":{}}}",
      s.requests, Num(s.slo_attainment), Num(s.ttft_p50_s), Num(s.ttft_p99_s), Num(s.itl_p50_s),
      Num(s.itl_p99_s), Num(s.e2e_p50_s), Num(s.e2e_p99_s), Num(s.queue_p50_s), Num(s.queue_p99_s),
      Num(s.gpu_hours), s.scale_events, s.max_replicas);
}

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

struct Series {
  std::string label;
  std::string color;
  std::vector<std::pair<double, double>> points;
  bool step = true;  // a step line (counts) or dots (per-request values)
};

// A line chart with axes; x in seconds, shown in minutes.
std::string Chart(const std::string& title, const std::string& y_label,
                  const std::vector<Series>& series) {
  constexpr double kW = 760, kH = 236, kL = 56, kR = 12, kT = 40, kB = 32;
  double x_max = 1, y_max = 1;
  for (const Series& s : series) {
    for (auto [x, y] : s.points) {
      x_max = std::max(x_max, x);
      y_max = std::max(y_max, y);
    }
  }
  y_max *= 1.1;
  auto px = [&](double x) { return kL + (kW - kL - kR) * x / x_max; };
  auto py = [&](double y) { return kH - kB - (kH - kT - kB) * y / y_max; };
  std::string svg = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\">"
      "<title>{}</title><text x=\"{}\" y=\"16\" font-size=\"13\">{}</text>",
      kW, kH, Escape(title), kL, Escape(title));
  svg += fmt::format(
      "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#888\"/>"
      "<line x1=\"{0}\" y1=\"{3}\" x2=\"{0}\" y2=\"{1}\" stroke=\"#888\"/>",
      kL, kH - kB, kW - kR, kT);
  for (int i = 0; i <= 4; ++i) {
    const double y = y_max * i / 4, x = x_max * i / 4;
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>"
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{:.1f} min</text>",
        kL - 4, py(y) + 3, fmt::format("{:.3g}", y), px(x), kH - kB + 14, x / 60);
  }
  svg += fmt::format("<text x=\"4\" y=\"{}\" font-size=\"10\">{}</text>", kT - 6, Escape(y_label));
  // The legend has its own row under the title: long titles and metric names never overlap.
  double legend_x = kL;
  for (const Series& s : series) {
    if (s.step) {
      std::string path;
      for (std::size_t i = 0; i < s.points.size(); ++i) {
        auto [x, y] = s.points[i];
        if (i == 0) {
          path += fmt::format("M{:.1f},{:.1f}", px(x), py(y));
        } else {
          path += fmt::format("H{:.1f}V{:.1f}", px(x), py(y));
        }
      }
      svg += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"/>", path,
                         s.color);
    } else {
      // Thin the dots to at most ~4000 so that the page stays small.
      const std::size_t stride = std::max<std::size_t>(1, s.points.size() / 4000);
      for (std::size_t i = 0; i < s.points.size(); i += stride) {
        svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"1.2\" fill=\"{}\"/>",
                           px(s.points[i].first), py(s.points[i].second), s.color);
      }
    }
    svg += fmt::format(
        "<rect x=\"{}\" y=\"22\" width=\"10\" height=\"10\" fill=\"{}\"/>"
        "<text x=\"{}\" y=\"31\" font-size=\"11\">{}</text>",
        legend_x, s.color, legend_x + 14, Escape(s.label));
    legend_x += 20 + 7 * static_cast<double>(s.label.size());
  }
  return svg + "</svg>";
}

}  // namespace

std::string FormatSummary(const ReportInput& in) {
  std::string out = fmt::format("load: {}  seed: {}\n", in.load, in.seed);
  out += fmt::format("{:<36} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>5}\n", "hpa",
                     "requests", "slo%", "ttft p50", "ttft p99", "itl p50", "e2e p99", "gpu-h",
                     "events", "max");
  for (const Run& r : in.runs) {
    const Summary& s = r.summary;
    out += fmt::format(
        "{:<36} {:>8} {:>7.2f} {:>8.3f}s {:>8.3f}s {:>8.4f}s {:>8.2f}s {:>9.3f} {:>6} {:>5}\n",
        r.name.size() > 36 ? "..." + r.name.substr(r.name.size() - 33) : r.name, s.requests,
        100 * s.slo_attainment, s.ttft_p50_s, s.ttft_p99_s, s.itl_p50_s, s.e2e_p99_s, s.gpu_hours,
        s.scale_events, s.max_replicas);
  }
  if (in.oracle) {
    int peak = 0;
    for (const OracleInterval& iv : in.oracle->intervals) peak = std::max(peak, iv.replicas);
    out += fmt::format("{:<36} {:>8} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9.3f} {:>6} {:>5}\n",
                       "oracle (instant start-up)", "", "", "", "", "", "", in.oracle->gpu_hours,
                       "", peak);
  }
  if (!in.attribution.empty()) out += in.attribution + "\n";
  return out;
}

std::string FormatJson(const ReportInput& in, bool with_requests) {
  std::string out = "{\"load\":" + core::JsonString(in.load) +
                    fmt::format(",\"seed\":{},\"attribution\":", in.seed) +
                    core::JsonString(in.attribution) + ",\"runs\":[";
  for (std::size_t i = 0; i < in.runs.size(); ++i) {
    const Run& r = in.runs[i];
    if (i) out += ',';
    out += "{\"name\":" + core::JsonString(r.name) + ",\"summary\":";
    SummaryJson(r.summary, &out);
    out += ",\"syncs\":[";
    for (std::size_t k = 0; k < r.result.syncs.size(); ++k) {
      const SyncSample& s = r.result.syncs[k];
      if (k) out += ',';
      out += fmt::format("{{\"t\":{},\"current\":{},\"desired\":{},\"ready\":{},\"metrics\":{{",
                         Num(s.time_s), s.current, s.desired, s.ready);
      bool first = true;
      for (const auto& [name, v] : s.metrics) {
        if (!first) out += ',';
        first = false;
        out += core::JsonString(name) + ":" + Num(v);
      }
      out += "}}";
    }
    out += "],\"events\":[";
    for (std::size_t k = 0; k < r.result.events.size(); ++k) {
      const ScaleEvent& e = r.result.events[k];
      if (k) out += ',';
      out +=
          fmt::format("{{\"t\":{},\"from\":{},\"to\":{},\"reason\":", Num(e.time_s), e.from, e.to) +
          core::JsonString(e.reason) + "}";
    }
    out += "]";
    if (with_requests) {
      out += ",\"requests\":[";
      for (std::size_t k = 0; k < r.result.requests.size(); ++k) {
        const RequestRecord& q = r.result.requests[k];
        if (k) out += ',';
        out += fmt::format(
            "{{\"arrival_s\":{},\"queue_s\":{},\"ttft_s\":{},\"itl_s\":{},\"e2e_s\":{},"
            "\"prompt_tokens\":{},\"output_tokens\":{},\"met_slo\":{}}}",
            Num(q.arrival_s), Num(q.queue_s), Num(q.ttft_s), Num(q.itl_s), Num(q.e2e_s),
            q.prompt_tokens, q.output_tokens, q.met_slo ? "true" : "false");
      }
      out += "]";
    }
    out += "}";
  }
  out += "]";
  if (in.oracle) {
    out += fmt::format(",\"oracle\":{{\"gpu_hours\":{},\"intervals\":[", Num(in.oracle->gpu_hours));
    for (std::size_t k = 0; k < in.oracle->intervals.size(); ++k) {
      const OracleInterval& iv = in.oracle->intervals[k];
      if (k) out += ',';
      out += fmt::format("{{\"start_s\":{},\"requests\":{},\"replicas\":{}}}", Num(iv.start_s),
                         iv.requests, iv.replicas);
    }
    out += "]}";
  }
  return out + "}\n";
}

std::string FormatHtml(const ReportInput& in) {
  std::string out =
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>gpuscale simulate</title>"
      "<style>body{font-family:sans-serif;margin:24px}pre{background:#f4f4f4;padding:8px}"
      "</style></head><body><h1>gpuscale simulate</h1>";
  out += "<pre>" + Escape(FormatSummary(in)) + "</pre>";
  std::vector<std::pair<double, double>> oracle_points;
  if (in.oracle) {
    for (const OracleInterval& iv : in.oracle->intervals) {
      oracle_points.emplace_back(iv.start_s, iv.replicas);
    }
  }
  for (const Run& r : in.runs) {
    out += "<h2>" + Escape(r.name) + "</h2>";
    Series current{"current", "#1f77b4", {}, true}, desired{"desired", "#d62728", {}, true},
        ready{"ready", "#2ca02c", {}, true}, oracle{"oracle", "#7f7f7f", oracle_points, true};
    std::map<std::string, Series> metrics;
    const char* colors[] = {"#9467bd", "#ff7f0e", "#17becf", "#8c564b"};
    for (const SyncSample& s : r.result.syncs) {
      current.points.emplace_back(s.time_s, s.current);
      desired.points.emplace_back(s.time_s, s.desired);
      ready.points.emplace_back(s.time_s, s.ready);
      for (const auto& [name, v] : s.metrics) {
        auto [it, added] = metrics.try_emplace(name, Series{name, "", {}, true});
        if (added) it->second.color = colors[(metrics.size() - 1) % 4];
        it->second.points.emplace_back(s.time_s, v);
      }
    }
    std::vector<Series> replicas = {current, desired, ready};
    if (in.oracle) replicas.push_back(oracle);
    out += Chart("Replicas", "pods", replicas);
    std::vector<Series> seen;
    for (auto& [name, s] : metrics) seen.push_back(std::move(s));
    out += "<br>" + Chart("Metric values the HPA saw (per-pod average)", "value", seen);
    Series ttft{"TTFT", "#1f77b4", {}, false};
    for (const RequestRecord& q : r.result.requests)
      ttft.points.emplace_back(q.arrival_s, q.ttft_s);
    out += "<br>" + Chart("Time to first token by arrival", "seconds", {ttft});
    out += "<h3>Scaling events</h3><pre>";
    for (const ScaleEvent& e : r.result.events) {
      out += Escape(fmt::format("{:9.1f}s  {} -> {}  {}\n", e.time_s, e.from, e.to, e.reason));
    }
    out += "</pre>";
  }
  if (!in.attribution.empty()) out += "<p>" + Escape(in.attribution) + "</p>";
  return out + "</body></html>\n";
}

}  // namespace gpuscale::sim
