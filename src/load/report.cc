#include "load/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/json_escape.h"

namespace gpuscale::load {
namespace {

// Shortest round-trippable-enough decimal; JSON has no NaN or infinity, so those become 0.
std::string Num(double v) {
  if (!std::isfinite(v)) return "0";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) v = 0;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string Ms(double seconds) { return Fixed(seconds * 1000, 2); }

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
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

void JsonDistribution(const Distribution& d, std::string* o) {
  *o += "{\"count\":" + std::to_string(d.count) + ",\"mean\":" + Num(d.mean) +
        ",\"min\":" + Num(d.min) + ",\"p50\":" + Num(d.p50) + ",\"p90\":" + Num(d.p90) +
        ",\"p95\":" + Num(d.p95) + ",\"p99\":" + Num(d.p99) + ",\"max\":" + Num(d.max) + "}";
}

void JsonSummary(const Summary& s, std::string* o) {
  *o += "{\"duration_s\":" + Num(s.duration_s) + ",\"requests\":" + std::to_string(s.requests) +
        ",\"succeeded\":" + std::to_string(s.succeeded) +
        ",\"failed\":" + std::to_string(s.failed) + ",\"errors\":{";
  bool first = true;
  for (const auto& [k, v] : s.errors) {
    if (!first) *o += ',';
    first = false;
    core::AppendJsonString(k, o);
    *o += ":" + std::to_string(v);
  }
  *o += "},\"statuses\":{";
  first = true;
  for (const auto& [k, v] : s.statuses) {
    if (!first) *o += ',';
    first = false;
    *o += "\"" + std::to_string(k) + "\":" + std::to_string(v);
  }
  *o += "},\"request_rate\":" + Num(s.request_rate) + ",\"sent_rate\":" + Num(s.sent_rate) +
        ",\"output_token_rate\":" + Num(s.output_token_rate) +
        ",\"total_token_rate\":" + Num(s.total_token_rate) + ",\"good\":" + std::to_string(s.good) +
        ",\"goodput\":" + Num(s.goodput) + ",\"slo\":{";
  first = true;
  for (auto [name, v] : {std::pair{"ttft_s", s.slo.ttft_s}, std::pair{"itl_s", s.slo.itl_s},
                         std::pair{"e2e_s", s.slo.e2e_s}}) {
    if (!v) continue;
    if (!first) *o += ',';
    first = false;
    *o += std::string("\"") + name + "\":" + Num(*v);
  }
  *o += "}";
  for (auto [name, d] :
       {std::pair{"ttft_s", &s.ttft_s}, std::pair{"itl_s", &s.itl_s},
        std::pair{"tpot_s", &s.tpot_s}, std::pair{"e2e_s", &s.e2e_s},
        std::pair{"send_lag_s", &s.send_lag_s}, std::pair{"output_tokens", &s.output_tokens},
        std::pair{"prompt_tokens", &s.prompt_tokens}}) {
    *o += std::string(",\"") + name + "\":";
    JsonDistribution(*d, o);
  }
  *o += "}";
}

// ---- SVG charts ----

struct Curve {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;
  bool dots = false;
};

double NiceStep(double range, int target_ticks) {
  if (range <= 0) return 1;
  double raw = range / target_ticks;
  double mag = std::pow(10, std::floor(std::log10(raw)));
  double norm = raw / mag;
  double nice = norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10;
  return nice * mag;
}

std::string Chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                  const std::vector<Curve>& curves) {
  const double w = 1000, h = 300, left = 70, right = 20, top = 34, bottom = 46;
  double xmax = 0, ymax = 0;
  for (const Curve& c : curves) {
    for (auto [x, y] : c.points) {
      if (std::isfinite(x)) xmax = std::max(xmax, x);
      if (std::isfinite(y)) ymax = std::max(ymax, y);
    }
  }
  if (xmax <= 0) xmax = 1;
  if (ymax <= 0) ymax = 1;
  double xstep = NiceStep(xmax, 10), ystep = NiceStep(ymax, 5);
  xmax = std::ceil(xmax / xstep) * xstep;
  ymax = std::ceil(ymax / ystep) * ystep;
  auto px = [&](double x) { return left + (w - left - right) * x / xmax; };
  auto py = [&](double y) { return h - bottom - (h - top - bottom) * y / ymax; };

  std::string s = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " +
                  Num(w) + " " + Num(h) + "\" width=\"" + Num(w) + "\" height=\"" + Num(h) +
                  "\" role=\"img\"><title>" + HtmlEscape(title) + "</title>";
  s +=
      "<rect x=\"0\" y=\"0\" width=\"" + Num(w) + "\" height=\"" + Num(h) + "\" fill=\"#ffffff\"/>";
  s += "<text x=\"" + Num(left) + "\" y=\"20\" font-size=\"15\" font-weight=\"bold\">" +
       HtmlEscape(title) + "</text>";
  for (double y = 0; y <= ymax + ystep / 2; y += ystep) {
    s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(w - right) + "\" y1=\"" + Num(py(y)) +
         "\" y2=\"" + Num(py(y)) + "\" stroke=\"#e3e3e3\"/>";
    s += "<text x=\"" + Num(left - 6) + "\" y=\"" + Num(py(y) + 4) +
         "\" font-size=\"11\" text-anchor=\"end\">" + Num(y) + "</text>";
  }
  for (double x = 0; x <= xmax + xstep / 2; x += xstep) {
    s += "<line x1=\"" + Num(px(x)) + "\" x2=\"" + Num(px(x)) + "\" y1=\"" + Num(py(0)) +
         "\" y2=\"" + Num(py(0) + 4) + "\" stroke=\"#555\"/>";
    s += "<text x=\"" + Num(px(x)) + "\" y=\"" + Num(py(0) + 17) +
         "\" font-size=\"11\" text-anchor=\"middle\">" + Num(x) + "</text>";
  }
  s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(w - right) + "\" y1=\"" + Num(py(0)) +
       "\" y2=\"" + Num(py(0)) + "\" stroke=\"#555\"/>";
  s += "<line x1=\"" + Num(left) + "\" x2=\"" + Num(left) + "\" y1=\"" + Num(top) + "\" y2=\"" +
       Num(py(0)) + "\" stroke=\"#555\"/>";
  s += "<text x=\"" + Num((left + w - right) / 2) + "\" y=\"" + Num(h - 8) +
       "\" font-size=\"12\" text-anchor=\"middle\">" + HtmlEscape(x_label) + "</text>";
  s += "<text x=\"14\" y=\"" + Num((top + h - bottom) / 2) +
       "\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 14 " +
       Num((top + h - bottom) / 2) + ")\">" + HtmlEscape(y_label) + "</text>";
  double legend_x = w - right - 10;
  for (auto it = curves.rbegin(); it != curves.rend(); ++it) {
    const Curve& c = *it;
    legend_x -= 12 + 7.0 * static_cast<double>(c.name.size()) + 16;
    s += "<rect x=\"" + Num(legend_x) + "\" y=\"10\" width=\"12\" height=\"12\" fill=\"" + c.color +
         "\"/><text x=\"" + Num(legend_x + 16) + "\" y=\"20\" font-size=\"12\">" +
         HtmlEscape(c.name) + "</text>";
  }
  for (const Curve& c : curves) {
    if (c.points.empty()) continue;
    if (c.dots) {
      s += "<g fill=\"" + c.color + "\" fill-opacity=\"0.55\">";
      for (auto [x, y] : c.points) {
        s += "<circle cx=\"" + Fixed(px(x), 1) + "\" cy=\"" + Fixed(py(y), 1) + "\" r=\"2\"/>";
      }
      s += "</g>";
    } else {
      s += "<polyline fill=\"none\" stroke-width=\"2\" stroke=\"" + c.color + "\" points=\"";
      for (auto [x, y] : c.points) s += Fixed(px(x), 1) + "," + Fixed(py(y), 1) + " ";
      s += "\"/>";
    }
  }
  s += "</svg>\n";
  return s;
}

std::string DistributionRows(const Summary& s) {
  std::string t;
  for (auto [name, d, scale] :
       {std::tuple{"TTFT (ms)", &s.ttft_s, 1000.0}, std::tuple{"ITL (ms)", &s.itl_s, 1000.0},
        std::tuple{"TPOT (ms)", &s.tpot_s, 1000.0},
        std::tuple{"E2E latency (ms)", &s.e2e_s, 1000.0},
        std::tuple{"send lag (ms)", &s.send_lag_s, 1000.0},
        std::tuple{"output tokens", &s.output_tokens, 1.0},
        std::tuple{"prompt tokens", &s.prompt_tokens, 1.0}}) {
    t += "<tr><th>" + std::string(name) + "</th><td>" + std::to_string(d->count) + "</td>";
    for (double v : {d->mean, d->p50, d->p90, d->p95, d->p99, d->max}) {
      t += "<td>" + Fixed(v * scale, 2) + "</td>";
    }
    t += "</tr>";
  }
  return t;
}

}  // namespace

