// The custom metrics API (custom.metrics.k8s.io v1beta1) served by `gpuscale up` from the
// metrics it reads, so the guide's verification requests have a local equivalent:
//   curl -k https://127.0.0.1:6443/apis/custom.metrics.k8s.io/v1beta1
//   curl -k
//   https://127.0.0.1:6443/apis/custom.metrics.k8s.io/v1beta1/namespaces/vllm-example/pods/*/gpu_utilization_percent
#pragma once

#include <functional>
#include <string>

#include "http/message.h"
#include "local/metrics_source.h"

namespace gpuscale::local {

// Formats a value like Kubernetes' resource.Quantity from milli-units: "85", "85500m".
std::string FormatMilliQuantity(int64_t milli);

// Answers one request from `metrics` for pods in `namespace_name`. Pure.
http::Response HandleMetricsApi(const http::Request& request, const PodMetrics& metrics,
                                const std::string& namespace_name);

}  // namespace gpuscale::local
