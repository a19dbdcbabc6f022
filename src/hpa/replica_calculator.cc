#include "hpa/replica_calculator.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gpuscale::hpa {
namespace {

__extension__ typedef __int128 i128;
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();
constexpr int32_t kMaxInt32 = std::numeric_limits<int32_t>::max();

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t out;
  if (__builtin_add_overflow(a, b, &out))
    return b > 0 ? kMaxInt64 : std::numeric_limits<int64_t>::min();
  return out;
}

void RemovePods(const std::set<std::string>& names, PodMetricsInfo* metrics) {
  for (const auto& n : names) metrics->erase(n);
}

}  // namespace

bool Tolerances::IsWithin(double usage_ratio) const {
  if (legacy_formula) return std::fabs(1.0 - usage_ratio) <= scale_up;
  return (1.0 - scale_down) <= usage_ratio && usage_ratio <= (1.0 + scale_up);
}

int32_t CeilToReplicas(double x) {
  double c = std::ceil(x);
  if (std::isnan(c)) return 0;
  if (c >= static_cast<double>(kMaxInt32)) return kMaxInt32;
  if (c <= static_cast<double>(std::numeric_limits<int32_t>::min())) {
    return std::numeric_limits<int32_t>::min();
  }
  return static_cast<int32_t>(c);
}

GroupedPods GroupPods(const std::vector<Pod>& pods, const PodMetricsInfo& metrics,
                      std::string_view resource, core::Duration cpu_initialization_period,
                      core::Duration delay_of_initial_readiness_status, core::Timestamp now) {
  GroupedPods g;
  for (const Pod& pod : pods) {
    if (pod.deletion_timestamp.has_value() || pod.phase == PodPhase::kFailed) {
      g.ignored.insert(pod.name);
      continue;
    }
    if (pod.phase == PodPhase::kPending) {
      g.unready.insert(pod.name);
      continue;
    }
    auto it = metrics.find(pod.name);
    if (it == metrics.end()) {
      g.missing.insert(pod.name);
      continue;
    }
    if (resource == "cpu") {
      bool unready = false;
      if (!pod.ready.has_value() || !pod.start_time.has_value()) {
        unready = true;
      } else if (*pod.start_time + cpu_initialization_period > now) {
        // Within the initialization period a sample counts only if the pod is ready and the
        // sample was taken entirely after it became ready.
        unready = pod.ready->status == ConditionStatus::kFalse ||
                  it->second.timestamp < pod.ready->last_transition_time + it->second.window;
      } else {
        // Afterwards only a pod that has never been ready since start-up is skipped.
        unready =
            pod.ready->status == ConditionStatus::kFalse &&
            *pod.start_time + delay_of_initial_readiness_status > pod.ready->last_transition_time;
      }
      if (unready) {
        g.unready.insert(pod.name);
        continue;
      }
    }
    ++g.ready_count;
  }
  return g;
}

core::Result<std::unordered_map<std::string, int64_t>> CalculateRequests(
    const std::vector<Pod>& pods, std::string_view container, std::string_view resource) {
  std::unordered_map<std::string, int64_t> requests;
  requests.reserve(pods.size());
  const std::string res(resource);
  for (const Pod& pod : pods) {
    if (container.empty()) {
      auto pl = pod.pod_requests_milli.find(res);
      if (pl != pod.pod_requests_milli.end()) {
        requests[pod.name] = pl->second;
        continue;
      }
    }
    int64_t total = 0;
    bool found_container = false;
    auto add = [&](const Container& c) -> core::Status {
      if (!container.empty() && c.name != container) return core::Status::Ok();
      found_container = true;
      auto r = c.requests_milli.find(res);
      if (r == c.requests_milli.end()) {
        return core::InvalidArgument("missing request for " + res + " in container " + c.name +
                                     " of Pod " + pod.name);
      }
      total = SaturatingAdd(total, r->second);
      return core::Status::Ok();
    };
    for (const Container& c : pod.containers) GPUSCALE_RETURN_IF_ERROR(add(c));
    for (const Container& c : pod.init_containers) {
      if (c.restartable_init) GPUSCALE_RETURN_IF_ERROR(add(c));
    }
    if (!container.empty() && !found_container) {
      return core::InvalidArgument("container " + std::string(container) + " not found in Pod " +
                                   pod.name);
    }
    requests[pod.name] = total;
  }
  return requests;
}

