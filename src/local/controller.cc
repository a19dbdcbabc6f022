#include "local/controller.h"

#include <cmath>

namespace gpuscale::local {

hpa::State BuildState(const hpa::HpaSpec& spec, int spec_replicas,
                      const std::vector<ReplicaView>& replicas, const PodMetrics& metrics,
                      core::Timestamp now) {
  hpa::State s;
  s.time = now;
  s.spec_replicas = spec_replicas;
  int existing = 0;
  for (const ReplicaView& r : replicas) {
    if (r.phase == Phase::kDraining || r.phase == Phase::kStopping) continue;
    ++existing;
    hpa::Pod pod;
    pod.name = r.pod;
    pod.labels = {{"app", "gemma-server"}};
    // A pod whose process is up is Running (its containers started); only readiness differs.
    pod.phase = hpa::PodPhase::kRunning;
    pod.start_time = r.created;
    hpa::PodReadyCondition ready;
    ready.status =
        r.phase == Phase::kReady ? hpa::ConditionStatus::kTrue : hpa::ConditionStatus::kFalse;
    ready.last_transition_time = r.ready_since != core::Timestamp{} ? r.ready_since : r.created;
    pod.ready = ready;
    s.pods.push_back(std::move(pod));
  }
  s.status_replicas = existing;

  for (const hpa::MetricSpec& m : spec.metrics) {
    if (m.type != hpa::MetricSourceType::kPods) continue;
    hpa::PodsMetricReading reading;
    reading.metric_name = m.metric_name;
    reading.timestamp = metrics.time;
    auto it = metrics.values.find(m.metric_name);
    if (it != metrics.values.end()) {
      for (const auto& [pod, value] : it->second) {
        reading.values_milli[pod] = static_cast<int64_t>(std::llround(value * 1000.0));
      }
    }
    if (reading.values_milli.empty()) {
      // What the adapter answers when no series matches: the HPA reports the metric invalid.
      reading.error =
          "unable to fetch metrics from custom metrics API: the server could not "
          "find the metric " +
          m.metric_name + " for pods";
    }
    s.pods_metrics.push_back(std::move(reading));
  }
  return s;
}

}  // namespace gpuscale::local
