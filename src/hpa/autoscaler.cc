#include "hpa/autoscaler.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "hpa/selector.h"

namespace gpuscale::hpa {
namespace {

constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

std::string GoStringSlice(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ' ';
    out += v[i];
  }
  return out + "]";
}

// Pod values from metrics.k8s.io: the sum over containers (or one container). A pod whose
// containers lack the resource is left out, as the metrics client does.
PodMetricsInfo ResourcePodMetrics(const ResourceMetricsReading& reading,
                                  const std::string& resource, const std::string& container) {
  PodMetricsInfo out;
  out.reserve(reading.pods.size());
  for (const auto& [pod, usage] : reading.pods) {
    int64_t total = 0;
    bool complete = !usage.containers.empty();
    bool found = container.empty();
    for (const auto& [cname, resources] : usage.containers) {
      if (!container.empty() && cname != container) continue;
      found = true;
      auto it = resources.find(resource);
      if (it == resources.end()) {
        complete = false;
        break;
      }
      total += it->second;
    }
    if (!complete || !found) continue;
    out[pod] = PodMetric{total, usage.timestamp, usage.window};
  }
  return out;
}

}  // namespace

std::string FormatLabelSelector(const std::optional<LabelSelector>& selector) {
  if (!selector.has_value()) return "nil";
  std::string out = "&LabelSelector{MatchLabels:map[string]string{";
  for (const auto& [k, v] : selector->match_labels) out += k + ": " + v + ",";
  out += "},MatchExpressions:[]LabelSelectorRequirement{";
  for (const auto& r : selector->match_expressions) {
    out += "LabelSelectorRequirement{Key:" + r.key + ",Operator:" + r.op +
           ",Values:" + GoStringSlice(r.values) + ",},";
  }
  out += "},}";
  return out;
}

std::string MetricNameString(const MetricSpec& m) {
  switch (m.type) {
    case MetricSourceType::kResource:
      if (m.target.type == MetricTargetType::kAverageValue) return m.resource + " resource";
      return m.resource + " resource utilization (percentage of request)";
    case MetricSourceType::kContainerResource:
      if (m.target.type == MetricTargetType::kAverageValue) return m.resource + " resource";
      return m.resource + " container resource utilization (percentage of request)";
    case MetricSourceType::kPods:
      return "pods metric " + m.metric_name;
    case MetricSourceType::kObject:
      if (m.target.type == MetricTargetType::kValue) {
        return m.described_object.kind + " metric " + m.metric_name;
      }
      return "external metric " + m.metric_name + "(" + FormatLabelSelector(m.metric_selector) +
             ")";
    case MetricSourceType::kExternal:
      return "external metric " + m.metric_name + "(" + FormatLabelSelector(m.metric_selector) +
             ")";
    case MetricSourceType::kUnknown:
      break;
  }
  return "";
}

Autoscaler::Autoscaler(HpaSpec spec, Options options) : spec_(std::move(spec)), options_(options) {
  if (spec_.behavior.has_value() &&
      !spec_.behavior->scale_down.stabilization_window_seconds.has_value()) {
    // The controller fills an unset scale-down window from its flag.
    spec_.behavior->scale_down.stabilization_window_seconds = static_cast<int32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(options_.downscale_stabilization).count());
  }
}

void Autoscaler::SetRecommendations(std::vector<Recommendation> recs) {
  recommendations_ = std::move(recs);
  seen_ = true;
}

void Autoscaler::SetScaleEvents(std::vector<ScaleEvent> up, std::vector<ScaleEvent> down) {
  scale_up_events_ = std::move(up);
  scale_down_events_ = std::move(down);
}

Tolerances Autoscaler::TolerancesForHpa() const {
  Tolerances t{options_.tolerance, options_.tolerance, options_.legacy_tolerance_formula};
  if (!spec_.behavior.has_value() || !options_.configurable_tolerance) return t;
  if (spec_.behavior->scale_down.tolerance) t.scale_down = *spec_.behavior->scale_down.tolerance;
  if (spec_.behavior->scale_up.tolerance) t.scale_up = *spec_.behavior->scale_up.tolerance;
  return t;
}

void Autoscaler::SetCondition(const std::string& type, ConditionStatus status, std::string reason,
                              std::string message, core::Timestamp now) {
  for (Condition& c : conditions_) {
    if (c.type != type) continue;
    if (c.status != status) c.last_transition_time = now;
    c.status = status;
    c.reason = std::move(reason);
    c.message = std::move(message);
    return;
  }
  conditions_.push_back(Condition{type, status, std::move(reason), std::move(message), now});
}