core::Result<UtilizationRatio> GetResourceUtilizationRatio(
    const PodMetricsInfo& metrics, const std::unordered_map<std::string, int64_t>& requests,
    int32_t target_utilization) {
  i128 metrics_total = 0;
  i128 requests_total = 0;
  int64_t entries = 0;
  for (const auto& [name, m] : metrics) {
    auto r = requests.find(name);
    if (r == requests.end()) continue;  // a metric for a pod we do not know
    metrics_total += m.value;
    requests_total += r->second;
    ++entries;
  }
  if (requests_total == 0) {
    return core::InvalidArgument("no metrics returned matched known pods");
  }
  i128 util = metrics_total * 100 / requests_total;
  util = std::clamp<i128>(util, std::numeric_limits<int32_t>::min(), kMaxInt32);
  UtilizationRatio out;
  out.utilization = static_cast<int32_t>(util);
  out.ratio = static_cast<double>(out.utilization) / static_cast<double>(target_utilization);
  i128 raw = metrics_total / entries;
  out.raw_average =
      static_cast<int64_t>(std::clamp<i128>(raw, std::numeric_limits<int64_t>::min(), kMaxInt64));
  return out;
}

UsageRatio GetMetricUsageRatio(const PodMetricsInfo& metrics, int64_t target_usage) {
  int64_t total = 0;
  for (const auto& [name, m] : metrics) total = SaturatingAdd(total, m.value);
  UsageRatio out;
  out.usage = metrics.empty() ? 0 : total / static_cast<int64_t>(metrics.size());
  out.ratio = static_cast<double>(out.usage) / static_cast<double>(target_usage);
  return out;
}

