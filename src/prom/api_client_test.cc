// ApiClient against a fake http::Client (the unit-test seam): request building, headers,
// bearer token refresh and the classification of answers. api_client_integration_test.cc
// runs it against a real Prometheus.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "http/client.h"
#include "http/server.h"
#include "prom/api.h"

namespace gpuscale::prom {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

constexpr char kUpVector[] =
    R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"p"},"value":[1,"1"]}]}})";

class FakeHttp : public http::Client {
 public:
  struct Call {
    std::string url;
    http::Request request;
    std::optional<std::chrono::milliseconds> timeout;
  };
  core::Result<http::Response> Send(std::string_view url, http::Request request,
                                    std::optional<std::chrono::milliseconds> timeout) override {
    calls.push_back({std::string(url), request, timeout});
    return next;
  }
  std::vector<Call> calls;
  core::Result<http::Response> next = http::Response::Json(200, kUpVector);
};

struct Fixture {
  std::shared_ptr<FakeHttp> http = std::make_shared<FakeHttp>();
  std::unique_ptr<ApiClient> client;
  explicit Fixture(ApiClientOptions options) {
    auto c = ApiClient::Create(std::move(options), http);
    EXPECT_TRUE(c.ok()) << c.error().message;
    client = std::move(*c);
  }
};

ApiClientOptions Options(std::string url = "http://prom.example:9090") {
  ApiClientOptions o;
  o.url = std::move(url);
  o.timeout = 2000ms;
  return o;
}

TEST(ApiClientTest, QueryIsAGetUnderThePathPrefixWithTimeAndTimeout) {
  Fixture f(Options("http://prom.example:9090/prometheus/?ignored=1"));
  auto r = f.client->Query("sum(rate(x{a=\"b c\"}[1m]))", core::FromUnixSeconds(1700000000.25));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->vector.size(), 1u);
  ASSERT_EQ(f.http->calls.size(), 1u);
  const auto& call = f.http->calls[0];
  EXPECT_EQ(call.request.method, "GET");
  EXPECT_EQ(call.url,
            "http://prom.example:9090/prometheus/api/v1/query?query=sum%28rate%28x%7Ba%3D%22b%20c%"
            "22%7D%5B1m%5D%29%29&time=1700000000.250&timeout=2.000");
  // The HTTP deadline leaves Prometheus's own timeout answer room to arrive first.
  EXPECT_EQ(call.timeout, 2200ms);
  EXPECT_EQ(call.request.headers.Get("Accept"), "application/json");
  EXPECT_FALSE(call.request.headers.Get("Authorization"));
}

TEST(ApiClientTest, PerCallTimeoutReachesPrometheus) {
  Fixture f(Options());
  ASSERT_TRUE(f.client->Query("up", std::nullopt, 250ms).ok());
  EXPECT_THAT(f.http->calls[0].url, HasSubstr("&timeout=0.250"));
  EXPECT_EQ(f.http->calls[0].timeout, 275ms);
}

TEST(ApiClientTest, LongCallsGoAsPostForms) {
  ApiClientOptions o = Options();
  o.max_get_url_bytes = 100;
  Fixture f(o);
  f.http->next = http::Response::Json(200, R"({"status":"success","data":[]})");
  std::vector<std::string> matchers = {"DCGM_FI_DEV_GPU_UTIL{namespace!=\"\",pod!=\"\"}",
                                       "vllm:num_requests_running"};
  auto r = f.client->Series(matchers, core::FromUnixSeconds(10), core::FromUnixSeconds(20));
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& call = f.http->calls[0];
  EXPECT_EQ(call.request.method, "POST");
  EXPECT_EQ(call.url, "http://prom.example:9090/api/v1/series");
  EXPECT_EQ(call.request.headers.Get("Content-Type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(call.request.body,
            "match%5B%5D=DCGM_FI_DEV_GPU_UTIL%7Bnamespace%21%3D%22%22%2Cpod%21%3D%22%22%7D&"
            "match%5B%5D=vllm%3Anum_requests_running&start=10.000&end=20.000");
}

TEST(ApiClientTest, LabelsWithoutMatchersIsAPlainGet) {
  Fixture f(Options());
  f.http->next = http::Response::Json(200, R"({"status":"success","data":["job"]})");
  auto r = f.client->ListLabels();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->names, std::vector<std::string>{"job"});
  EXPECT_EQ(f.http->calls[0].url, "http://prom.example:9090/api/v1/labels");
}