std::string SummaryText(const Summary& s) {
  std::string o;
  o += "requests: " + std::to_string(s.requests) + " sent, " + std::to_string(s.succeeded) +
       " succeeded, " + std::to_string(s.failed) + " failed in " + Fixed(s.duration_s, 2) + " s\n";
  o += "throughput: " + Fixed(s.request_rate, 2) + " req/s, " + Fixed(s.output_token_rate, 1) +
       " output tok/s, " + Fixed(s.total_token_rate, 1) + " total tok/s";
  if (!s.slo.empty())
    o += ", goodput " + Fixed(s.goodput, 2) + " req/s (" + std::to_string(s.good) + " within SLO)";
  o += "\n";
  o += "latency ms        mean      p50      p90      p95      p99      max\n";
  for (auto [name, d] :
       {std::pair{"ttft", &s.ttft_s}, std::pair{"itl", &s.itl_s}, std::pair{"tpot", &s.tpot_s},
        std::pair{"e2e", &s.e2e_s}, std::pair{"send lag", &s.send_lag_s}}) {
    if (d->count == 0) continue;
    char line[160];
    std::snprintf(line, sizeof line, "  %-10s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f\n", name,
                  d->mean * 1000, d->p50 * 1000, d->p90 * 1000, d->p95 * 1000, d->p99 * 1000,
                  d->max * 1000);
    o += line;
  }
  if (!s.errors.empty()) {
    o += "errors:";
    for (const auto& [k, v] : s.errors) o += " " + k + "=" + std::to_string(v);
    o += "\n";
    if (!s.first_error.empty()) o += "  first: " + s.first_error + "\n";
  }
  return o;
}

