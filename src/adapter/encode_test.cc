#include "adapter/encode.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gpuscale::adapter {
namespace {

TEST(AdapterEncode, Quantities) {
  EXPECT_EQ(FormatMilliQuantity(ToMilli(0.5, true)), "500m");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(1.5, true)), "1500m");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(10, true)), "10");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(1000, true)), "1k");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(1234.5, true)), "1234500m");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(0.0005, true)), "0");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(0.066, true)), "66m");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(-2.5, true)), "-2500m");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(3e6, true)), "3M");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(20, true)), "20");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(std::nan(""), true)), "0");
  EXPECT_EQ(FormatMilliQuantity(ToMilli(std::nan(""), false)), "-9223372036854775808m");
}

TEST(AdapterEncode, KubeTime) {
  EXPECT_EQ(FormatKubeTime(core::FromUnixSeconds(1719385626.9)), "2024-06-26T07:07:06Z");
}

TEST(AdapterEncode, MetricValueListV1beta1AndV1beta2) {
  MetricValue v{
      "Pod", "/v1", "default", "sample-app-1", "http_requests", core::FromUnixSeconds(1719385626),
      66};
  EXPECT_EQ(EncodeMetricValueList("v1beta1", {v}, {}),
            "{\"kind\":\"MetricValueList\",\"apiVersion\":\"custom.metrics.k8s.io/v1beta1\","
            "\"metadata\":{},\"items\":[{\"describedObject\":{\"kind\":\"Pod\",\"namespace\":"
            "\"default\",\"name\":\"sample-app-1\",\"apiVersion\":\"/v1\"},\"metricName\":"
            "\"http_requests\",\"timestamp\":\"2024-06-26T07:07:06Z\",\"value\":\"66m\","
            "\"selector\":null}]}\n");
  auto sel = ParseLabelSelector("verb=GET,code in (200,201)");
  EXPECT_EQ(EncodeMetricValueList("v1beta2", {v}, *sel),
            "{\"kind\":\"MetricValueList\",\"apiVersion\":\"custom.metrics.k8s.io/v1beta2\","
            "\"metadata\":{},\"items\":[{\"describedObject\":{\"kind\":\"Pod\",\"namespace\":"
            "\"default\",\"name\":\"sample-app-1\",\"apiVersion\":\"/v1\"},\"metric\":{\"name\":"
            "\"http_requests\",\"selector\":{\"matchLabels\":{\"verb\":\"GET\"},"
            "\"matchExpressions\":[{\"key\":\"code\",\"operator\":\"In\",\"values\":[\"200\","
            "\"201\"]}]}},\"timestamp\":\"2024-06-26T07:07:06Z\",\"value\":\"66m\"}]}\n");
  MetricValue ns{"Namespace", "/v1", "", "default", "m", core::FromUnixSeconds(0), 1000};
  EXPECT_EQ(EncodeMetricValueList("v1beta2", {ns}, {}),
            "{\"kind\":\"MetricValueList\",\"apiVersion\":\"custom.metrics.k8s.io/v1beta2\","
            "\"metadata\":{},\"items\":[{\"describedObject\":{\"kind\":\"Namespace\",\"name\":"
            "\"default\",\"apiVersion\":\"/v1\"},\"metric\":{\"name\":\"m\",\"selector\":null},"
            "\"timestamp\":\"1970-01-01T00:00:00Z\",\"value\":\"1\"}]}\n");
  EXPECT_EQ(EncodeMetricValueList("v1beta1", {}, {}),
            "{\"kind\":\"MetricValueList\",\"apiVersion\":\"custom.metrics.k8s.io/v1beta1\","
            "\"metadata\":{},\"items\":[]}\n");
}

TEST(AdapterEncode, ExternalList) {
  ExternalValue v{"queue_depth", std::map<std::string, std::string>{{"topic", "t1"}},
                  core::FromUnixSeconds(1704067200), 50000};
  ExternalValue s{"queue_depth", std::nullopt, core::FromUnixSeconds(1704067200), 1};
  EXPECT_EQ(EncodeExternalValueList({v, s}),
            "{\"kind\":\"ExternalMetricValueList\",\"apiVersion\":\"external.metrics.k8s.io/"
            "v1beta1\",\"metadata\":{},\"items\":[{\"metricName\":\"queue_depth\",\"metricLabels\":"
            "{\"topic\":\"t1\"},\"timestamp\":\"2024-01-01T00:00:00Z\",\"value\":\"50\"},"
            "{\"metricName\":\"queue_depth\",\"metricLabels\":null,\"timestamp\":"
            "\"2024-01-01T00:00:00Z\",\"value\":\"1m\"}]}\n");
}

TEST(AdapterEncode, DiscoveryAndStatus) {
  EXPECT_EQ(
      EncodeApiResourceList("custom.metrics.k8s.io/v1beta1", "MetricValueList",
                            {{"pods/http_requests", true}, {"namespaces/http_requests", false}}),
      "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":"
      "\"custom.metrics.k8s.io/v1beta1\",\"resources\":[{\"name\":\"pods/http_requests\","
      "\"singularName\":\"\",\"namespaced\":true,\"kind\":\"MetricValueList\",\"verbs\":"
      "[\"get\"]},{\"name\":\"namespaces/http_requests\",\"singularName\":\"\",\"namespaced\":"
      "false,\"kind\":\"MetricValueList\",\"verbs\":[\"get\"]}]}\n");
  EXPECT_EQ(EncodeApiResourceList("external.metrics.k8s.io/v1beta1", "ExternalMetricValueList", {}),
            "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":"
            "\"external.metrics.k8s.io/v1beta1\",\"resources\":[]}\n");
  EXPECT_EQ(
      EncodeApiGroup("custom.metrics.k8s.io", {"v1beta1"}),
      "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",\"name\":\"custom.metrics.k8s.io\","
      "\"versions\":[{\"groupVersion\":\"custom.metrics.k8s.io/v1beta1\",\"version\":"
      "\"v1beta1\"}],\"preferredVersion\":{\"groupVersion\":\"custom.metrics.k8s.io/v1beta1\","
      "\"version\":\"v1beta1\"}}\n");
  EXPECT_EQ(EncodeStatus(404, "NotFound", "the server could not find the metric m for pods"),
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            "\"message\":\"the server could not find the metric m for pods\",\"reason\":"
            "\"NotFound\",\"code\":404}\n");
  EXPECT_EQ(EncodeStatus(500, "", "bad selector"),
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            "\"message\":\"bad selector\",\"code\":500}\n");
}

}  // namespace
}  // namespace gpuscale::adapter