MetricProposal Autoscaler::ComputeReplicasForMetric(const MetricSpec& m, const State& s,
                                                    const Tolerances& tol, Decision* d) {
  MetricProposal p;
  p.type = m.type;
  const CalculatorConfig config{options_.cpu_initialization_period,
                                options_.initial_readiness_delay};
  auto fail = [&](std::string reason, std::string err) {
    p.valid = false;
    p.condition_reason = std::move(reason);
    p.error = std::move(err);
    p.name = MetricNameString(m);
    return p;
  };
  switch (m.type) {
    case MetricSourceType::kResource:
    case MetricSourceType::kContainerResource: {
      const bool container = m.type == MetricSourceType::kContainerResource;
      const std::string reason =
          container ? "FailedGetContainerResourceMetric" : "FailedGetResourceMetric";
      const bool utilization = m.target.type == MetricTargetType::kUtilization;
      if (utilization && !m.target.average_utilization) {
        return fail(reason,
                    "invalid resource metric source: neither an average utilization target nor "
                    "an average value (usage) target was set");
      }
      if (!utilization && !m.target.average_value_milli) {
        return fail(reason,
                    "invalid resource metric source: neither an average utilization target nor "
                    "an average value (usage) target was set");
      }
      const std::string what = utilization ? " utilization: " : " usage: ";
      auto it = s.resource_metrics.find(m.resource);
      std::string fetch_error;
      if (it == s.resource_metrics.end()) {
        fetch_error = "no metrics returned from resource metrics API";
      } else if (it->second.error) {
        fetch_error = "unable to fetch metrics from resource metrics API: " + *it->second.error;
      } else if (it->second.pods.empty()) {
        fetch_error = "no metrics returned from resource metrics API";
      }
      if (!fetch_error.empty()) {
        return fail(reason, "failed to get " + m.resource + what +
                                "unable to get metrics for resource " + m.resource + ": " +
                                fetch_error);
      }
      PodMetricsInfo metrics = ResourcePodMetrics(it->second, m.resource, m.container);
      core::Timestamp ts = it->second.pods.begin()->second.timestamp;
      if (utilization) {
        auto r = GetResourceReplicas(s.spec_replicas, *m.target.average_utilization, m.resource,
                                     m.container, tol, s.pods, std::move(metrics), config, s.time);
        if (!r.ok()) {
          return fail(reason, "failed to get " + m.resource + " utilization: " + r.error().message);
        }
        p.replicas = r->replicas;
        p.current_average_utilization = r->utilization;
        p.current_average_value_milli = r->usage;
      } else {
        auto r = GetPlainMetricReplicas(s.spec_replicas, *m.target.average_value_milli, m.resource,
                                        tol, s.pods, std::move(metrics), config, s.time);
        if (!r.ok()) {
          return fail(reason, "failed to get " + m.resource + " usage: " + r.error().message);
        }
        p.replicas = r->replicas;
        p.current_average_value_milli = r->usage;
      }
      p.timestamp = ts;
      break;
    }
    case MetricSourceType::kPods: {
      const std::string prefix = "unable to get metric " + m.metric_name + ": ";
      const PodsMetricReading* reading = nullptr;
      for (const auto& r : s.pods_metrics) {
        if (r.metric_name == m.metric_name) reading = &r;
      }
      if (reading == nullptr || (!reading->error && reading->values_milli.empty())) {
        return fail("FailedGetPodsMetric", prefix + "no metrics returned from custom metrics API");
      }
      if (reading->error) {
        return fail("FailedGetPodsMetric",
                    prefix + "unable to fetch metrics from custom metrics API: " + *reading->error);
      }
      if (!m.target.average_value_milli) {
        return fail("FailedGetPodsMetric", "invalid pods metric source: no averageValue target");
      }
      PodMetricsInfo metrics;
      metrics.reserve(reading->values_milli.size());
      for (const auto& [pod, v] : reading->values_milli) {
        metrics.emplace(pod, PodMetric{v, reading->timestamp, std::chrono::minutes(1)});
      }
      auto r = GetPlainMetricReplicas(s.spec_replicas, *m.target.average_value_milli, "", tol,
                                      s.pods, std::move(metrics), config, s.time);
      if (!r.ok()) return fail("FailedGetPodsMetric", r.error().message);
      p.replicas = r->replicas;
      p.current_average_value_milli = r->usage;
      p.timestamp = reading->timestamp;
      break;
    }
    case MetricSourceType::kObject: {
      const ObjectMetricReading* reading = nullptr;
      for (const auto& r : s.object_metrics) {
        if (r.metric_name == m.metric_name && r.kind == m.described_object.kind &&
            r.name == m.described_object.name) {
          reading = &r;
        }
      }
      const std::string where = " on " + m.described_object.kind + " " + spec_.namespace_name +
                                "/" + m.described_object.name;
      std::string err;
      if (reading == nullptr || (!reading->error && !reading->value_milli)) {
        err = "the custom metrics API server returned 0 results when we asked for exactly one";
      } else if (reading->error) {
        err = "unable to fetch metrics from custom metrics API: " + *reading->error;
      }
      const bool value_target =
          m.target.type == MetricTargetType::kValue && m.target.value_milli.has_value();
      const bool average_target = m.target.type == MetricTargetType::kAverageValue &&
                                  m.target.average_value_milli.has_value();
      if (!value_target && !average_target) {
        return fail("FailedGetObjectMetric",
                    "invalid object metric source: neither a value target nor an average value "
                    "target was set");
      }
      if (!err.empty()) {
        return fail("FailedGetObjectMetric",
                    "unable to get metric " + m.metric_name + ": " + err + where);
      }
      if (value_target) {
        auto r = GetValueMetricReplicas(s.spec_replicas, *reading->value_milli,
                                        *m.target.value_milli, tol, s.pods);
        if (!r.ok()) return fail("FailedGetObjectMetric", r.error().message);
        p.replicas = r->replicas;
        p.current_value_milli = r->usage;
        // The Value path discards the metric's timestamp.
      } else {
        ReplicaProposal r = GetPerPodMetricReplicas(s.status_replicas, *reading->value_milli,
                                                    *m.target.average_value_milli, tol);
        p.replicas = r.replicas;
        p.current_average_value_milli = r.usage;
        p.timestamp = reading->timestamp;
      }
      break;
    }
    case MetricSourceType::kExternal: {
      const ExternalMetricReading* reading = nullptr;
      for (const auto& r : s.external_metrics) {
        if (r.metric_name == m.metric_name) reading = &r;
      }
      const std::string prefix = "unable to get external metric " + spec_.namespace_name + "/" +
                                 m.metric_name + "/" + FormatLabelSelector(m.metric_selector) +
                                 ": ";
      if (reading == nullptr || (!reading->error && reading->values_milli.empty())) {
        return fail("FailedGetExternalMetric",
                    prefix + "no metrics returned from external metrics API");
      }
      if (reading->error) {
        return fail(
            "FailedGetExternalMetric",
            prefix + "unable to fetch metrics from external metrics API: " + *reading->error);
      }
      int64_t sum = 0;
      for (int64_t v : reading->values_milli) {
        if (__builtin_add_overflow(sum, v, &sum)) sum = kMaxInt64;
      }
      if (m.target.type == MetricTargetType::kValue && m.target.value_milli) {
        auto r = GetValueMetricReplicas(s.spec_replicas, sum, *m.target.value_milli, tol, s.pods);
        if (!r.ok()) return fail("FailedGetExternalMetric", prefix + r.error().message);
        p.replicas = r->replicas;
        p.current_value_milli = sum;
      } else if (m.target.type == MetricTargetType::kAverageValue && m.target.average_value_milli) {
        ReplicaProposal r =
            GetPerPodMetricReplicas(s.status_replicas, sum, *m.target.average_value_milli, tol);
        p.replicas = r.replicas;
        p.current_average_value_milli = r.usage;
      } else {
        return fail("FailedGetExternalMetric",
                    "invalid external metric source: neither a value target nor an average "
                    "value target was set");
      }
      p.timestamp = reading->timestamp;
      break;
    }
    case MetricSourceType::kUnknown:
      return fail("InvalidMetricSourceType", "unknown metric source type \"" + m.type_name + "\"");
  }
  (void)d;
  p.valid = true;
  p.name = MetricNameString(m);
  return p;
}