std::string ReportJson(const Report& r, bool include_requests) {
  std::string o = "{\"title\":";
  core::AppendJsonString(r.title, &o);
  o += ",\"command\":";
  core::AppendJsonString(r.command, &o);
  o += ",\"started_unix_s\":" + Num(r.started_unix_s) + ",\"targets\":[";
  for (std::size_t i = 0; i < r.targets.size(); ++i) {
    if (i) o += ',';
    core::AppendJsonString(r.targets[i], &o);
  }
  o += "],\"settings\":{";
  for (std::size_t i = 0; i < r.settings.size(); ++i) {
    if (i) o += ',';
    core::AppendJsonString(r.settings[i].first, &o);
    o += ':';
    core::AppendJsonString(r.settings[i].second, &o);
  }
  o += "},\"summary\":";
  JsonSummary(r.summary, &o);
  o += ",\"interval_s\":" + Num(r.interval_s) + ",\"series\":[";
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    const IntervalStats& s = r.series[i];
    if (i) o += ',';
    o += "{\"start_s\":" + Num(s.start_s) + ",\"sent\":" + std::to_string(s.sent) +
         ",\"completed\":" + std::to_string(s.completed) +
         ",\"errors\":" + std::to_string(s.errors) +
         ",\"output_tokens\":" + std::to_string(s.output_tokens) +
         ",\"in_flight\":" + std::to_string(s.in_flight) + ",\"ttft_p50_s\":" + Num(s.ttft_p50_s) +
         ",\"ttft_p99_s\":" + Num(s.ttft_p99_s) + ",\"e2e_p50_s\":" + Num(s.e2e_p50_s) +
         ",\"e2e_p99_s\":" + Num(s.e2e_p99_s) + ",\"lag_p99_s\":" + Num(s.lag_p99_s) + "}";
  }
  o += "],\"sweep\":[";
  for (std::size_t i = 0; i < r.sweep.size(); ++i) {
    if (i) o += ',';
    o += "{\"offered_rate\":" + Num(r.sweep[i].offered_rate) + ",\"summary\":";
    JsonSummary(r.sweep[i].summary, &o);
    o += "}";
  }
  o += "]";
  if (include_requests && r.requests != nullptr) {
    o += ",\"requests\":[";
    bool first = true;
    for (const RequestRecord& q : *r.requests) {
      if (!first) o += ',';
      first = false;
      o += "{\"index\":" + std::to_string(q.index) + ",\"target\":" + std::to_string(q.target) +
           ",\"scheduled_s\":" + Num(q.scheduled_s) + ",\"sent_s\":" + Num(q.sent_s) +
           ",\"ttft_s\":" + Num(q.ttft_s) + ",\"e2e_s\":" + Num(q.e2e_s) +
           ",\"prompt_tokens\":" + std::to_string(q.prompt_tokens) +
           ",\"output_tokens\":" + std::to_string(q.output_tokens) +
           ",\"max_tokens\":" + std::to_string(q.max_tokens) +
           ",\"status\":" + std::to_string(q.status) + ",\"error\":";
      core::AppendJsonString(q.ok() ? "" : ErrorKindName(q.error), &o);
      o += ",\"error_message\":";
      core::AppendJsonString(q.error_message, &o);
      o += ",\"itl_s\":[";
      for (std::size_t k = 0; k < q.itl_s.size(); ++k) {
        if (k) o += ',';
        o += Num(q.itl_s[k]);
      }
      o += "]}";
    }
    o += "]";
  }
  o += ",\"notes\":[";
  for (std::size_t i = 0; i < r.notes.size(); ++i) {
    if (i) o += ',';
    core::AppendJsonString(r.notes[i], &o);
  }
  o += "]}\n";
  return o;
}

