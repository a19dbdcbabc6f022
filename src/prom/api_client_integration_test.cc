// ApiClient against a real Prometheus (Debian's binary, started by test/support).
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/json_escape.h"
#include "http/server.h"
#include "http/tls_certs.h"
#include "prom/api.h"
#include "test/support/prometheus.h"

namespace gpuscale::prom {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

std::string LabelValue(const Labels& labels, std::string_view name) {
  for (const Label& l : labels) {
    if (l.name == name) return l.value;
  }
  return "";
}

class ApiClientIntegrationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = testing::PrometheusServer::Start({});
    ASSERT_TRUE(server.ok()) << server.error().message;
    server_ = std::move(*server).release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(server_, nullptr); }

  static std::unique_ptr<ApiClient> Client(ApiClientOptions o = {}) {
    if (o.url.empty()) o.url = server_->url();
    auto c = ApiClient::Create(std::move(o));
    EXPECT_TRUE(c.ok()) << c.error().message;
    return std::move(*c);
  }
  // Polls until Prometheus has scraped itself at least once.
  static QueryResult WaitForUp(ApiClient& client) {
    QueryResult last;
    testing::WaitFor(
        [&] {
          auto r = client.Query("up");
          if (r.ok()) last = std::move(*r);
          return r.ok() && !last.vector.empty();
        },
        20s, 100ms);
    return last;
  }

  static testing::PrometheusServer* server_;
};
testing::PrometheusServer* ApiClientIntegrationTest::server_ = nullptr;

TEST_F(ApiClientIntegrationTest, QueryUpReturnsTheSelfScrape) {
  auto client = Client();
  QueryResult up = WaitForUp(*client);
  ASSERT_EQ(up.type, ResultType::kVector);
  ASSERT_EQ(up.vector.size(), 1u);
  EXPECT_EQ(LabelValue(up.vector[0].metric, "job"), "prometheus");
  EXPECT_EQ(LabelValue(up.vector[0].metric, "instance"),
            "127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_EQ(up.vector[0].value, 1);
  EXPECT_GT(up.vector[0].timestamp, 1.6e9);

  auto scalar = client->Query("scalar(up) * 2");
  ASSERT_TRUE(scalar.ok()) << scalar.error().message;
  EXPECT_EQ(scalar->type, ResultType::kScalar);
  EXPECT_EQ(scalar->scalar_value, 2);
  auto special = client->Query("vector(1) / 0");
  ASSERT_TRUE(special.ok()) << special.error().message;
  EXPECT_EQ(special->vector.at(0).value, INFINITY);
  auto matrix = client->Query("up[10m]");
  ASSERT_TRUE(matrix.ok()) << matrix.error().message;
  EXPECT_EQ(matrix->type, ResultType::kMatrix);
  EXPECT_FALSE(matrix->matrix.at(0).values.empty());
}

TEST_F(ApiClientIntegrationTest, SeriesAndLabelsWork) {
  auto client = Client();
  WaitForUp(*client);
  auto series = client->Series({"up", "prometheus_build_info"});
  ASSERT_TRUE(series.ok()) << series.error().message;
  std::vector<std::string> names;
  for (const Labels& s : series->series) names.push_back(LabelValue(s, "__name__"));
  EXPECT_THAT(names, Contains("up"));
  EXPECT_THAT(names, Contains("prometheus_build_info"));

  auto labels = client->ListLabels();
  ASSERT_TRUE(labels.ok()) << labels.error().message;
  EXPECT_THAT(labels->names, Contains("__name__"));
  EXPECT_THAT(labels->names, Contains("job"));
  auto build_labels = client->ListLabels({"prometheus_build_info"});
  ASSERT_TRUE(build_labels.ok()) << build_labels.error().message;
  EXPECT_THAT(build_labels->names, Contains("goversion"));
}

TEST_F(ApiClientIntegrationTest, LongRequestsGoAsPostAndStillWork) {
  ApiClientOptions o;
  o.max_get_url_bytes = 64;
  auto client = Client(o);
  WaitForUp(*client);
  std::string query = "up{job=\"prometheus\"}";
  for (int i = 0; i < 200; ++i) query += " or up{job=\"other" + std::to_string(i) + "\"}";
  auto r = client->Query(query);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->vector.size(), 1u);
  auto series = client->Series({"{__name__=~\"up|prometheus_build_info\"}"});
  ASSERT_TRUE(series.ok()) << series.error().message;
  EXPECT_GE(series->series.size(), 2u);
}

TEST_F(ApiClientIntegrationTest, ABadQueryGivesPrometheusMessage) {
  auto r = Client()->Query("sum(");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kInvalidArgument);
  EXPECT_THAT(r.error().message, StartsWith("bad_data: invalid parameter \"query\": "));
  EXPECT_THAT(r.error().message, HasSubstr("parse error"));
  auto series = Client()->Series({"not a selector"});
  ASSERT_FALSE(series.ok());
  EXPECT_EQ(series.error().code, core::Code::kInvalidArgument);
  EXPECT_THAT(series.error().message, StartsWith("bad_data: "));
}

