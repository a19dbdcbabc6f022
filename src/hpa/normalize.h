// Stabilization and rate limiting of a metric proposal, as the controller's
// normalizeDesiredReplicas (no spec.behavior) and normalizeDesiredReplicasWithBehaviors do it.
// Pure functions over the history they are given; `now` is data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.h"
#include "hpa/types.h"

namespace gpuscale::hpa {

struct Recommendation {
  int32_t replicas = 0;
  core::Timestamp timestamp{};
};

struct ScaleEvent {
  int32_t replica_change = 0;  // absolute, non-negative
  core::Timestamp timestamp{};
  bool outdated = false;
};

// A replica count with the condition reason and message that explain it.
struct Limited {
  int32_t replicas = 0;
  std::string reason;
  std::string message;
};

// Legacy stabilization: the maximum over recommendations newer than now - window; records
// `prenormalized` into `recs` (reusing the last slot older than the window).
int32_t StabilizeRecommendation(std::vector<Recommendation>* recs, int32_t prenormalized,
                                core::Duration window, core::Timestamp now);

// Legacy rate limit: max(factor * current, minimum) and min/max replicas.
Limited ConvertDesiredReplicasWithRules(int32_t current, int32_t desired, int32_t min_replicas,
                                        int32_t max_replicas, double scale_up_limit_factor = 2.0,
                                        double scale_up_limit_minimum = 4.0);

struct NormalizationArgs {
  const ScalingRules* scale_up = nullptr;
  const ScalingRules* scale_down = nullptr;
  int32_t min_replicas = 0;
  int32_t max_replicas = 0;
  int32_t current_replicas = 0;
  int32_t desired_replicas = 0;
};

// Behavior stabilization: clamp(current, min over the up window, max over the down window);
// records args.desired_replicas into `recs`. Unset windows count as 0.
Limited StabilizeRecommendationWithBehaviors(std::vector<Recommendation>* recs,
                                             const NormalizationArgs& args, core::Timestamp now);

// Sum of replica changes of events newer than now - period.
int32_t GetReplicasChangePerPeriod(int32_t period_seconds, const std::vector<ScaleEvent>& events,
                                   core::Timestamp now);
int32_t CalculateScaleUpLimitWithScalingRules(int32_t current,
                                              const std::vector<ScaleEvent>& up_events,
                                              const std::vector<ScaleEvent>& down_events,
                                              const ScalingRules& rules, core::Timestamp now);
int32_t CalculateScaleDownLimitWithBehaviors(int32_t current,
                                             const std::vector<ScaleEvent>& up_events,
                                             const std::vector<ScaleEvent>& down_events,
                                             const ScalingRules& rules, core::Timestamp now);
// Applies the policies of the direction of change and min/max replicas in that direction.
Limited ConvertDesiredReplicasWithBehaviorRate(const NormalizationArgs& args,
                                               const std::vector<ScaleEvent>& up_events,
                                               const std::vector<ScaleEvent>& down_events,
                                               core::Timestamp now);

// Records a successful rescale from `prev` to `next` (nothing when behavior is null), reusing
// the last event older than the direction's longest policy period.
void StoreScaleEvent(const Behavior* behavior, std::vector<ScaleEvent>* up_events,
                     std::vector<ScaleEvent>* down_events, int32_t prev, int32_t next,
                     core::Timestamp now);

}  // namespace gpuscale::hpa
