#include "local/metrics_api.h"

#include <gtest/gtest.h>

namespace gpuscale::local {
namespace {

http::Request Get(std::string target) {
  http::Request r;
  r.target = std::move(target);
  return r;
}

PodMetrics Sample() {
  PodMetrics m;
  m.time = core::Timestamp(std::chrono::seconds(1700000000));
  m.values["gpu_utilization_percent"] = {{"pod-a", 85.5}, {"pod-b", 20}};
  return m;
}

TEST(MetricsApiTest, QuantitiesLikeKubernetes) {
  EXPECT_EQ(FormatMilliQuantity(20000), "20");
  EXPECT_EQ(FormatMilliQuantity(85500), "85500m");
  EXPECT_EQ(FormatMilliQuantity(0), "0");
}

TEST(MetricsApiTest, DiscoveryListsEachMetricForPodsAndNamespaces) {
  http::Response r =
      HandleMetricsApi(Get("/apis/custom.metrics.k8s.io/v1beta1"), Sample(), "vllm-example");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"groupVersion\":\"custom.metrics.k8s.io/v1beta1\""), std::string::npos);
  EXPECT_NE(r.body.find("{\"name\":\"pods/gpu_utilization_percent\",\"singularName\":\"\","
                        "\"namespaced\":true,\"kind\":\"MetricValueList\",\"verbs\":[\"get\"]}"),
            std::string::npos)
      << r.body;
}

TEST(MetricsApiTest, AllPodsAndOnePod) {
  http::Response all =
      HandleMetricsApi(Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/vllm-example/pods/*/"
                           "gpu_utilization_percent"),
                       Sample(), "vllm-example");
  ASSERT_EQ(all.status, 200);
  EXPECT_EQ(all.body,
            "{\"kind\":\"MetricValueList\",\"apiVersion\":\"custom.metrics.k8s.io/v1beta1\","
            "\"metadata\":{},\"items\":[{\"describedObject\":{\"kind\":\"Pod\",\"namespace\":"
            "\"vllm-example\",\"name\":\"pod-a\",\"apiVersion\":\"/v1\"},\"metricName\":"
            "\"gpu_utilization_percent\",\"timestamp\":\"2023-11-14T22:13:20Z\",\"value\":"
            "\"85500m\"},{\"describedObject\":{\"kind\":\"Pod\",\"namespace\":\"vllm-example\","
            "\"name\":\"pod-b\",\"apiVersion\":\"/v1\"},\"metricName\":\"gpu_utilization_percent\","
            "\"timestamp\":\"2023-11-14T22:13:20Z\",\"value\":\"20\"}]}\n");
  http::Response one =
      HandleMetricsApi(Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/vllm-example/pods/pod-b/"
                           "gpu_utilization_percent"),
                       Sample(), "vllm-example");
  EXPECT_EQ(one.status, 200);
  EXPECT_EQ(one.body.find("pod-a"), std::string::npos);
}

TEST(MetricsApiTest, UnknownMetricIsAKubernetesStatus404) {
  http::Response r = HandleMetricsApi(
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/vllm-example/pods/*/nope"), Sample(),
      "vllm-example");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body,
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            "\"message\":\"the server could not find the metric nope for pods\",\"reason\":"
            "\"NotFound\",\"code\":404}\n");
  EXPECT_EQ(HandleMetricsApi(Get("/apis/other"), Sample(), "vllm-example").status, 404);
}

}  // namespace
}  // namespace gpuscale::local
