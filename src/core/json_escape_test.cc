#include "core/json_escape.h"

#include <gtest/gtest.h>

namespace gpuscale::core {
namespace {

TEST(JsonEscapeTest, EscapesControlAndQuotes) {
  EXPECT_EQ(JsonString("plain"), "\"plain\"");
  EXPECT_EQ(JsonString("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonString("\n\t\r\b\f"), R"("\n\t\r\b\f")");
  EXPECT_EQ(JsonString(std::string("\x01\x1f", 2)), R"("\u0001\u001f")");
  EXPECT_EQ(JsonString("h\xc3\xa9"), "\"h\xc3\xa9\"");
}

}  // namespace
}  // namespace gpuscale::core
