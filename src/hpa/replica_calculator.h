// Per-metric replica proposals, as pkg/controller/podautoscaler/replica_calculator.go computes
// them: pod grouping, usage ratios in milli-units with the controller's integer truncation,
// tolerance, and the rebalancing of missing and unready pods. Pure functions; `now` is data.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "hpa/types.h"

namespace gpuscale::hpa {

// A pod's metric sample as the metrics client hands it to the calculator.
struct PodMetric {
  int64_t value = 0;  // milli-units
  core::Timestamp timestamp{};
  core::Duration window = std::chrono::minutes(1);
};
using PodMetricsInfo = std::unordered_map<std::string, PodMetric>;

// Scale-up and scale-down tolerances around a usage ratio of 1.0.
struct Tolerances {
  double scale_down = 0.1;
  double scale_up = 0.1;
  // Controllers before v1.33 test |1 - ratio| <= tolerance (with scale_up as the tolerance); it
  // differs from the newer form at ratio == 1 + tolerance.
  bool legacy_formula = false;
  bool IsWithin(double usage_ratio) const;
};

struct GroupedPods {
  int ready_count = 0;
  std::set<std::string> unready;
  std::set<std::string> missing;
  std::set<std::string> ignored;
};

// Classifies pods as upstream groupPods does. Readiness rules apply only when resource == "cpu".
GroupedPods GroupPods(const std::vector<Pod>& pods, const PodMetricsInfo& metrics,
                      std::string_view resource, core::Duration cpu_initialization_period,
                      core::Duration delay_of_initial_readiness_status, core::Timestamp now);

// Per-pod requests of `resource` in milli-units: pod-level requests when present and container
// is empty, otherwise the sum over containers and restartable init containers (or one container).
core::Result<std::unordered_map<std::string, int64_t>> CalculateRequests(
    const std::vector<Pod>& pods, std::string_view container, std::string_view resource);

struct UtilizationRatio {
  double ratio = 0;
  int32_t utilization = 0;  // percent, truncated
  int64_t raw_average = 0;  // milli-units per pod, truncated
};
core::Result<UtilizationRatio> GetResourceUtilizationRatio(
    const PodMetricsInfo& metrics, const std::unordered_map<std::string, int64_t>& requests,
    int32_t target_utilization);

struct UsageRatio {
  double ratio = 0;
  int64_t usage = 0;  // average, milli-units, truncated
};
UsageRatio GetMetricUsageRatio(const PodMetricsInfo& metrics, int64_t target_usage);

struct CalculatorConfig {
  core::Duration cpu_initialization_period = std::chrono::minutes(5);
  core::Duration delay_of_initial_readiness_status = std::chrono::seconds(30);
};

struct ReplicaProposal {
  int32_t replicas = 0;
  int32_t utilization = 0;  // Resource Utilization only
  int64_t usage = 0;        // raw average (Resource), average (Pods), value (Object/External)
};

// Resource / ContainerResource with an Utilization target. `metrics` are pod totals (or the
// container's usage) in milli-units.
core::Result<ReplicaProposal> GetResourceReplicas(
    int32_t current_replicas, int32_t target_utilization, std::string_view resource,
    std::string_view container, const Tolerances& tolerances, const std::vector<Pod>& pods,
    PodMetricsInfo metrics, const CalculatorConfig& config, core::Timestamp now);

// Pods metrics and Resource/ContainerResource AverageValue targets (calcPlainMetricReplicas).
// `resource` is the resource name for the latter (readiness rules for cpu), "" for Pods.
core::Result<ReplicaProposal> GetPlainMetricReplicas(
    int32_t current_replicas, int64_t target_usage, std::string_view resource,
    const Tolerances& tolerances, const std::vector<Pod>& pods, PodMetricsInfo metrics,
    const CalculatorConfig& config, core::Timestamp now);

// Object and External metrics with a Value target: ratio times the Running+Ready pod count;
// from zero replicas ceil(ratio) with no tolerance.
core::Result<ReplicaProposal> GetValueMetricReplicas(int32_t spec_replicas, int64_t usage,
                                                     int64_t target_usage,
                                                     const Tolerances& tolerances,
                                                     const std::vector<Pod>& pods);

// Object and External metrics with an AverageValue target (uses scale.status.replicas);
// `usage` in the result is the per-pod average reported in status.
ReplicaProposal GetPerPodMetricReplicas(int32_t status_replicas, int64_t usage,
                                        int64_t target_average_usage, const Tolerances& tolerances);

// int32(math.Ceil(x)) with the controller's saturation at MaxInt32.
int32_t CeilToReplicas(double x);

}  // namespace gpuscale::hpa