TEST_F(ApiClientIntegrationTest, ASlowQueryTimesOut) {
  // ~0.6 s of evaluation on an idle machine; the 50 ms bound ends it early either way: at
  // Prometheus (timeout=0.050) or at the HTTP deadline.
  auto client = Client();
  auto start = std::chrono::steady_clock::now();
  auto r = client->Query("count(max_over_time(vector(1)[3d:1s]))", std::nullopt, 50ms);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kDeadlineExceeded) << r.error().message;
  EXPECT_LT(elapsed, 5s);
}

TEST(ApiClientFailureTest, PrometheusDownIsUnavailable) {
  ApiClientOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  o.timeout = 5s;
  auto client = ApiClient::Create(o);
  ASSERT_TRUE(client.ok());
  auto r = (*client)->Query("up");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kUnavailable) << r.error().message;
  EXPECT_THAT(r.error().message, StartsWith("Prometheus /api/v1/query: "));
}

TEST(ApiClientFailureTest, AHangingPrometheusHitsTheDeadline) {
  // A listening socket that never accepts: connects succeed, answers never come.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ApiClientOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  o.timeout = 300ms;
  auto client = ApiClient::Create(o);
  ASSERT_TRUE(client.ok());
  auto start = std::chrono::steady_clock::now();
  auto r = (*client)->Series({"up"});
  auto elapsed = std::chrono::steady_clock::now() - start;
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kDeadlineExceeded) << r.error().message;
  EXPECT_GE(elapsed, 300ms);
  EXPECT_LT(elapsed, 3s);
}

// An HTTPS stand-in for Prometheus (the real one has no TLS config here) that requires a client
// certificate and echoes what arrived as labels, to prove the TLS options and headers are used.
TEST(ApiClientTlsTest, CaClientCertTokenAndHeadersReachAnHttpsServer) {
  std::string dir = testing::MakeTempDir("gpuscale-prom-tls-");
  auto ca = http::CreateCa();
  ASSERT_TRUE(ca.ok()) << ca.error().message;
  auto server_cert = http::IssueServerCert(*ca, {.ip_addresses = {"127.0.0.1"}});
  auto client_cert = http::IssueClientCert(*ca, {.common_name = "gpuscale-adapter"});
  ASSERT_TRUE(server_cert.ok() && client_cert.ok());
  ASSERT_TRUE(http::WritePemFiles(*ca, dir + "/ca.crt", dir + "/ca.key").ok());
  ASSERT_TRUE(http::WritePemFiles(*server_cert, dir + "/tls.crt", dir + "/tls.key").ok());
  ASSERT_TRUE(http::WritePemFiles(*client_cert, dir + "/client.crt", dir + "/client.key").ok());
  std::ofstream(dir + "/token") << "secret-token\n";

  http::ServerOptions server_options;
  server_options.tls = http::TlsServerOptions{dir + "/tls.crt", dir + "/tls.key", dir + "/ca.crt",
                                              /*require_client_cert=*/true};
  auto server = http::Server::Start(
      server_options, http::Sync([](const http::Request& r) {
        std::string labels =
            "{\"path\":" + core::JsonString(r.Path()) + ",\"authorization\":" +
            core::JsonString(std::string(r.headers.Get("Authorization").value_or(""))) +
            ",\"tenant\":" +
            core::JsonString(std::string(r.headers.Get("X-Scope-OrgID").value_or(""))) +
            ",\"client\":" +
            core::JsonString(r.peer_certificate ? r.peer_certificate->common_name : "") + "}";
        return http::Response::Json(
            200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":)" +
                     labels + R"(,"value":[1,"1"]}]}})");
      }));
  ASSERT_TRUE(server.ok()) << server.error().message;

  ApiClientOptions o;
  o.url = "https://127.0.0.1:" + std::to_string((*server)->port()) + "/prefix";
  o.ca_file = dir + "/ca.crt";
  o.cert_file = dir + "/client.crt";
  o.key_file = dir + "/client.key";
  o.bearer_token_file = dir + "/token";
  o.headers = {{"X-Scope-OrgID", "tenant-a"}};
  o.timeout = 5s;
  auto client = ApiClient::Create(o);
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto r = (*client)->Query("up");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->vector.size(), 1u);
  const Labels& got = r->vector[0].metric;
  EXPECT_EQ(LabelValue(got, "path"), "/prefix/api/v1/query");
  EXPECT_EQ(LabelValue(got, "authorization"), "Bearer secret-token");
  EXPECT_EQ(LabelValue(got, "tenant"), "tenant-a");
  EXPECT_EQ(LabelValue(got, "client"), "gpuscale-adapter");

  // Without the CA the server is not trusted; skipping verification is an explicit choice.
  ApiClientOptions untrusted = o;
  untrusted.ca_file.clear();
  auto bad = (*ApiClient::Create(untrusted))->Query("up");
  EXPECT_FALSE(bad.ok());
  ApiClientOptions insecure = untrusted;
  insecure.insecure_skip_verify = true;
  auto skipped = (*ApiClient::Create(insecure))->Query("up");
  EXPECT_TRUE(skipped.ok()) << skipped.error().message;
  (*server)->Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gpuscale::prom
