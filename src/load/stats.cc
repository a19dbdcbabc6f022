#include "load/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/duration.h"

namespace gpuscale::load {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNone:
      return "none";
    case ErrorKind::kHttp4xx:
      return "http_4xx";
    case ErrorKind::kHttp5xx:
      return "http_5xx";
    case ErrorKind::kConnect:
      return "connect";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kTruncated:
      return "truncated";
    case ErrorKind::kProtocol:
      return "protocol";
    case ErrorKind::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

double RequestRecord::tpot_s() const {
  if (ttft_s < 0 || e2e_s < 0 || output_tokens < 2) return -1;
  return (e2e_s - ttft_s) / (output_tokens - 1);
}

core::Result<Slo> ParseSlo(std::string_view text) {
  Slo slo;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t comma = text.find(',', start);
    std::string_view item =
        text.substr(start, comma == std::string_view::npos ? comma : comma - start);
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return core::InvalidArgument("slo '" + std::string(item) +
                                   "': expected NAME=DURATION (ttft, itl, tpot or e2e)");
    }
    std::string_view name = item.substr(0, eq);
    core::Result<core::Duration> d = core::ParseDuration(item.substr(eq + 1));
    if (!d.ok())
      return core::InvalidArgument("slo " + std::string(name) + ": " + d.error().message);
    double s = core::ToSeconds(*d);
    if (name == "ttft") {
      slo.ttft_s = s;
    } else if (name == "itl" || name == "tpot") {
      slo.itl_s = s;
    } else if (name == "e2e") {
      slo.e2e_s = s;
    } else {
      return core::InvalidArgument("slo: unknown objective '" + std::string(name) +
                                   "' (expected ttft, itl, tpot or e2e)");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return slo;
}

bool MeetsSlo(const RequestRecord& r, const Slo& slo) {
  if (!r.ok()) return false;
  if (slo.ttft_s) {
    double t = r.ttft_s >= 0 ? r.ttft_s : r.e2e_s;
    if (t > *slo.ttft_s) return false;
  }
  if (slo.itl_s) {
    double tpot = r.tpot_s();
    if (tpot >= 0 && tpot > *slo.itl_s) return false;
  }
  if (slo.e2e_s && r.e2e_s > *slo.e2e_s) return false;
  return true;
}

double Quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  double pos = q * static_cast<double>(sorted.size() - 1);
  std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  double frac = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

Distribution Describe(std::vector<double> values) {
  Distribution d;
  d.count = values.size();
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  d.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  d.min = values.front();
  d.max = values.back();
  d.p50 = Quantile(values, 0.50);
  d.p90 = Quantile(values, 0.90);
  d.p95 = Quantile(values, 0.95);
  d.p99 = Quantile(values, 0.99);
  return d;
}

Summary Summarize(const std::vector<RequestRecord>& records, const Slo& slo, double duration_s) {
  Summary s;
  s.slo = slo;
  s.requests = records.size();
  std::vector<double> ttft, itl, tpot, e2e, lag, out, prompt;
  double end = 0;
  std::int64_t out_tokens = 0, all_tokens = 0;
  for (const RequestRecord& r : records) {
    lag.push_back(r.send_lag_s());
    ++s.statuses[r.status];
    end = std::max(end, r.sent_s + std::max(0.0, r.e2e_s));
    if (!r.ok()) {
      ++s.failed;
      ++s.errors[std::string(ErrorKindName(r.error))];
      if (s.first_error.empty()) {
        s.first_error = std::string(ErrorKindName(r.error)) + ": " + r.error_message;
      }
      continue;
    }
    ++s.succeeded;
    if (r.ttft_s >= 0) ttft.push_back(r.ttft_s);
    for (float g : r.itl_s) itl.push_back(g);
    if (double t = r.tpot_s(); t >= 0) tpot.push_back(t);
    e2e.push_back(r.e2e_s);
    out.push_back(r.output_tokens);
    prompt.push_back(r.prompt_tokens);
    out_tokens += r.output_tokens;
    all_tokens += r.output_tokens + r.prompt_tokens;
    if (MeetsSlo(r, slo)) ++s.good;
  }
  s.duration_s = duration_s > 0 ? duration_s : end;
  if (s.duration_s > 0) {
    s.request_rate = static_cast<double>(s.succeeded) / s.duration_s;
    s.sent_rate = static_cast<double>(s.requests) / s.duration_s;
    s.output_token_rate = static_cast<double>(out_tokens) / s.duration_s;
    s.total_token_rate = static_cast<double>(all_tokens) / s.duration_s;
    s.goodput = static_cast<double>(s.good) / s.duration_s;
  }
  s.ttft_s = Describe(std::move(ttft));
  s.itl_s = Describe(std::move(itl));
  s.tpot_s = Describe(std::move(tpot));
  s.e2e_s = Describe(std::move(e2e));
  s.send_lag_s = Describe(std::move(lag));
  s.output_tokens = Describe(std::move(out));
  s.prompt_tokens = Describe(std::move(prompt));
  return s;
}

std::vector<IntervalStats> Series(const std::vector<RequestRecord>& records, double interval_s,
                                  double duration_s) {
  std::vector<IntervalStats> series;
  if (interval_s <= 0) return series;
  double end = duration_s;
  for (const RequestRecord& r : records) end = std::max(end, r.sent_s + std::max(0.0, r.e2e_s));
  std::size_t n = static_cast<std::size_t>(std::ceil(end / interval_s));
  n = std::clamp<std::size_t>(n, 1, 1'000'000);
  series.resize(n);
  std::vector<std::vector<double>> ttft(n), e2e(n), lag(n);
  std::vector<std::int64_t> ended(n, 0);
  auto bucket = [&](double t) {
    double b = std::floor(std::max(0.0, t) / interval_s);
    return std::min(static_cast<std::size_t>(b), n - 1);
  };
  for (const RequestRecord& r : records) {
    std::size_t b = bucket(r.sent_s);
    ++series[b].sent;
    lag[b].push_back(r.send_lag_s());
    if (r.ok()) {
      if (r.ttft_s >= 0) ttft[b].push_back(r.ttft_s);
      e2e[b].push_back(r.e2e_s);
    }
    if (r.e2e_s >= 0) {
      std::size_t eb = bucket(r.sent_s + r.e2e_s);
      ++ended[eb];
      if (r.ok()) {
        ++series[eb].completed;
        series[eb].output_tokens += r.output_tokens;
      } else {
        ++series[eb].errors;
      }
    }
  }
  std::int64_t open = 0;
  for (std::size_t i = 0; i < n; ++i) {
    IntervalStats& s = series[i];
    s.start_s = static_cast<double>(i) * interval_s;
    open += static_cast<std::int64_t>(s.sent) - ended[i];
    s.in_flight = static_cast<std::size_t>(std::max<std::int64_t>(0, open));
    for (auto* v : {&ttft[i], &e2e[i], &lag[i]}) std::sort(v->begin(), v->end());
    s.ttft_p50_s = Quantile(ttft[i], 0.5);
    s.ttft_p99_s = Quantile(ttft[i], 0.99);
    s.e2e_p50_s = Quantile(e2e[i], 0.5);
    s.e2e_p99_s = Quantile(e2e[i], 0.99);
    s.lag_p99_s = Quantile(lag[i], 0.99);
  }
  return series;
}

}  // namespace gpuscale::load