std::string RequestsCsv(const std::vector<RequestRecord>& requests) {
  std::string o =
      "index,target,scheduled_s,sent_s,send_lag_s,ttft_s,e2e_s,itl_mean_s,itl_max_s,tpot_s,"
      "prompt_tokens,output_tokens,max_tokens,status,error,error_message\n";
  for (const RequestRecord& q : requests) {
    double mean = 0, mx = 0;
    for (float g : q.itl_s) {
      mean += g;
      mx = std::max<double>(mx, g);
    }
    if (!q.itl_s.empty()) mean /= static_cast<double>(q.itl_s.size());
    std::string msg;
    for (char c : q.error_message) {
      if (c == '"') {
        msg += "\"\"";
      } else if (c != '\n' && c != '\r') {
        msg += c;
      }
    }
    o += std::to_string(q.index) + "," + std::to_string(q.target) + "," + Num(q.scheduled_s) + "," +
         Num(q.sent_s) + "," + Num(q.send_lag_s()) + "," + Num(q.ttft_s) + "," + Num(q.e2e_s) +
         "," + Num(mean) + "," + Num(mx) + "," + Num(q.tpot_s()) + "," +
         std::to_string(q.prompt_tokens) + "," + std::to_string(q.output_tokens) + "," +
         std::to_string(q.max_tokens) + "," + std::to_string(q.status) + "," +
         std::string(q.ok() ? "" : ErrorKindName(q.error)) + ",\"" + msg + "\"\n";
  }
  return o;
}

