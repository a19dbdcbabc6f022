#include "test/support/prometheus.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace gpuscale::testing {
namespace {

using ::testing::HasSubstr;

TEST(PrometheusServerTest, StartsReadyAndSelfScrapes) {
  auto server = PrometheusServer::Start({});
  ASSERT_TRUE(server.ok()) << server.error().message;
  auto ready = RawHttpGet((*server)->port(), "/-/ready", std::chrono::milliseconds(5000));
  ASSERT_TRUE(ready.ok()) << ready.error().message;
  EXPECT_EQ(ready->first, 200);
  std::string body;
  bool scraped = WaitFor(
      [&] {
        auto r = RawHttpGet((*server)->port(), "/api/v1/query?query=up",
                            std::chrono::milliseconds(5000));
        body = r.ok() ? r->second : "";
        return body.find("\"job\":\"prometheus\"") != std::string::npos;
      },
      std::chrono::milliseconds(20000), std::chrono::milliseconds(100));
  EXPECT_TRUE(scraped) << body;
  std::string dir = (*server)->dir();
  server->reset();
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(PrometheusServerTest, ReportsABinaryThatIsMissing) {
  PrometheusServer::Options options;
  options.binary = "/nonexistent/prometheus";
  unsetenv("PROMETHEUS");
  auto server = PrometheusServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code, core::Code::kNotFound);
  EXPECT_THAT(server.error().message, HasSubstr("/nonexistent/prometheus"));
}

TEST(PrometheusServerTest, ReportsABadConfigWithTheLog) {
  PrometheusServer::Options options;
  options.scrape_configs = "  - job_name: [not, a, string]\n";
  options.ready_timeout = std::chrono::milliseconds(15000);
  auto server = PrometheusServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.error().code, core::Code::kUnavailable);
  EXPECT_THAT(server.error().message, HasSubstr("did not become ready"));
  EXPECT_THAT(server.error().message, HasSubstr("prometheus.yml"));  // the log names the config
}

}  // namespace
}  // namespace gpuscale::testing
