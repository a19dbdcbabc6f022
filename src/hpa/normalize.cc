#include "hpa/normalize.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gpuscale::hpa {
namespace {

constexpr char kScaleUpLimitMsg[] =
    "the desired replica count is increasing faster than the maximum scale rate";
constexpr char kScaleDownLimitMsg[] =
    "the desired replica count is decreasing faster than the maximum scale rate";
constexpr char kTooManyMsg[] = "the desired replica count is more than the maximum replica count";
constexpr char kTooFewMsg[] = "the desired replica count is less than the minimum replica count";
constexpr char kWithinRangeMsg[] = "the desired count is within the acceptable range";

core::Duration Seconds(int64_t s) { return std::chrono::seconds(s); }

int32_t PeriodStart(int32_t current, int32_t period, const std::vector<ScaleEvent>& up,
                    const std::vector<ScaleEvent>& down, core::Timestamp now) {
  return current - GetReplicasChangePerPeriod(period, up, now) +
         GetReplicasChangePerPeriod(period, down, now);
}

void Store(std::vector<ScaleEvent>* events, const ScalingRules& rules, int32_t change,
           core::Timestamp now) {
  int32_t longest = 0;
  for (const auto& p : rules.policies) longest = std::max(longest, p.period_seconds);
  const core::Timestamp cutoff = now - Seconds(longest);
  for (auto& e : *events) {
    if (e.timestamp < cutoff) e.outdated = true;
  }
  int old_index = -1;
  for (size_t i = 0; i < events->size(); ++i) {
    if ((*events)[i].outdated) old_index = static_cast<int>(i);
  }
  ScaleEvent ev{change, now, false};
  if (old_index >= 0) {
    (*events)[old_index] = ev;
  } else {
    events->push_back(ev);
  }
}

}  // namespace

int32_t StabilizeRecommendation(std::vector<Recommendation>* recs, int32_t prenormalized,
                                core::Duration window, core::Timestamp now) {
  int32_t max_rec = prenormalized;
  int old_index = -1;
  const core::Timestamp cutoff = now - window;
  for (size_t i = 0; i < recs->size(); ++i) {
    const Recommendation& r = (*recs)[i];
    if (r.timestamp < cutoff) {
      old_index = static_cast<int>(i);
    } else if (r.replicas > max_rec) {
      max_rec = r.replicas;
    }
  }
  if (old_index >= 0) {
    (*recs)[old_index] = Recommendation{prenormalized, now};
  } else {
    recs->push_back(Recommendation{prenormalized, now});
  }
  return max_rec;
}

Limited ConvertDesiredReplicasWithRules(int32_t current, int32_t desired, int32_t min_replicas,
                                        int32_t max_replicas, double scale_up_limit_factor,
                                        double scale_up_limit_minimum) {
  const auto scale_up_limit = static_cast<int32_t>(
      std::max(scale_up_limit_factor * static_cast<double>(current), scale_up_limit_minimum));
  int32_t max_allowed;
  const char* reason;
  const char* message;
  if (max_replicas > scale_up_limit) {
    max_allowed = scale_up_limit;
    reason = "ScaleUpLimit";
    message = kScaleUpLimitMsg;
  } else {
    max_allowed = max_replicas;
    reason = "TooManyReplicas";
    message = kTooManyMsg;
  }
  if (desired < min_replicas) return {min_replicas, "TooFewReplicas", kTooFewMsg};
  if (desired > max_allowed) return {max_allowed, reason, message};
  return {desired, "DesiredWithinRange", kWithinRangeMsg};
}

Limited StabilizeRecommendationWithBehaviors(std::vector<Recommendation>* recs,
                                             const NormalizationArgs& args, core::Timestamp now) {
  int32_t up_rec = args.desired_replicas;
  int32_t down_rec = args.desired_replicas;
  const int32_t up_window =
      args.scale_up ? args.scale_up->stabilization_window_seconds.value_or(0) : 0;
  const int32_t down_window =
      args.scale_down ? args.scale_down->stabilization_window_seconds.value_or(0) : 0;
  const core::Timestamp up_cutoff = now - Seconds(up_window);
  const core::Timestamp down_cutoff = now - Seconds(down_window);
  int old_index = -1;
  for (size_t i = 0; i < recs->size(); ++i) {
    const Recommendation& r = (*recs)[i];
    if (r.timestamp > up_cutoff) up_rec = std::min(r.replicas, up_rec);
    if (r.timestamp > down_cutoff) down_rec = std::max(r.replicas, down_rec);
    if (r.timestamp < up_cutoff && r.timestamp < down_cutoff) old_index = static_cast<int>(i);
  }
  int32_t recommendation = args.current_replicas;
  if (recommendation < up_rec) recommendation = up_rec;
  if (recommendation > down_rec) recommendation = down_rec;
  if (old_index >= 0) {
    (*recs)[old_index] = Recommendation{args.desired_replicas, now};
  } else {
    recs->push_back(Recommendation{args.desired_replicas, now});
  }
  if (args.desired_replicas >= args.current_replicas) {
    return {recommendation, "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent "
            "recommendation"};
  }
  return {recommendation, "ScaleDownStabilized",
          "recent recommendations were higher than current one, applying the highest recent "
          "recommendation"};
}

