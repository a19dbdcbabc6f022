#include "sim/oracle.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace gpuscale::sim {
namespace {

using core::Timestamp;

Timestamp At(double s) {
  return Timestamp{} + std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(s));
}

// One engine serving `reqs` (indices into requests), returns how many met the SLO. Round-robin
// routing makes engines independent, so each runs its own event loop: add every arrival up to
// the current time, step, repeat; jump over idle gaps.
std::size_t RunOne(const Options& o, const std::vector<RequestRecord>& requests,
                   const std::vector<std::size_t>& reqs) {
  engine::Engine eng(o.profile, o.engine);
  std::size_t next = 0, met = 0;
  Timestamp now{};
  const double itl_slo = core::ToSeconds(o.slo_itl);
  while (next < reqs.size() || eng.HasWork()) {
    if (!eng.HasWork()) now = std::max(now, At(requests[reqs[next]].arrival_s));
    while (next < reqs.size() && At(requests[reqs[next]].arrival_s) <= now) {
      const RequestRecord& r = requests[reqs[next]];
      engine::RequestSpec spec;
      spec.id = next;
      spec.prompt_tokens = r.prompt_tokens;
      spec.output_tokens = r.output_tokens;
      (void)eng.Add(spec, At(r.arrival_s));  // one that never fits counts as missed
      ++next;
    }
    if (!eng.HasWork()) continue;
    const engine::StepResult& s = eng.Step(now);
    now = s.end();
    for (const engine::FinishedRequest& f : s.finished) {
      const Timestamp first = f.first_token.value_or(f.finished);
      const double itl =
          f.output_tokens > 1 ? core::ToSeconds(f.finished - first) / (f.output_tokens - 1) : 0;
      if (first - f.arrival <= o.slo_ttft && itl <= itl_slo) ++met;
    }
  }
  return met;
}

}  // namespace

double FixedPoolAttainment(const Options& options, const std::vector<RequestRecord>& requests,
                           int replicas) {
  if (requests.empty()) return 1.0;
  std::vector<std::vector<std::size_t>> split(static_cast<std::size_t>(replicas));
  for (std::size_t i = 0; i < requests.size(); ++i) split[i % split.size()].push_back(i);
  std::size_t met = 0;
  for (const auto& part : split) met += RunOne(options, requests, part);
  return static_cast<double>(met) / static_cast<double>(requests.size());
}

core::Result<OracleResult> ComputeOracle(const Options& options,
                                         const std::vector<RequestRecord>& requests,
                                         int max_replicas) {
  if (options.oracle_interval <= core::Duration{0}) {
    return core::InvalidArgument("oracle_interval: must be positive");
  }
  if (max_replicas < 1) {
    return core::InvalidArgument(
        fmt::format("max_replicas: must be at least 1, found {}", max_replicas));
  }
  const double width = core::ToSeconds(options.oracle_interval);
  OracleResult out;
  std::size_t i = 0;
  while (i < requests.size()) {
    const auto k = static_cast<long long>(std::floor(requests[i].arrival_s / width));
    // Empty intervals before this one need one replica (the HPA's floor).
    while (static_cast<long long>(out.intervals.size()) < k) {
      out.intervals.push_back(
          OracleInterval{static_cast<double>(out.intervals.size()) * width, 0, 1});
    }
    std::vector<RequestRecord> part;
    while (i < requests.size() && requests[i].arrival_s < static_cast<double>(k + 1) * width) {
      part.push_back(requests[i++]);
    }
    // Exponential then binary search for the smallest n reaching the target.
    int lo = 0, hi = 1;
    while (hi < max_replicas && FixedPoolAttainment(options, part, hi) < options.slo_target) {
      lo = hi;
      hi = std::min(max_replicas, hi * 2);
    }
    while (hi - lo > 1) {
      const int mid = lo + (hi - lo) / 2;
      if (FixedPoolAttainment(options, part, mid) >= options.slo_target) {
        hi = mid;
      } else {
        lo = mid;
      }
    }
    out.intervals.push_back(
        OracleInterval{static_cast<double>(k) * width, static_cast<int>(part.size()), hi});
  }
  for (const OracleInterval& iv : out.intervals) out.gpu_hours += iv.replicas * width / 3600.0;
  return out;
}

}  // namespace gpuscale::sim
