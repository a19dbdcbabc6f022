#include "core/log.h"

#include <gtest/gtest.h>

namespace gpuscale::core {
namespace {

TEST(LogTest, VerbosityGatesV) {
  ASSERT_TRUE(ConfigureLogging({.verbosity = 4}).ok());
  EXPECT_TRUE(V(4));
  EXPECT_FALSE(V(5));
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::debug);
  ASSERT_TRUE(ConfigureLogging({.verbosity = 0}).ok());
  EXPECT_FALSE(V(1));
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::info);
}

TEST(LogTest, RejectsUnknownFormatAndLevel) {
  Status s = ConfigureLogging({.format = "xml"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "--log-format: expected text or json, found 'xml'");
  s = ConfigureLogging({.level = "loud"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("found 'loud'"), std::string::npos);
}

TEST(LogTest, JsonLinesAreEscaped) {
  ASSERT_TRUE(ConfigureLogging({.format = "json"}).ok());
  testing::internal::CaptureStderr();
  spdlog::info("say \"hi\"\n");
  spdlog::default_logger()->flush();
  std::string out = testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find(R"("level":"info","msg":"say \"hi\"\n"})"), std::string::npos) << out;
  ASSERT_TRUE(ConfigureLogging({}).ok());
}

}  // namespace
}  // namespace gpuscale::core