TEST(ApiClientTest, SendsExtraHeadersAndATrimmedBearerTokenReReadOnChange) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("gpuscale_token_" + std::to_string(::getpid())))
          .string();
  std::ofstream(path) << "first-token\n";
  ApiClientOptions o = Options();
  o.bearer_token_file = path;
  o.headers = {{"X-Scope-OrgID", "tenant-a"}};
  Fixture f(o);
  ASSERT_TRUE(f.client->Query("up").ok());
  EXPECT_EQ(f.http->calls[0].request.headers.Get("Authorization"), "Bearer first-token");
  EXPECT_EQ(f.http->calls[0].request.headers.Get("X-Scope-OrgID"), "tenant-a");
  // A rotated token (different size, so no reliance on timestamp resolution) is picked up.
  std::ofstream(path) << "  second-longer-token  \n";
  ASSERT_TRUE(f.client->Query("up").ok());
  EXPECT_EQ(f.http->calls[1].request.headers.Get("Authorization"), "Bearer second-longer-token");
  std::filesystem::remove(path);
  auto missing = f.client->Query("up");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, core::Code::kFailedPrecondition);
  EXPECT_THAT(missing.error().message, HasSubstr(path));
  EXPECT_EQ(f.http->calls.size(), 2u);  // nothing sent without the token
}

TEST(ApiClientTest, AnExplicitAuthorizationHeaderWins) {
  ApiClientOptions o = Options();
  o.bearer_token_file = "/nonexistent/token";
  o.headers = {{"Authorization", "Basic dTpw"}};
  Fixture f(o);
  ASSERT_TRUE(f.client->Query("up").ok());
  EXPECT_EQ(f.http->calls[0].request.headers.Get("Authorization"), "Basic dTpw");
}

TEST(ApiClientTest, ClassifiesAnswers) {
  struct Case {
    int status;
    std::string body;
    core::Code code;
    std::string message;
  } cases[] = {
      {400,
       R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"})",
       core::Code::kInvalidArgument,
       "bad_data: invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"},
      {503,
       R"({"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"})",
       core::Code::kDeadlineExceeded, "timeout: query timed out in expression evaluation"},
      {502, "<html>Bad Gateway</html>", core::Code::kUnavailable,
       "Prometheus /api/v1/query answered HTTP 502: <html>Bad Gateway</html>"},
      {429, "slow down", core::Code::kUnavailable,
       "Prometheus /api/v1/query answered HTTP 429: slow down"},
      {401, "Unauthorized\n", core::Code::kUnauthenticated,
       "Prometheus /api/v1/query answered HTTP 401: Unauthorized"},
      {403, "Forbidden", core::Code::kPermissionDenied,
       "Prometheus /api/v1/query answered HTTP 403: Forbidden"},
      {404, "404 page not found", core::Code::kNotFound,
       "Prometheus /api/v1/query answered HTTP 404: 404 page not found"},
      {200, R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1]}]}})",
       core::Code::kDataLoss,
       "data.result[0].value: expected [timestamp, \"value\"], found an array of 1"},
      {200, "not json", core::Code::kDataLoss, ""},
  };
  for (const Case& c : cases) {
    Fixture f(Options());
    f.http->next = http::Response::Json(c.status, c.body);
    auto r = f.client->Query("up");
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    if (!c.message.empty()) {
      EXPECT_EQ(r.error().message, c.message);
    }
  }
}