int32_t GetReplicasChangePerPeriod(int32_t period_seconds, const std::vector<ScaleEvent>& events,
                                   core::Timestamp now) {
  const core::Timestamp cutoff = now - Seconds(period_seconds);
  int32_t sum = 0;
  for (const auto& e : events) {
    if (e.timestamp > cutoff) sum += e.replica_change;
  }
  return sum;
}

int32_t CalculateScaleUpLimitWithScalingRules(int32_t current,
                                              const std::vector<ScaleEvent>& up_events,
                                              const std::vector<ScaleEvent>& down_events,
                                              const ScalingRules& rules, core::Timestamp now) {
  if (rules.select_policy == SelectPolicy::kDisabled) return current;
  const bool pick_min = rules.select_policy == SelectPolicy::kMin;
  int32_t result =
      pick_min ? std::numeric_limits<int32_t>::max() : std::numeric_limits<int32_t>::min();
  for (const auto& p : rules.policies) {
    const int32_t start = PeriodStart(current, p.period_seconds, up_events, down_events, now);
    int32_t proposed;
    if (p.type == ScalingPolicyType::kPods) {
      proposed = start + p.value;
    } else {
      proposed = static_cast<int32_t>(
          std::ceil(static_cast<double>(start) * (1 + static_cast<double>(p.value) / 100)));
    }
    result = pick_min ? std::min(result, proposed) : std::max(result, proposed);
  }
  return result;
}

int32_t CalculateScaleDownLimitWithBehaviors(int32_t current,
                                             const std::vector<ScaleEvent>& up_events,
                                             const std::vector<ScaleEvent>& down_events,
                                             const ScalingRules& rules, core::Timestamp now) {
  if (rules.select_policy == SelectPolicy::kDisabled) return current;
  const bool pick_min_change = rules.select_policy == SelectPolicy::kMin;
  int32_t result =
      pick_min_change ? std::numeric_limits<int32_t>::min() : std::numeric_limits<int32_t>::max();
  for (const auto& p : rules.policies) {
    const int32_t start = PeriodStart(current, p.period_seconds, up_events, down_events, now);
    int32_t proposed;
    if (p.type == ScalingPolicyType::kPods) {
      proposed = start - p.value;
    } else {
      // Truncates, unlike the scale-up percent policy.
      proposed = static_cast<int32_t>(static_cast<double>(start) *
                                      (1 - static_cast<double>(p.value) / 100));
    }
    result = pick_min_change ? std::max(result, proposed) : std::min(result, proposed);
  }
  return result;
}

Limited ConvertDesiredReplicasWithBehaviorRate(const NormalizationArgs& args,
                                               const std::vector<ScaleEvent>& up_events,
                                               const std::vector<ScaleEvent>& down_events,
                                               core::Timestamp now) {
  if (args.desired_replicas > args.current_replicas) {
    int32_t limit = args.scale_up
                        ? CalculateScaleUpLimitWithScalingRules(args.current_replicas, up_events,
                                                                down_events, *args.scale_up, now)
                        : args.current_replicas;
    if (limit < args.current_replicas) limit = args.current_replicas;  // never force scale-down
    if (args.max_replicas > limit) {
      if (args.desired_replicas > limit) return {limit, "ScaleUpLimit", kScaleUpLimitMsg};
    } else if (args.desired_replicas > args.max_replicas) {
      return {args.max_replicas, "TooManyReplicas", kTooManyMsg};
    }
  } else if (args.desired_replicas < args.current_replicas) {
    int32_t limit = args.scale_down
                        ? CalculateScaleDownLimitWithBehaviors(args.current_replicas, up_events,
                                                               down_events, *args.scale_down, now)
                        : args.current_replicas;
    if (limit > args.current_replicas) limit = args.current_replicas;
    if (args.min_replicas < limit) {
      if (args.desired_replicas < limit) return {limit, "ScaleDownLimit", kScaleDownLimitMsg};
    } else if (args.desired_replicas < args.min_replicas) {
      return {args.min_replicas, "TooFewReplicas", kTooFewMsg};
    }
  }
  return {args.desired_replicas, "DesiredWithinRange", kWithinRangeMsg};
}

void StoreScaleEvent(const Behavior* behavior, std::vector<ScaleEvent>* up_events,
                     std::vector<ScaleEvent>* down_events, int32_t prev, int32_t next,
                     core::Timestamp now) {
  if (behavior == nullptr) return;
  if (next > prev) {
    Store(up_events, behavior->scale_up, next - prev, now);
  } else {
    Store(down_events, behavior->scale_down, prev - next, now);
  }
}

}  // namespace gpuscale::hpa
