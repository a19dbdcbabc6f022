#include "local/metrics_api.h"

#include <fmt/format.h>

#include <cmath>
#include <ctime>
#include <vector>

#include "core/json_escape.h"

namespace gpuscale::local {

namespace {

constexpr std::string_view kGroupVersion = "custom.metrics.k8s.io/v1beta1";

std::string Rfc3339(core::Timestamp t) {
  std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

http::Response Status(int code, std::string_view reason, std::string_view message) {
  std::string body = fmt::format(
      "{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\"status\":\"Failure\","
      "\"message\":{},\"reason\":\"{}\",\"code\":{}}}\n",
      core::JsonString(message), reason, code);
  return http::Response::Json(code, std::move(body));
}

std::vector<std::string> SplitPath(std::string_view path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

}  // namespace

std::string FormatMilliQuantity(int64_t milli) {
  if (milli % 1000 == 0) return std::to_string(milli / 1000);
  return std::to_string(milli) + "m";
}

http::Response HandleMetricsApi(const http::Request& request, const PodMetrics& metrics,
                                const std::string& namespace_name) {
  std::vector<std::string> p = SplitPath(request.Path());
  // /apis/custom.metrics.k8s.io/v1beta1
  if (p.size() < 3 || p[0] != "apis" || p[1] != "custom.metrics.k8s.io" || p[2] != "v1beta1") {
    return Status(404, "NotFound", "the server could not find the requested resource");
  }
  if (p.size() == 3) {
    std::string body = fmt::format(
        "{{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"{}\","
        "\"resources\":[",
        kGroupVersion);
    bool first = true;
    for (const auto& [name, pods] : metrics.values) {
      for (std::string_view resource : {"pods", "namespaces"}) {
        if (!first) body += ",";
        first = false;
        body += fmt::format(
            "{{\"name\":\"{}/{}\",\"singularName\":\"\",\"namespaced\":{},\"kind\":"
            "\"MetricValueList\",\"verbs\":[\"get\"]}}",
            resource, name, resource == "pods" ? "true" : "false");
      }
    }
    body += "]}\n";
    return http::Response::Json(200, std::move(body));
  }
  // /apis/custom.metrics.k8s.io/v1beta1/namespaces/{ns}/pods/{name}/{metric}
  if (p.size() != 8 || p[3] != "namespaces" || p[5] != "pods") {
    return Status(404, "NotFound", "the server could not find the requested resource");
  }
  const std::string& ns = p[4];
  const std::string& pod_name = p[6];
  const std::string& metric = p[7];
  auto it = metrics.values.find(metric);
  if (it == metrics.values.end() || ns != namespace_name) {
    return Status(404, "NotFound",
                  fmt::format("the server could not find the metric {} for pods", metric));
  }
  std::string items;
  for (const auto& [pod, value] : it->second) {
    if (pod_name != "*" && pod != pod_name) continue;
    if (!items.empty()) items += ",";
    items += fmt::format(
        "{{\"describedObject\":{{\"kind\":\"Pod\",\"namespace\":{},\"name\":{},"
        "\"apiVersion\":\"/v1\"}},\"metricName\":{},\"timestamp\":\"{}\",\"value\":\"{}\"}}",
        core::JsonString(ns), core::JsonString(pod), core::JsonString(metric),
        Rfc3339(metrics.time), FormatMilliQuantity(std::llround(value * 1000)));
  }
  if (pod_name != "*" && items.empty()) {
    return Status(
        404, "NotFound",
        fmt::format("the server could not find the metric {} for pods {}", metric, pod_name));
  }
  std::string body = fmt::format(
      "{{\"kind\":\"MetricValueList\",\"apiVersion\":\"{}\",\"metadata\":{{}},\"items\":[{}]}}\n",
      kGroupVersion, items);
  return http::Response::Json(200, std::move(body));
}

}  // namespace gpuscale::local
