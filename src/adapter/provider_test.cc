#include "adapter/provider.h"

#include <gtest/gtest.h>

namespace gpuscale::adapter {
namespace {

class FakeSource : public MetricsSource {
 public:
  core::Result<PromAnswer> Query(const std::string& promql, core::Timestamp,
                                 std::chrono::milliseconds timeout) override {
    queries.push_back(promql);
    last_timeout = timeout;
    if (error) return *error;
    return answer;
  }
  PromAnswer answer;
  std::optional<core::Error> error;
  std::vector<std::string> queries;
  std::chrono::milliseconds last_timeout{0};
};

class FakeLister : public ObjectLister {
 public:
  core::Result<std::vector<std::string>> ListNames(const ResourceInfo& r, std::string_view ns,
                                                   const std::vector<Requirement>& sel) override {
    calls.push_back(r.group_resource.String() + " " + std::string(ns) + " " + SelectorString(sel));
    if (error) return *error;
    return names;
  }
  std::vector<std::string> names;
  std::optional<core::Error> error;
  std::vector<std::string> calls;
};

PromSample Sample(std::string pod, double v) {
  return PromSample{{{"pod", std::move(pod)}}, v, core::FromUnixSeconds(100)};
}

class AdapterProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = ParseConfig(
        "rules:\n"
        "- seriesQuery: 'vllm:num_requests_running'\n"
        "  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}\n"
        "  name: {matches: 'vllm:num_requests_running', as: vllm_num_requests_running}\n"
        "  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'\n"
        "externalRules:\n"
        "- seriesQuery: queue_depth\n"
        "  resources: {overrides: {namespace: {resource: namespace}}}\n"
        "  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>})'\n"
        "- seriesQuery: orphan\n"
        "  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>})'\n",
        "c.yaml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    auto rules = RuleSet::Compile(*config, ResourceMapper::BuiltIn());
    ASSERT_TRUE(rules.ok());
    rules_ = std::make_unique<RuleSet>(std::move(*rules));
    provider_ =
        std::make_unique<Provider>(*rules_, ResourceMapper::BuiltIn(), source_, lister_, clock_,
                                   ProviderOptions{std::chrono::milliseconds(1500)});
    std::vector<std::vector<SeriesShape>> shapes = {
        {{"vllm:num_requests_running", {"__name__", "namespace", "pod"}}},
        {{"queue_depth", {"__name__", "namespace", "topic"}}},
        {{"orphan", {"__name__"}}}};
    provider_->SetSnapshot(std::make_shared<MetricSnapshot>(BuildSnapshot(*rules_, shapes)));
  }

  ApiAnswer Get(std::string path, std::map<std::string, std::string> params = {}) {
    auto a = provider_->Handle(path, params);
    EXPECT_TRUE(a.has_value());
    return a.value_or(ApiAnswer{0, ""});
  }

