// JSON encoders for the custom.metrics.k8s.io (v1beta1, v1beta2) and external.metrics.k8s.io
// (v1beta1) APIs, their discovery documents and Kubernetes Status errors, with the exact key
// order and shapes the Go types produce. Pure functions: structs in, bytes out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/query.h"
#include "core/clock.h"
#include "core/result.h"

namespace gpuscale::adapter {

inline constexpr std::string_view kCustomGroup = "custom.metrics.k8s.io";
inline constexpr std::string_view kExternalGroup = "external.metrics.k8s.io";

// A resource.Quantity in canonical DecimalSI form from a value in milli-units ("500m", "10",
// "1k", "1234500m").
std::string FormatMilliQuantity(std::int64_t milli);
// prometheus-adapter's conversion: trunc(v*1000); NaN → 0 when `nan_is_zero` (custom metrics),
// otherwise (external) the int64 minimum, as Go on amd64 produces; ±Inf and overflow likewise.
std::int64_t ToMilli(double value, bool nan_is_zero);
// metav1.Time: RFC 3339 in UTC at second precision ("2024-06-26T07:07:06Z").
std::string FormatKubeTime(core::Timestamp t);

// One item of a custom metrics answer.
struct MetricValue {
  std::string kind;         // "Pod"
  std::string api_version;  // "/v1" for the core group, "apps/v1"
  std::string namespace_;   // empty for root-scoped objects
  std::string name;
  std::string metric;
  core::Timestamp timestamp;
  std::int64_t milli = 0;
};

// `selector`: the request's metricLabelSelector (empty: null).
std::string EncodeMetricValueList(std::string_view version, const std::vector<MetricValue>& items,
                                  const std::vector<Requirement>& selector);

struct ExternalValue {
  std::string metric;
  // All labels of the result series; nullopt encodes `null` (a scalar answer).
  std::optional<std::map<std::string, std::string>> labels;
  core::Timestamp timestamp;
  std::int64_t milli = 0;
};
std::string EncodeExternalValueList(const std::vector<ExternalValue>& items);

// An entry of an APIResourceList: name ("pods/http_requests" or "queue_depth").
struct ApiResource {
  std::string name;
  bool namespaced = true;
};
std::string EncodeApiResourceList(std::string_view group_version, std::string_view kind,
                                  const std::vector<ApiResource>& resources);
// APIGroup for `group` with the given versions; the first is preferred.
std::string EncodeApiGroup(std::string_view group, const std::vector<std::string>& versions);
// APIGroupList of the custom and external groups.
std::string EncodeApiGroupList(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& groups);

// metav1.Status. `reason` empty: omitted. `details_json`: a JSON object or empty (omitted).
std::string EncodeStatus(int code, std::string_view reason, std::string_view message,
                         std::string_view details_json = {});
// The Status for an error, using the code → HTTP/reason table of core (404 NotFound, 503
// ServiceUnavailable, ...).
std::string EncodeStatus(const core::Error& error);

}  // namespace gpuscale::adapter