Autoscaler::MetricsResult Autoscaler::ComputeReplicasForMetrics(const State& s, Decision* d) {
  MetricsResult out;
  const core::Timestamp now = s.time;
  if (s.selector.has_value()) {
    if (s.selector->empty()) {
      d->events.push_back({"Warning", "SelectorRequired", "selector is required"});
      SetCondition("ScalingActive", ConditionStatus::kFalse, "InvalidSelector",
                   "the HPA target's scale is missing a selector", now);
      out.error = "selector is required";
      return out;
    }
    auto parsed = Selector::Parse(*s.selector);
    if (!parsed.ok()) {
      std::string msg =
          "couldn't convert selector into a corresponding internal selector object: " +
          parsed.error().message;
      d->events.push_back({"Warning", "InvalidSelector", msg});
      SetCondition("ScalingActive", ConditionStatus::kFalse, "InvalidSelector", msg, now);
      out.error = msg;
      return out;
    }
  }
  if (!s.ambiguous_with.empty()) {
    std::vector<std::string> names = s.ambiguous_with;
    names.push_back(spec_.name);
    std::sort(names.begin(), names.end());
    std::string msg = "pods by selector " + s.selector.value_or("") +
                      " are controlled by multiple HPAs: " + GoStringSlice(names);
    d->events.push_back({"Warning", "AmbiguousSelector", msg});
    SetCondition("ScalingActive", ConditionStatus::kFalse, "AmbiguousSelector", msg, now);
    out.error = msg;
    return out;
  }

  const Tolerances tol = TolerancesForHpa();
  int32_t replicas = 0;
  int invalid = 0;
  const MetricProposal* first_invalid = nullptr;
  d->metrics.reserve(spec_.metrics.size());
  for (const MetricSpec& m : spec_.metrics) {
    d->metrics.push_back(ComputeReplicasForMetric(m, s, tol, d));
  }
  for (const MetricProposal& p : d->metrics) {
    if (!p.valid) {
      d->events.push_back({"Warning", p.condition_reason, p.error});
      if (invalid == 0) first_invalid = &p;
      ++invalid;
      continue;
    }
    if (replicas == 0 || p.replicas > replicas) {
      replicas = p.replicas;
      out.metric = p.name;
    }
  }
  if (first_invalid != nullptr) {
    out.error = "invalid metrics (" + std::to_string(invalid) + " invalid out of " +
                std::to_string(spec_.metrics.size()) + "), first error is: " + first_invalid->error;
  }
  if (invalid >= static_cast<int>(spec_.metrics.size()) ||
      (invalid > 0 && replicas < s.spec_replicas)) {
    if (first_invalid != nullptr) {
      SetCondition("ScalingActive", ConditionStatus::kFalse, first_invalid->condition_reason,
                   "the HPA was unable to compute the replica count: " + first_invalid->error, now);
    }
    if (!out.error) out.error = "no metrics to compute the replica count from";
    out.replicas = -1;
    return out;
  }
  SetCondition("ScalingActive", ConditionStatus::kTrue, "ValidMetricFound",
               "the HPA was able to successfully calculate a replica count from " + out.metric,
               now);
  out.replicas = replicas;
  return out;
}