  core::ManualClock clock_{core::FromUnixSeconds(1719385626)};
  FakeSource source_;
  FakeLister lister_;
  std::unique_ptr<RuleSet> rules_;
  std::unique_ptr<Provider> provider_;
};

TEST_F(AdapterProviderTest, PodsWildcardQueryAndAnswerV1beta2) {
  lister_.names = {"web-1", "web-2", "web-3"};
  source_.answer.samples = {Sample("web-2", 2.5), Sample("web-1", 4), Sample("other", 9)};
  auto a =
      Get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/vllm/pods/*/vllm_num_requests_running",
          {{"labelSelector", "app=gemma-server"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(lister_.calls, (std::vector<std::string>{"pods vllm app=gemma-server"}));
  ASSERT_EQ(source_.queries.size(), 1u);
  EXPECT_EQ(
      source_.queries[0],
      "sum(vllm:num_requests_running{namespace=\"vllm\",pod=~\"web-1|web-2|web-3\"}) by (pod)");
  EXPECT_EQ(source_.last_timeout, std::chrono::milliseconds(1500));
  // Items in list order, only objects with data, none for pods outside the list.
  EXPECT_EQ(
      a.body,
      "{\"kind\":\"MetricValueList\",\"apiVersion\":\"custom.metrics.k8s.io/v1beta2\","
      "\"metadata\":{},\"items\":[{\"describedObject\":{\"kind\":\"Pod\",\"namespace\":\"vllm\","
      "\"name\":\"web-1\",\"apiVersion\":\"/v1\"},\"metric\":{\"name\":"
      "\"vllm_num_requests_running\",\"selector\":null},\"timestamp\":\"2024-06-26T07:07:06Z\","
      "\"value\":\"4\"},{\"describedObject\":{\"kind\":\"Pod\",\"namespace\":\"vllm\",\"name\":"
      "\"web-2\",\"apiVersion\":\"/v1\"},\"metric\":{\"name\":\"vllm_num_requests_running\","
      "\"selector\":null},\"timestamp\":\"2024-06-26T07:07:06Z\",\"value\":\"2500m\"}]}\n");
}

TEST_F(AdapterProviderTest, NamedObjectAndNamespaceMetric) {
  source_.answer.samples = {Sample("web-1", 1)};
  auto a = Get(
      "/apis/custom.metrics.k8s.io/v1beta1/namespaces/vllm/pods/web-1/vllm_num_requests_running");
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(source_.queries.back(),
            "sum(vllm:num_requests_running{namespace=\"vllm\",pod=\"web-1\"}) by (pod)");
  auto missing = Get(
      "/apis/custom.metrics.k8s.io/v1beta1/namespaces/vllm/pods/web-9/vllm_num_requests_running");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find(
                "the server could not find the metric vllm_num_requests_running for pods web-9"),
            std::string::npos);
  source_.answer.samples = {PromSample{{{"namespace", "vllm"}}, 3, {}}};
  auto ns =
      Get("/apis/custom.metrics.k8s.io/v1beta1/namespaces/vllm/metrics/vllm_num_requests_running");
  EXPECT_EQ(ns.status, 200) << ns.body;
  EXPECT_EQ(source_.queries.back(),
            "sum(vllm:num_requests_running{namespace=\"vllm\"}) by (namespace)");
  EXPECT_NE(ns.body.find("{\"kind\":\"Namespace\",\"name\":\"vllm\",\"apiVersion\":\"/v1\"}"),
            std::string::npos);
}

TEST_F(AdapterProviderTest, NotFoundCases) {
  lister_.names = {"web-1"};
  auto unknown = Get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/vllm/pods/*/nope");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body,
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            "\"message\":\"the server could not find the metric nope for pods\",\"reason\":"
            "\"NotFound\",\"code\":404}\n");
  lister_.names = {};
  EXPECT_EQ(
      Get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/vllm/pods/*/vllm_num_requests_running")
          .status,
      404);
  EXPECT_TRUE(source_.queries.empty());
  EXPECT_EQ(Get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/vllm/x").status, 400);
  EXPECT_EQ(Get("/apis/custom.metrics.k8s.io/v9").status, 404);
  EXPECT_FALSE(provider_->Handle("/healthz", {}).has_value());
}

TEST_F(AdapterProviderTest, PrometheusFailuresBecomeStatuses) {
  lister_.names = {"web-1"};
  const std::string path =
      "/apis/custom.metrics.k8s.io/v1beta2/namespaces/vllm/pods/*/vllm_num_requests_running";
  source_.error = core::Unavailable("connect 127.0.0.1:9: connection refused");
  auto down = Get(path);
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.body,
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            "\"message\":\"unable to fetch metrics: connect 127.0.0.1:9: connection refused\","
            "\"reason\":\"ServiceUnavailable\",\"code\":503}\n");
  source_.error = core::DeadlineExceeded("query timed out after 1.5s");
  EXPECT_EQ(Get(path).status, 504);
  source_.error = core::DataLoss("data.result: expected an array");
  auto garbage = Get(path);
  EXPECT_EQ(garbage.status, 500);
  EXPECT_NE(garbage.body.find("\"reason\":\"InternalError\""), std::string::npos);
  source_.error.reset();
  source_.answer.type = PromAnswer::Type::kOther;
  source_.answer.type_name = "matrix";
  EXPECT_EQ(Get(path).status, 500);
  lister_.error = core::Unavailable("kube down");
  auto list_failed = Get(path);
  EXPECT_EQ(list_failed.status, 500);
  EXPECT_NE(list_failed.body.find("unable to list matching resources"), std::string::npos);
}

TEST_F(AdapterProviderTest, External) {
  source_.answer.samples = {PromSample{{{"topic", "t1"}}, 50, core::FromUnixSeconds(1704067200)}};
  auto a = Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth",
               {{"labelSelector", "topic=t1"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(source_.queries.back(), "max(queue_depth{topic=\"t1\",namespace=\"default\"})");
  EXPECT_EQ(a.body,
            "{\"kind\":\"ExternalMetricValueList\",\"apiVersion\":\"external.metrics.k8s.io/"
            "v1beta1\",\"metadata\":{},\"items\":[{\"metricName\":\"queue_depth\",\"metricLabels\":"
            "{\"topic\":\"t1\"},\"timestamp\":\"2024-01-01T00:00:00Z\",\"value\":\"50\"}]}\n");
  EXPECT_EQ(Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/x/none").status, 404);
  // A namespaced external rule without a namespace label: an error that says how to fix it.
  auto orphan = Get("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/orphan");
  EXPECT_EQ(orphan.status, 500);
  EXPECT_NE(orphan.body.find("resources.namespaced: false"), std::string::npos);
}

TEST_F(AdapterProviderTest, Discovery) {
  auto list = Get("/apis/custom.metrics.k8s.io/v1beta1");
  EXPECT_EQ(list.body,
            "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":"
            "\"custom.metrics.k8s.io/v1beta1\",\"resources\":[{\"name\":"
            "\"namespaces/vllm_num_requests_running\",\"singularName\":\"\",\"namespaced\":false,"
            "\"kind\":\"MetricValueList\",\"verbs\":[\"get\"]},{\"name\":"
            "\"pods/vllm_num_requests_running\",\"singularName\":\"\",\"namespaced\":true,\"kind\":"
            "\"MetricValueList\",\"verbs\":[\"get\"]}]}\n");
  auto ext = Get("/apis/external.metrics.k8s.io/v1beta1");
  EXPECT_NE(ext.body.find("{\"name\":\"queue_depth\",\"singularName\":\"\",\"namespaced\":true,"
                          "\"kind\":\"ExternalMetricValueList\",\"verbs\":[\"get\"]}"),
            std::string::npos);
  EXPECT_EQ(Get("/apis/custom.metrics.k8s.io/v1beta2").status, 200);
  EXPECT_NE(Get("/apis").body.find("\"name\":\"external.metrics.k8s.io\""), std::string::npos);
  EXPECT_NE(Get("/apis/custom.metrics.k8s.io")
                .body.find("\"preferredVersion\":{\"groupVersion\":"
                           "\"custom.metrics.k8s.io/v1beta1\""),
            std::string::npos);
}

}  // namespace
}  // namespace gpuscale::adapter
