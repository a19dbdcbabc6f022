// Fault tests: the provider over the real Prometheus API client, against a Prometheus stand-in
// on 127.0.0.1 that can be down, slow past the query timeout, or answer garbage.
#include "adapter/prom_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "http/server.h"

namespace gpuscale::adapter {
namespace {

class NamesLister : public ObjectLister {
 public:
  core::Result<std::vector<std::string>> ListNames(const ResourceInfo&, std::string_view,
                                                   const std::vector<Requirement>&) override {
    return std::vector<std::string>{"web-1"};
  }
};

enum class Mode { kGood, kSlow, kGarbage, kError };

class AdapterFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = http::Server::Start(http::ServerOptions{}, [this](http::Request req,
                                                                    http::Reply reply) {
      last_target_ = req.target;
      if (req.target.starts_with("/api/v1/series") && mode_ == Mode::kGood) {
        reply(http::Response::Json(200, SeriesAnswer()));
        return;
      }
      switch (mode_.load()) {
        case Mode::kGood:
          reply(http::Response::Json(
              200, R"({"status":"success","data":{"resultType":"vector","result":[)"
                   R"({"metric":{"pod":"web-1"},"value":[1700000000.5,"3.25"]}]}})"));
          return;
        case Mode::kSlow: {
          // Answer after the adapter's timeout, off the I/O thread.
          std::lock_guard lock(threads_mu_);
          slow_.emplace_back([reply] {
            std::this_thread::sleep_for(std::chrono::milliseconds(1500));
            reply(http::Response::Json(
                200, R"({"status":"success","data":{"resultType":"vector","result":[]}})"));
          });
          return;
        }
        case Mode::kGarbage:
          reply(http::Response::Text(200, "<html>not prometheus</html>"));
          return;
        case Mode::kError:
          reply(http::Response::Json(
              503, R"({"status":"error","errorType":"unavailable","error":"too many queries"})"));
          return;
      }
    });
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server);
    port_ = server_->port();
    Connect("http://127.0.0.1:" + std::to_string(port_));
  }
  void TearDown() override {
    {
      // The late answers go out before the server stops.
      std::lock_guard lock(threads_mu_);
      for (auto& t : slow_) t.join();
    }
    if (server_) server_->Stop(std::chrono::milliseconds(100));
  }

  void Connect(const std::string& url) {
    prom::ApiClientOptions o;
    o.url = url;
    o.timeout = std::chrono::milliseconds(300);
    o.connect_timeout = std::chrono::milliseconds(300);
    client_ = std::move(*prom::ApiClient::Create(o));
    source_ = std::make_unique<PromSource>(*client_);
    auto config = ParseConfig(
        "rules:\n- seriesQuery: m\n  resources: {overrides: {namespace: {resource: namespace}, "
        "pod: {resource: pod}}}\n  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by "
        "(<<.GroupBy>>)'\n",
        "c.yaml");
    rules_ =
        std::make_unique<RuleSet>(std::move(*RuleSet::Compile(*config, ResourceMapper::BuiltIn())));
    provider_ = std::make_unique<Provider>(*rules_, ResourceMapper::BuiltIn(), *source_, lister_,
                                           clock_, ProviderOptions{std::chrono::milliseconds(300)});
    provider_->SetSnapshot(std::make_shared<MetricSnapshot>(
        BuildSnapshot(*rules_, {{{"m", {"__name__", "namespace", "pod"}}}})));
  }

  // 3,000 series of three shapes.
  static std::string SeriesAnswer() {
    std::string out = R"({"status":"success","data":[)";
    for (int i = 0; i < 3000; ++i) {
      if (i > 0) out += ',';
      std::string pod = "web-" + std::to_string(i);
      out += i % 3 == 0   ? R"({"__name__":"m","namespace":"ns","pod":")" + pod + R"("})"
             : i % 3 == 1 ? R"({"__name__":"m","pod":")" + pod + R"(","namespace":"ns"})"
                          : R"({"__name__":"n","namespace":"ns"})";
      if (i % 1000 == 999) out += R"(,{"pod":")" + pod + R"("})";
    }
    return out + "]}";
  }

  ApiAnswer Get() {
    return *provider_->Handle("/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m", {});
  }

  std::atomic<Mode> mode_{Mode::kGood};
  std::mutex threads_mu_;
  std::vector<std::thread> slow_;
  std::string last_target_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
  std::unique_ptr<prom::ApiClient> client_;
  std::unique_ptr<PromSource> source_;
  NamesLister lister_;
  core::ManualClock clock_{core::FromUnixSeconds(1700000000)};
  std::unique_ptr<RuleSet> rules_;
  std::unique_ptr<Provider> provider_;
};

TEST_F(AdapterFaultTest, GoodAnswerCarriesTheTimeoutToPrometheus) {
  auto a = Get();
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_NE(a.body.find("\"value\":\"3250m\""), std::string::npos);
  EXPECT_NE(last_target_.find("timeout="), std::string::npos) << last_target_;
}

TEST_F(AdapterFaultTest, SlowPastTheTimeoutIs504AndRecovers) {
  mode_ = Mode::kSlow;
  auto t0 = std::chrono::steady_clock::now();
  auto a = Get();
  EXPECT_EQ(a.status, 504) << a.body;
  EXPECT_NE(a.body.find("\"reason\":\"Timeout\""), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1200));
  mode_ = Mode::kGood;
  EXPECT_EQ(Get().status, 200);
}

TEST_F(AdapterFaultTest, GarbageIs500AndPrometheusErrorIs503) {
  mode_ = Mode::kGarbage;
  auto g = Get();
  EXPECT_EQ(g.status, 500) << g.body;
  EXPECT_NE(g.body.find("unable to fetch metrics"), std::string::npos);
  mode_ = Mode::kError;
  auto e = Get();
  EXPECT_EQ(e.status, 503) << e.body;
  EXPECT_NE(e.body.find("too many queries"), std::string::npos);
  mode_ = Mode::kGood;
  EXPECT_EQ(Get().status, 200);
}

TEST_F(AdapterFaultTest, SeriesListerKeepsShapesAndReportsBadAnswers) {
  PromSeriesLister lister(*client_);
  auto shapes = lister.ListSeries(R"({namespace!=""})", clock_.Now());
  ASSERT_TRUE(shapes.ok()) << shapes.error().message;
  EXPECT_EQ(*shapes, (std::vector<SeriesShape>{{"", {"pod"}},
                                               {"m", {"__name__", "namespace", "pod"}},
                                               {"n", {"__name__", "namespace"}}}));
  EXPECT_TRUE(last_target_.starts_with("/api/v1/series?match%5B%5D=%7Bnamespace%21%3D%22%22%7D"))
      << last_target_;
  mode_ = Mode::kGarbage;
  EXPECT_EQ(lister.ListSeries("m", clock_.Now()).error(),
            (core::Error{core::Code::kDataLoss, "malformed JSON: syntax error"}));
  mode_ = Mode::kError;
  EXPECT_EQ(lister.ListSeries("m", clock_.Now()).error(),
            (core::Error{core::Code::kUnavailable, "unavailable: too many queries"}));
}

TEST_F(AdapterFaultTest, DownIs503) {
  server_->Stop(std::chrono::milliseconds(100));
  server_.reset();
  auto a = Get();
  EXPECT_EQ(a.status, 503) << a.body;
  EXPECT_NE(a.body.find("\"reason\":\"ServiceUnavailable\""), std::string::npos);
}

}  // namespace
}  // namespace gpuscale::adapter