int32_t Autoscaler::Normalize(int32_t current, int32_t prenormalized, core::Timestamp now,
                              Decision* d) {
  int32_t stabilized;
  Limited limited;
  if (!spec_.behavior.has_value()) {
    stabilized = StabilizeRecommendation(&recommendations_, prenormalized,
                                         options_.downscale_stabilization, now);
    if (stabilized != prenormalized) {
      SetCondition("AbleToScale", ConditionStatus::kTrue, "ScaleDownStabilized",
                   "recent recommendations were higher than current one, applying the highest "
                   "recent recommendation",
                   now);
    } else {
      SetCondition("AbleToScale", ConditionStatus::kTrue, "ReadyForNewScale",
                   "recommended size matches current size", now);
    }
    limited = ConvertDesiredReplicasWithRules(current, stabilized, spec_.min_replicas,
                                              spec_.max_replicas, options_.scale_up_limit_factor,
                                              options_.scale_up_limit_minimum);
  } else {
    NormalizationArgs args{&spec_.behavior->scale_up,
                           &spec_.behavior->scale_down,
                           spec_.min_replicas,
                           spec_.max_replicas,
                           current,
                           prenormalized};
    Limited st = StabilizeRecommendationWithBehaviors(&recommendations_, args, now);
    stabilized = st.replicas;
    if (stabilized != prenormalized) {
      SetCondition("AbleToScale", ConditionStatus::kTrue, st.reason, st.message, now);
    } else {
      SetCondition("AbleToScale", ConditionStatus::kTrue, "ReadyForNewScale",
                   "recommended size matches current size", now);
    }
    args.desired_replicas = stabilized;
    limited =
        ConvertDesiredReplicasWithBehaviorRate(args, scale_up_events_, scale_down_events_, now);
  }
  d->stabilized_replicas = stabilized;
  SetCondition("ScalingLimited",
               limited.replicas == stabilized ? ConditionStatus::kFalse : ConditionStatus::kTrue,
               limited.reason, limited.message, now);
  return limited.replicas;
}