TEST(ApiClientTest, StreamedSeriesAnswersAreClassifiedAsBefore) {
  struct Case {
    int status;
    std::string body;
    core::Code code;
    std::string message;
  } cases[] = {
      {422, R"({"status":"error","errorType":"execution","error":"too many series"})",
       core::Code::kInvalidArgument, "execution: too many series"},
      {502, "<html>Bad Gateway</html>", core::Code::kUnavailable,
       "Prometheus /api/v1/series answered HTTP 502: <html>Bad Gateway</html>"},
      {200, R"({"status":"success","data":[{"a":"b"},{"c":2}]})", core::Code::kDataLoss,
       "data[1].c: expected a string, found a number"},
      {200, "not json", core::Code::kDataLoss, "malformed JSON: syntax error"},
      {200, "", core::Code::kDataLoss, "malformed JSON: incomplete JSON"},
  };
  for (const Case& c : cases) {
    Fixture f(Options());
    f.http->next = http::Response::Json(c.status, c.body);
    auto r = f.client->Series({"up"});
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error(), (core::Error{c.code, c.message})) << c.body;
  }
  Fixture f(Options());
  f.http->next = http::Response::Json(
      200, R"({"status":"success","data":[{"__name__":"up","job":"a"}],"warnings":["w"]})");
  auto r = f.client->Series({"up"}, core::FromUnixSeconds(1700000000));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->series, (std::vector<Labels>{{{"__name__", "up"}, {"job", "a"}}}));
  EXPECT_EQ(r->warnings, std::vector<std::string>{"w"});
  EXPECT_EQ(f.http->calls[0].url,
            "http://prom.example:9090/api/v1/series?match%5B%5D=up&start=1700000000.000");
  f.http->next = core::Unavailable("connect 127.0.0.1:1: connection refused");
  EXPECT_EQ(f.client->Series({"up"}).error(),
            (core::Error{core::Code::kUnavailable,
                         "Prometheus /api/v1/series: connect 127.0.0.1:1: connection refused"}));
}

// StreamSeries over a real HTTP server, so the body arrives in pieces.
TEST(ApiClientTest, StreamSeriesDecodesAnswersAsTheyArrive) {
  std::string good = R"({"status":"success","data":[)";
  for (int i = 0; i < 20000; ++i) {
    if (i > 0) good += ',';
    good += R"({"__name__":"m)" + std::to_string(i % 7) + R"(","pod":"pod-)" + std::to_string(i) +
            R"(","namespace":"default"})";
  }
  std::string bad = good + ",garbage";
  good += R"(],"warnings":["partial"]})";
  auto server = http::Server::Start({}, http::Sync([&](const http::Request& r) {
                                      if (r.target.find("bad") != std::string::npos)
                                        return http::Response::Json(200, bad);
                                      if (r.target.find("error") != std::string::npos)
                                        return http::Response::Json(
                                            422, R"({"status":"error","errorType":"bad_data",)"
                                                 R"("error":"no"})");
                                      return http::Response::Json(200, good);
                                    }));
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  auto client = ApiClient::Create(Options("http://127.0.0.1:" + std::to_string((*server)->port())));
  ASSERT_TRUE(client.ok());
  int series = 0;
  std::string last_pod;
  auto count = [&](Labels& labels) {
    ++series;
    last_pod = labels[1].value;
  };
  auto warnings = (*client)->StreamSeries({"good"}, count);
  ASSERT_TRUE(warnings.ok()) << warnings.error().message;
  EXPECT_EQ(*warnings, std::vector<std::string>{"partial"});
  EXPECT_EQ(series, 20000);
  EXPECT_EQ(last_pod, "pod-19999");
  auto bad_answer = (*client)->StreamSeries({"bad"}, count);
  ASSERT_FALSE(bad_answer.ok());
  EXPECT_EQ(bad_answer.error(),
            (core::Error{core::Code::kDataLoss, "malformed JSON: syntax error"}));
  auto error_answer = (*client)->StreamSeries({"error"}, count);
  ASSERT_FALSE(error_answer.ok());
  EXPECT_EQ(error_answer.error(), (core::Error{core::Code::kInvalidArgument, "bad_data: no"}));
  // Queries still work on the same client.
  EXPECT_EQ((*client)->Query("up").error().code, core::Code::kDataLoss);
}

TEST(ApiClientTest, TransportErrorsKeepTheirCodeAndNameTheEndpoint) {
  Fixture f(Options());
  f.http->next = core::Unavailable("connect 127.0.0.1:1: connection refused");
  auto r = f.client->Query("up");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kUnavailable);
  EXPECT_EQ(r.error().message, "Prometheus /api/v1/query: connect 127.0.0.1:1: connection refused");
  f.http->next = core::DeadlineExceeded("request timed out after 2200ms");
  EXPECT_EQ(f.client->Query("up").error().code, core::Code::kDeadlineExceeded);
}

TEST(ApiClientTest, RejectsABadUrl) {
  auto c = ApiClient::Create(Options("prom:9090"), std::make_shared<FakeHttp>());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, core::Code::kInvalidArgument);
  EXPECT_THAT(c.error().message, StartsWith("Prometheus URL \"prom:9090\": "));
}

}  // namespace
}  // namespace gpuscale::prom