core::Result<ReplicaProposal> GetResourceReplicas(
    int32_t current_replicas, int32_t target_utilization, std::string_view resource,
    std::string_view container, const Tolerances& tolerances, const std::vector<Pod>& pods,
    PodMetricsInfo metrics, const CalculatorConfig& config, core::Timestamp now) {
  if (pods.empty()) {
    return core::InvalidArgument("no pods returned by selector while calculating replica count");
  }
  GroupedPods g = GroupPods(pods, metrics, resource, config.cpu_initialization_period,
                            config.delay_of_initial_readiness_status, now);
  RemovePods(g.ignored, &metrics);
  RemovePods(g.unready, &metrics);
  if (metrics.empty()) {
    return core::InvalidArgument(
        "did not receive metrics for targeted pods (pods might be unready)");
  }
  GPUSCALE_ASSIGN_OR_RETURN(auto requests, CalculateRequests(pods, container, resource));
  GPUSCALE_ASSIGN_OR_RETURN(UtilizationRatio first,
                            GetResourceUtilizationRatio(metrics, requests, target_utilization));
  ReplicaProposal out{current_replicas, first.utilization, first.raw_average};
  const double ratio = first.ratio;
  const bool scale_up_with_unready = !g.unready.empty() && ratio > 1.0;
  if (!scale_up_with_unready && g.missing.empty()) {
    if (tolerances.IsWithin(ratio)) return out;
    out.replicas = CeilToReplicas(ratio * static_cast<double>(g.ready_count));
    return out;
  }
  if (!g.missing.empty()) {
    if (ratio < 1.0) {
      // Scale-down: assume missing pods use max(100%, target) of their request.
      const int64_t fallback = std::max<int64_t>(100, target_utilization);
      for (const auto& name : g.missing) {
        metrics[name] = PodMetric{requests[name] * fallback / 100};
      }
    } else if (ratio > 1.0) {
      for (const auto& name : g.missing) metrics[name] = PodMetric{0};
    }
  }
  if (scale_up_with_unready) {
    for (const auto& name : g.unready) metrics[name] = PodMetric{0};
  }
  GPUSCALE_ASSIGN_OR_RETURN(UtilizationRatio second,
                            GetResourceUtilizationRatio(metrics, requests, target_utilization));
  const double new_ratio = second.ratio;
  if (tolerances.IsWithin(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    return out;  // the change is too small or the direction flipped
  }
  const int32_t new_replicas = CeilToReplicas(new_ratio * static_cast<double>(metrics.size()));
  if ((new_ratio < 1.0 && new_replicas > current_replicas) ||
      (new_ratio > 1.0 && new_replicas < current_replicas)) {
    return out;
  }
  out.replicas = new_replicas;
  return out;
}

core::Result<ReplicaProposal> GetPlainMetricReplicas(
    int32_t current_replicas, int64_t target_usage, std::string_view resource,
    const Tolerances& tolerances, const std::vector<Pod>& pods, PodMetricsInfo metrics,
    const CalculatorConfig& config, core::Timestamp now) {
  if (pods.empty()) {
    return core::InvalidArgument("no pods returned by selector while calculating replica count");
  }
  GroupedPods g = GroupPods(pods, metrics, resource, config.cpu_initialization_period,
                            config.delay_of_initial_readiness_status, now);
  RemovePods(g.ignored, &metrics);
  RemovePods(g.unready, &metrics);
  if (metrics.empty()) {
    return core::InvalidArgument(
        "did not receive metrics for targeted pods (pods might be unready)");
  }
  UsageRatio first = GetMetricUsageRatio(metrics, target_usage);
  ReplicaProposal out{current_replicas, 0, first.usage};
  const double ratio = first.ratio;
  const bool scale_up_with_unready = !g.unready.empty() && ratio > 1.0;
  if (!scale_up_with_unready && g.missing.empty()) {
    if (tolerances.IsWithin(ratio)) return out;
    out.replicas = CeilToReplicas(ratio * static_cast<double>(g.ready_count));
    return out;
  }
  if (!g.missing.empty()) {
    if (ratio < 1.0) {
      for (const auto& name : g.missing) metrics[name] = PodMetric{target_usage};
    } else if (ratio > 1.0) {
      for (const auto& name : g.missing) metrics[name] = PodMetric{0};
    }
  }
  if (scale_up_with_unready) {
    for (const auto& name : g.unready) metrics[name] = PodMetric{0};
  }
  const double new_ratio = GetMetricUsageRatio(metrics, target_usage).ratio;
  if (tolerances.IsWithin(new_ratio) || (ratio < 1.0 && new_ratio > 1.0) ||
      (ratio > 1.0 && new_ratio < 1.0)) {
    return out;
  }
  const int32_t new_replicas = CeilToReplicas(new_ratio * static_cast<double>(metrics.size()));
  if ((new_ratio < 1.0 && new_replicas > current_replicas) ||
      (new_ratio > 1.0 && new_replicas < current_replicas)) {
    return out;
  }
  out.replicas = new_replicas;
  return out;
}

core::Result<ReplicaProposal> GetValueMetricReplicas(int32_t spec_replicas, int64_t usage,
                                                     int64_t target_usage,
                                                     const Tolerances& tolerances,
                                                     const std::vector<Pod>& pods) {
  const double ratio = static_cast<double>(usage) / static_cast<double>(target_usage);
  ReplicaProposal out{spec_replicas, 0, usage};
  if (spec_replicas == 0) {
    out.replicas = CeilToReplicas(ratio);  // scaling from zero: no tolerance, no pod count
    return out;
  }
  if (tolerances.IsWithin(ratio)) return out;
  if (pods.empty()) {
    return core::InvalidArgument(
        "unable to calculate ready pods: no pods returned by selector while calculating replica "
        "count");
  }
  int64_t ready = 0;
  for (const Pod& p : pods) {
    if (p.phase == PodPhase::kRunning && p.ready.has_value() &&
        p.ready->status == ConditionStatus::kTrue) {
      ++ready;
    }
  }
  out.replicas = CeilToReplicas(ratio * static_cast<double>(ready));
  return out;
}

ReplicaProposal GetPerPodMetricReplicas(int32_t status_replicas, int64_t usage,
                                        int64_t target_average_usage,
                                        const Tolerances& tolerances) {
  ReplicaProposal out{status_replicas, 0, usage};
  const double ratio =
      static_cast<double>(usage) / (static_cast<double>(target_average_usage) * status_replicas);
  if (!tolerances.IsWithin(ratio)) {
    out.replicas =
        CeilToReplicas(static_cast<double>(usage) / static_cast<double>(target_average_usage));
  }
  if (status_replicas != 0) {
    double per_pod = std::ceil(static_cast<double>(usage) / status_replicas);
    out.usage = per_pod >= 9.2233720368547758e18 ? kMaxInt64 : static_cast<int64_t>(per_pod);
  }
  return out;
}

}  // namespace gpuscale::hpa