Decision Autoscaler::Sync(const State& s) {
  const core::Timestamp now = s.time;
  Decision d;
  d.time = now;
  d.current_replicas = s.spec_replicas;
  d.desired_replicas = s.spec_replicas;
  auto finish = [&]() {
    d.conditions = conditions_;
    d.last_scale_time = last_scale_time_;
    return d;
  };
  if (s.get_scale_error) {
    std::string msg =
        "the HPA controller was unable to get the target's current scale: " + *s.get_scale_error;
    d.events.push_back({"Warning", "FailedGetScale", *s.get_scale_error});
    SetCondition("AbleToScale", ConditionStatus::kFalse, "FailedGetScale", msg, now);
    d.error = "failed to query scale subresource for " + spec_.scale_target_ref.kind + "/" +
              spec_.scale_target_ref.name + ": " + *s.get_scale_error;
    d.desired_replicas = status_desired_replicas_.value_or(s.spec_replicas);
    d.current_replicas = d.desired_replicas;
    return finish();
  }
  SetCondition("AbleToScale", ConditionStatus::kTrue, "SucceededGetScale",
               "the HPA controller was able to get the target's current scale", now);
  const int32_t current = s.spec_replicas;
  if (!seen_) {
    recommendations_ = {Recommendation{current, now}};
    seen_ = true;
  }
  const int32_t min_replicas = spec_.min_replicas;
  int32_t desired = 0;
  bool rescale = true;
  std::string reason;
  if (current == 0 && min_replicas != 0) {
    desired = 0;
    rescale = false;
    SetCondition("ScalingActive", ConditionStatus::kFalse, "ScalingDisabled",
                 "scaling is disabled since the replica count of the target is zero", now);
  } else if (current > spec_.max_replicas) {
    reason = "Current number of replicas above Spec.MaxReplicas";
    desired = spec_.max_replicas;
  } else if (current < min_replicas) {
    reason = "Current number of replicas below Spec.MinReplicas";
    desired = min_replicas;
  } else {
    MetricsResult mr = ComputeReplicasForMetrics(s, &d);
    if (mr.error && mr.replicas == -1) {
      d.events.push_back({"Warning", "FailedComputeMetricsReplicas", *mr.error});
      d.error = "failed to compute desired number of replicas based on listed metrics for " +
                spec_.scale_target_ref.kind + "/" + spec_.namespace_name + "/" +
                spec_.scale_target_ref.name + ": " + *mr.error;
      return finish();
    }
    if (mr.error) d.error = *mr.error;
    d.metric_replicas = mr.replicas;
    if (mr.replicas > desired) {
      desired = mr.replicas;
    }
    if (desired > current) reason = mr.metric + " above target";
    if (desired < current) reason = "All metrics below target";
    desired = Normalize(current, desired, now, &d);
    rescale = desired != current;
  }
  d.rescale_reason = reason;
  if (rescale) {
    if (s.update_scale_error) {
      d.events.push_back({"Warning", "FailedRescale",
                          "New size: " + std::to_string(desired) + "; reason: " + reason +
                              "; error: " + *s.update_scale_error});
      SetCondition(
          "AbleToScale", ConditionStatus::kFalse, "FailedUpdateScale",
          "the HPA controller was unable to update the target scale: " + *s.update_scale_error,
          now);
      d.error = "failed to rescale " + spec_.scale_target_ref.kind + "/" +
                spec_.scale_target_ref.name + ": " + *s.update_scale_error;
      return finish();
    }
    SetCondition(
        "AbleToScale", ConditionStatus::kTrue, "SucceededRescale",
        "the HPA controller was able to update the target scale to " + std::to_string(desired),
        now);
    d.events.push_back({"Normal", "SuccessfulRescale",
                        "New size: " + std::to_string(desired) + "; reason: " + reason});
    StoreScaleEvent(spec_.behavior ? &*spec_.behavior : nullptr, &scale_up_events_,
                    &scale_down_events_, current, desired, now);
    last_scale_time_ = now;
    d.rescale = true;
  } else {
    desired = current;
  }
  d.desired_replicas = desired;
  status_desired_replicas_ = desired;
  return finish();
}

}  // namespace gpuscale::hpa
