#include "test/support/yaml_json.h"

#include <gtest/gtest.h>

namespace gpuscale::testing {
namespace {

TEST(YamlDocumentsToJson, ResolvesPlainScalarsAndKeepsQuotedOnesStrings) {
  auto docs = YamlDocumentsToJson(R"(# leading comment
---
kind: ConfigMap
n: 42
neg: -7
f: 1.5
t: true
nil: ~
empty:
q: "42"
s: '0.5'
word: gemma-server
list: [a, 1, false]
block: |
  line 1
  true
)",
                                  "test.yaml");
  ASSERT_TRUE(docs.ok()) << docs.error().ToString();
  ASSERT_EQ(docs->size(), 1u);
  EXPECT_EQ((*docs)[0],
            R"({"kind":"ConfigMap","n":42,"neg":-7,"f":1.5E0,"t":true,"nil":null,"empty":null,)"
            R"("q":"42","s":"0.5","word":"gemma-server","list":["a",1,false],)"
            R"("block":"line 1\ntrue\n"})");
}

TEST(YamlDocumentsToJson, SkipsEmptyDocumentsAndKeepsOrder) {
  auto docs = YamlDocumentsToJson("---\n# only a comment\n---\na: 1\n---\n---\nb: 2\n", "s.yaml");
  ASSERT_TRUE(docs.ok()) << docs.error().ToString();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0], R"({"a":1})");
  EXPECT_EQ((*docs)[1], R"({"b":2})");
}

TEST(YamlDocumentsToJson, ErrorsNameTheSourceAndLine) {
  auto bad = YamlDocumentsToJson("a: 1\nb: [1, 2\n", "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("bad.yaml:"), std::string::npos) << bad.error().message;
  auto dup = YamlDocumentsToJson("a: 1\na: 2\n", "dup.yaml");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message.find("duplicate key 'a'"), std::string::npos);
}

}  // namespace
}  // namespace gpuscale::testing
