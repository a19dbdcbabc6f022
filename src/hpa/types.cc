#include "hpa/types.h"

namespace gpuscale::hpa {

ScalingRules DefaultScaleUpRules() {
  ScalingRules r;
  r.stabilization_window_seconds = 0;
  r.select_policy = SelectPolicy::kMax;
  r.policies = {{ScalingPolicyType::kPods, 4, 15}, {ScalingPolicyType::kPercent, 100, 15}};
  return r;
}

ScalingRules DefaultScaleDownRules() {
  ScalingRules r;
  r.select_policy = SelectPolicy::kMax;
  r.policies = {{ScalingPolicyType::kPercent, 100, 15}};
  return r;
}

std::string_view MetricSourceTypeName(MetricSourceType type) {
  switch (type) {
    case MetricSourceType::kResource:
      return "Resource";
    case MetricSourceType::kContainerResource:
      return "ContainerResource";
    case MetricSourceType::kPods:
      return "Pods";
    case MetricSourceType::kObject:
      return "Object";
    case MetricSourceType::kExternal:
      return "External";
    case MetricSourceType::kUnknown:
      break;
  }
  return "Unknown";
}

std::string_view ConditionStatusName(ConditionStatus status) {
  switch (status) {
    case ConditionStatus::kTrue:
      return "True";
    case ConditionStatus::kFalse:
      return "False";
    case ConditionStatus::kUnknown:
      break;
  }
  return "Unknown";
}

}  // namespace gpuscale::hpa
