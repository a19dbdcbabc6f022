// One HorizontalPodAutoscaler's controller state (recommendation history, scale events, status
// conditions) and its reconcile step. The simulator calls Sync in virtual time and `gpuscale up`
// in real time; both pass the observed State with its `time`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "hpa/normalize.h"
#include "hpa/replica_calculator.h"
#include "hpa/types.h"

namespace gpuscale::hpa {

// kube-controller-manager settings and feature gates that change decisions.
struct Options {
  double tolerance = 0.1;  // --horizontal-pod-autoscaler-tolerance
  core::Duration downscale_stabilization = std::chrono::minutes(5);
  core::Duration cpu_initialization_period = std::chrono::minutes(5);
  core::Duration initial_readiness_delay = std::chrono::seconds(30);
  // Legacy path (no spec.behavior) limit max(factor * current, minimum). The upstream unit tests
  // set the factor to 8.
  double scale_up_limit_factor = 2.0;
  double scale_up_limit_minimum = 4.0;
  bool configurable_tolerance = true;     // gate HPAConfigurableTolerance (default on since 1.35)
  bool legacy_tolerance_formula = false;  // controllers before 1.33: |1 - ratio| <= tolerance
};

// Not thread-safe: one caller drives Sync at a time (the controller loop or the simulator).
// Different Autoscaler objects are independent.
class Autoscaler {
 public:
  Autoscaler(HpaSpec spec, Options options = {});

  // One reconcile at observed.time. Assumes the scale write of a rescale succeeds unless
  // observed.update_scale_error is set.
  Decision Sync(const State& observed);

  const HpaSpec& spec() const { return spec_; }
  const Options& options() const { return options_; }
  const std::vector<Recommendation>& recommendations() const { return recommendations_; }
  const std::vector<ScaleEvent>& scale_up_events() const { return scale_up_events_; }
  const std::vector<ScaleEvent>& scale_down_events() const { return scale_down_events_; }
  const std::vector<Condition>& conditions() const { return conditions_; }
  // Replaces the recommendation history. An empty list counts as seen: the next Sync does not
  // seed it with the current replica count (as upstream tests inject `[]`).
  void SetRecommendations(std::vector<Recommendation> recs);
  void SetScaleEvents(std::vector<ScaleEvent> up, std::vector<ScaleEvent> down);
  // The HPA's status.desiredReplicas before the next sync (used when a sync fails).
  void SetStatusDesiredReplicas(int32_t replicas) { status_desired_replicas_ = replicas; }

 private:
  struct MetricsResult {
    int32_t replicas = -1;
    std::string metric;
    std::optional<std::string> error;
  };
  MetricsResult ComputeReplicasForMetrics(const State& s, Decision* d);
  MetricProposal ComputeReplicasForMetric(const MetricSpec& m, const State& s,
                                          const Tolerances& tol, Decision* d);
  int32_t Normalize(int32_t current, int32_t prenormalized, core::Timestamp now, Decision* d);
  void SetCondition(const std::string& type, ConditionStatus status, std::string reason,
                    std::string message, core::Timestamp now);
  Tolerances TolerancesForHpa() const;

  HpaSpec spec_;
  Options options_;
  bool seen_ = false;
  std::vector<Recommendation> recommendations_;
  std::vector<ScaleEvent> scale_up_events_;
  std::vector<ScaleEvent> scale_down_events_;
  std::vector<Condition> conditions_;
  std::optional<int32_t> status_desired_replicas_;
  std::optional<core::Timestamp> last_scale_time_;
};

// The controller's metric name string ("pods metric qps", "cpu resource utilization
// (percentage of request)", "external metric qps(&LabelSelector{...})").
std::string MetricNameString(const MetricSpec& m);
// Go's %+v of a *metav1.LabelSelector ("nil" when unset).
std::string FormatLabelSelector(const std::optional<LabelSelector>& selector);

}  // namespace gpuscale::hpa
