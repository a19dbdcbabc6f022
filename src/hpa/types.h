// Plain structs for the HorizontalPodAutoscaler decision code: the autoscaling/v2 spec after
// API-server defaulting, the observed state one sync reads, and the decision it produces.
// No Kubernetes JSON types: spec.h and state.h read files into these.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"

namespace gpuscale::hpa {

// ---- spec -------------------------------------------------------------------------------------

enum class MetricSourceType { kResource, kContainerResource, kPods, kObject, kExternal, kUnknown };
enum class MetricTargetType { kUtilization, kValue, kAverageValue };

struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // In, NotIn, Exists, DoesNotExist
  std::vector<std::string> values;
};

// metav1.LabelSelector as written in a metric source.
struct LabelSelector {
  std::map<std::string, std::string> match_labels;
  std::vector<LabelSelectorRequirement> match_expressions;
};

struct MetricTarget {
  MetricTargetType type = MetricTargetType::kUtilization;
  std::optional<int32_t> average_utilization;  // percent of request
  std::optional<int64_t> value_milli;
  std::optional<int64_t> average_value_milli;
};

struct ObjectReference {
  std::string api_version;
  std::string kind;
  std::string name;
};

struct MetricSpec {
  MetricSourceType type = MetricSourceType::kResource;
  std::string type_name;    // `type` as written, for InvalidMetricSourceType messages
  std::string resource;     // Resource and ContainerResource: "cpu", "memory", ...
  std::string container;    // ContainerResource only
  std::string metric_name;  // Pods, Object, External
  std::optional<LabelSelector> metric_selector;  // nil when not written
  ObjectReference described_object;              // Object only
  MetricTarget target;
};

enum class ScalingPolicyType { kPods, kPercent };
enum class SelectPolicy { kMax, kMin, kDisabled };

struct ScalingPolicy {
  ScalingPolicyType type = ScalingPolicyType::kPods;
  int32_t value = 0;
  int32_t period_seconds = 0;
};

struct ScalingRules {
  // Unset on scaleDown means the controller's --horizontal-pod-autoscaler-downscale-stabilization.
  std::optional<int32_t> stabilization_window_seconds;
  SelectPolicy select_policy = SelectPolicy::kMax;
  std::vector<ScalingPolicy> policies;
  std::optional<double> tolerance;  // per-direction tolerance (HPAConfigurableTolerance)
};

// spec.behavior after defaulting: both directions always filled.
struct Behavior {
  ScalingRules scale_up;
  ScalingRules scale_down;
};

// The API server's default rules (defaults.go): up Pods 4/15s + Percent 100/15s, window 0;
// down Percent 100/15s, window unset.
ScalingRules DefaultScaleUpRules();
ScalingRules DefaultScaleDownRules();

struct HpaSpec {
  std::string name;
  std::string namespace_name = "default";
  ObjectReference scale_target_ref;
  int32_t min_replicas = 1;  // defaulted from nil
  int32_t max_replicas = 1;
  std::vector<MetricSpec> metrics;
  std::optional<Behavior> behavior;  // nil selects the legacy normalization path
};

// ---- observed state ---------------------------------------------------------------------------

enum class PodPhase { kPending, kRunning, kSucceeded, kFailed, kUnknown };
enum class ConditionStatus { kTrue, kFalse, kUnknown };

struct PodReadyCondition {
  ConditionStatus status = ConditionStatus::kTrue;
  core::Timestamp last_transition_time{};
};

struct Container {
  std::string name;
  std::map<std::string, int64_t> requests_milli;  // resource name -> milli-units
  bool restartable_init = false;                  // init container with restartPolicy Always
};

struct Pod {
  std::string name;
  std::map<std::string, std::string> labels;
  PodPhase phase = PodPhase::kRunning;
  std::optional<core::Timestamp> deletion_timestamp;
  std::optional<core::Timestamp> start_time;
  std::optional<PodReadyCondition> ready;  // the Ready condition, if the pod has one
  std::vector<Container> containers;
  std::vector<Container> init_containers;
  std::map<std::string, int64_t> pod_requests_milli;  // pod-level resources (PodLevelResources)
};