std::string ReportHtml(const Report& r) {
  const Summary& s = r.summary;
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
      HtmlEscape(r.title) +
      "</title><style>body{font-family:sans-serif;margin:24px;color:#222;background:#fafafa}"
      "h1{font-size:22px}h2{font-size:17px;margin-top:28px}table{border-collapse:collapse;"
      "margin:8px 0}td,th{border:1px solid #ccc;padding:3px 9px;text-align:right;font-size:13px}"
      "th{background:#eef}.chart{display:block;margin:12px 0;border:1px solid #ddd}"
      "code{background:#eee;padding:2px 4px}.kpi{display:inline-block;margin:0 18px 8px 0;"
      "padding:8px 14px;background:#fff;border:1px solid #ddd}.kpi b{display:block;"
      "font-size:20px}</style></head><body>\n";
  h += "<h1>" + HtmlEscape(r.title) + "</h1>\n";
  if (!r.command.empty()) h += "<p><code>" + HtmlEscape(r.command) + "</code></p>\n";
  if (r.started_unix_s > 0) {
    std::time_t t = static_cast<std::time_t>(r.started_unix_s);
    char buf[64];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    h += "<p>started " + std::string(buf) + "</p>\n";
  }
  h += "<div>";
  for (auto [label, value] :
       {std::pair{"requests", std::to_string(s.requests)},
        std::pair{"succeeded", std::to_string(s.succeeded)},
        std::pair{"failed", std::to_string(s.failed)}, std::pair{"req/s", Fixed(s.request_rate, 2)},
        std::pair{"output tok/s", Fixed(s.output_token_rate, 1)},
        std::pair{"goodput req/s", Fixed(s.goodput, 2)}, std::pair{"TTFT p99 ms", Ms(s.ttft_s.p99)},
        std::pair{"E2E p99 ms", Ms(s.e2e_s.p99)},
        std::pair{"send lag p99 ms", Ms(s.send_lag_s.p99)}}) {
    h += "<span class=\"kpi\">" + std::string(label) + "<b>" + value + "</b></span>";
  }
  h += "</div>\n<h2>Latency</h2><table><tr><th></th><th>count</th><th>mean</th><th>p50</th>"
       "<th>p90</th><th>p95</th><th>p99</th><th>max</th></tr>" +
       DistributionRows(s) + "</table>\n";

  // Latency over time: each request at its send time (a sample when there are many), with the
  // per-interval p99.
  std::vector<Curve> lat;
  Curve e2e{"E2E", "#1f77b4", {}, true}, ttft{"TTFT", "#ff7f0e", {}, true};
  Curve e2e99{"E2E p99", "#0b3d91", {}, false}, ttft99{"TTFT p99", "#c0392b", {}, false};
  if (r.requests != nullptr) {
    std::size_t n = r.requests->size();
    std::size_t stride = std::max<std::size_t>(1, n / 4000);
    for (std::size_t i = 0; i < n; i += stride) {
      const RequestRecord& q = (*r.requests)[i];
      if (!q.ok()) continue;
      e2e.points.push_back({q.sent_s, q.e2e_s * 1000});
      if (q.ttft_s >= 0) ttft.points.push_back({q.sent_s, q.ttft_s * 1000});
    }
  }
  for (const IntervalStats& i : r.series) {
    if (i.sent == 0) continue;
    double mid = i.start_s + r.interval_s / 2;
    e2e99.points.push_back({mid, i.e2e_p99_s * 1000});
    if (i.ttft_p99_s > 0) ttft99.points.push_back({mid, i.ttft_p99_s * 1000});
  }
  for (Curve* c : {&e2e, &ttft, &e2e99, &ttft99}) {
    if (!c->points.empty()) lat.push_back(std::move(*c));
  }
  h += "<h2>Latency over time</h2>\n" +
       Chart("Latency by send time", "time since start (s)", "latency (ms)", lat);

  Curve sent{"sent/s", "#2ca02c", {}, false}, done{"completed/s", "#1f77b4", {}, false},
      errs{"errors/s", "#d62728", {}, false}, flight{"in flight", "#9467bd", {}, false},
      toks{"output tok/s", "#8c564b", {}, false};
  for (const IntervalStats& i : r.series) {
    double x = i.start_s + r.interval_s;
    sent.points.push_back({x, static_cast<double>(i.sent) / r.interval_s});
    done.points.push_back({x, static_cast<double>(i.completed) / r.interval_s});
    errs.points.push_back({x, static_cast<double>(i.errors) / r.interval_s});
    flight.points.push_back({x, static_cast<double>(i.in_flight)});
    toks.points.push_back({x, static_cast<double>(i.output_tokens) / r.interval_s});
  }
  h += "<h2>Rate</h2>\n" +
       Chart("Requests per second", "time since start (s)", "requests/s", {sent, done, errs}) +
       Chart("Concurrency and tokens", "time since start (s)", "count, tokens/s", {flight, toks});

  if (!r.sweep.empty()) {
    Curve achieved{"achieved req/s", "#1f77b4", {}, false},
        good{"goodput req/s", "#2ca02c", {}, false}, p99{"E2E p99 (s)", "#d62728", {}, false};
    h += "<h2>Sweep</h2><table><tr><th>offered req/s</th><th>achieved req/s</th><th>goodput</th>"
         "<th>output tok/s</th><th>TTFT p50 ms</th><th>TTFT p99 ms</th><th>E2E p99 ms</th>"
         "<th>failed</th></tr>";
    for (const SweepPoint& p : r.sweep) {
      const Summary& q = p.summary;
      achieved.points.push_back({p.offered_rate, q.request_rate});
      good.points.push_back({p.offered_rate, q.goodput});
      p99.points.push_back({p.offered_rate, q.e2e_s.p99});
      h += "<tr><td>" + Fixed(p.offered_rate, 2) + "</td><td>" + Fixed(q.request_rate, 2) +
           "</td><td>" + Fixed(q.goodput, 2) + "</td><td>" + Fixed(q.output_token_rate, 1) +
           "</td><td>" + Ms(q.ttft_s.p50) + "</td><td>" + Ms(q.ttft_s.p99) + "</td><td>" +
           Ms(q.e2e_s.p99) + "</td><td>" + std::to_string(q.failed) + "</td></tr>";
    }
    h += "</table>\n" + Chart("Throughput against offered rate", "offered req/s", "req/s, s",
                              {achieved, good, p99});
  }

  if (!s.errors.empty()) {
    h += "<h2>Errors</h2><table><tr><th>kind</th><th>count</th></tr>";
    for (const auto& [k, v] : s.errors) {
      h += "<tr><td>" + HtmlEscape(k) + "</td><td>" + std::to_string(v) + "</td></tr>";
    }
    h += "</table>";
    if (!s.first_error.empty()) h += "<p>first: " + HtmlEscape(s.first_error) + "</p>";
  }
  h += "<h2>Settings</h2><table>";
  for (const auto& [k, v] : r.settings) {
    h += "<tr><th>" + HtmlEscape(k) + "</th><td>" + HtmlEscape(v) + "</td></tr>";
  }
  for (std::size_t i = 0; i < r.targets.size(); ++i) {
    h += "<tr><th>target " + std::to_string(i) + "</th><td>" + HtmlEscape(r.targets[i]) +
         "</td></tr>";
  }
  h += "</table>\n";
  for (const std::string& n : r.notes) h += "<p>" + HtmlEscape(n) + "</p>\n";
  h += "</body></html>\n";
  return h;
}

}  // namespace gpuscale::load