// One pod's sample from metrics.k8s.io: per-container usage.
struct PodResourceUsage {
  core::Timestamp timestamp{};
  core::Duration window = std::chrono::minutes(1);
  // container name -> resource name -> milli-units
  std::map<std::string, std::map<std::string, int64_t>> containers;
};

// What the resource metrics API (metrics.k8s.io) answers for the target's pods.
struct ResourceMetricsReading {
  std::optional<std::string> error;              // the API call failed with this message
  std::map<std::string, PodResourceUsage> pods;  // by pod name (may include unlisted pods)
};

// What custom.metrics.k8s.io answers for one Pods metric.
struct PodsMetricReading {
  std::string metric_name;
  std::optional<std::string> error;
  std::map<std::string, int64_t> values_milli;  // by pod name
  core::Timestamp timestamp{};
};

struct ObjectMetricReading {
  std::string kind;
  std::string name;
  std::string metric_name;
  std::optional<std::string> error;
  std::optional<int64_t> value_milli;  // unset: the API returned no item
  core::Timestamp timestamp{};
};

struct ExternalMetricReading {
  std::string metric_name;
  std::optional<std::string> error;
  std::vector<int64_t> values_milli;  // summed by the controller; empty: no items
  core::Timestamp timestamp{};
};

// Everything one sync reads: the target's /scale, the pod list, and the metric APIs' answers.
struct State {
  core::Timestamp time{};       // `now` of this sync
  int32_t spec_replicas = 0;    // scale.spec.replicas
  int32_t status_replicas = 0;  // scale.status.replicas
  // scale.status.selector, checked as the controller does ("" and unparsable selectors are
  // errors). `pods` must already be the selected pods; ParseState filters by it.
  std::optional<std::string> selector;
  std::vector<std::string> ambiguous_with;        // other HPAs whose selector overlaps this one
  std::optional<std::string> get_scale_error;     // GET /scale fails with this message
  std::optional<std::string> update_scale_error;  // PUT /scale fails with this message
  std::vector<Pod> pods;
  std::map<std::string, ResourceMetricsReading> resource_metrics;  // by resource name
  std::vector<PodsMetricReading> pods_metrics;
  std::vector<ObjectMetricReading> object_metrics;
  std::vector<ExternalMetricReading> external_metrics;
};

// ---- decision ---------------------------------------------------------------------------------

struct Condition {
  std::string type;  // AbleToScale, ScalingActive, ScalingLimited
  ConditionStatus status = ConditionStatus::kTrue;
  std::string reason;
  std::string message;
  core::Timestamp last_transition_time{};
};

struct Event {
  std::string type;  // Normal or Warning
  std::string reason;
  std::string message;
};

// One metric's proposal and the status the controller writes for it (status.currentMetrics[i]).
struct MetricProposal {
  MetricSourceType type = MetricSourceType::kResource;
  std::string name;    // the controller's metric name string, e.g. "pods metric qps"
  bool valid = false;  // false: the metric failed; `error` says why
  std::string error;
  std::string condition_reason;  // for invalid metrics: FailedGetPodsMetric, ...
  int32_t replicas = 0;
  std::optional<int32_t> current_average_utilization;
  std::optional<int64_t> current_average_value_milli;
  std::optional<int64_t> current_value_milli;
  core::Timestamp timestamp{};
};

struct Decision {
  core::Timestamp time{};
  int32_t current_replicas = 0;
  // The replica count the target should have after this sync (current when nothing changes).
  int32_t desired_replicas = 0;
  bool rescale = false;
  std::string rescale_reason;  // "<metric> above target", "All metrics below target", ...
  std::optional<int32_t> metric_replicas;      // max over valid proposals, before normalization
  std::optional<int32_t> stabilized_replicas;  // after stabilization, before rate limits
  std::vector<MetricProposal> metrics;
  std::vector<Condition> conditions;  // the HPA's status conditions after this sync
  std::vector<Event> events;          // events emitted during this sync
  std::optional<std::string> error;   // the reconcile error, if any
  std::optional<core::Timestamp> last_scale_time;
};

std::string_view MetricSourceTypeName(MetricSourceType type);
std::string_view ConditionStatusName(ConditionStatus status);

}  // namespace gpuscale::hpa
