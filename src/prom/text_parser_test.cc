#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "prom/exposition.h"

namespace gpuscale::prom {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ParseError(std::string_view text) {
  auto r = ParseText(text);
  if (r.ok()) return "(parsed)";
  EXPECT_EQ(r.error().code, core::Code::kInvalidArgument);
  return r.error().message;
}

// Equality that treats NaN as equal to NaN (for round trips).
bool SameFamilies(const std::vector<MetricFamily>& a, const std::vector<MetricFamily>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].help != b[i].help || a[i].type != b[i].type ||
        a[i].samples.size() != b[i].samples.size()) {
      return false;
    }
    for (std::size_t j = 0; j < a[i].samples.size(); ++j) {
      const Sample& x = a[i].samples[j];
      const Sample& y = b[i].samples[j];
      bool same_value = (std::isnan(x.value) && std::isnan(y.value)) ||
                        (x.value == y.value && std::signbit(x.value) == std::signbit(y.value));
      if (x.name != y.name || x.labels != y.labels || !same_value ||
          x.timestamp_ms != y.timestamp_ms) {
        return false;
      }
    }
  }
  return true;
}

// Every testdata/text/*.prom has either a .out (the parse re-rendered) or a .err (the exact
// error). GPUSCALE_UPDATE_GOLDEN=1 rewrites them from the current code (review the diff).
TEST(TextParserGoldenTest, MatchesGoldenFiles) {
  bool update = std::getenv("GPUSCALE_UPDATE_GOLDEN") != nullptr;
  int checked = 0;
  for (const auto& entry : fs::directory_iterator("testdata/text")) {
    if (entry.path().extension() != ".prom") continue;
    SCOPED_TRACE(entry.path().string());
    fs::path out_path = fs::path(entry.path()).replace_extension(".out");
    fs::path err_path = fs::path(entry.path()).replace_extension(".err");
    auto parsed = ParseText(ReadFile(entry.path()));
    std::string got = parsed.ok() ? Render(*parsed) : parsed.error().message + "\n";
    fs::path want_path = parsed.ok() ? out_path : err_path;
    if (update) std::ofstream(want_path, std::ios::binary) << got;
    ASSERT_TRUE(fs::exists(want_path)) << "unexpected " << (parsed.ok() ? "success" : got);
    EXPECT_EQ(got, ReadFile(want_path));
    if (parsed.ok()) {
      auto again = ParseText(got);
      ASSERT_TRUE(again.ok()) << again.error().message;
      EXPECT_TRUE(SameFamilies(*parsed, *again)) << "re-rendered text parses differently";
    }
    ++checked;
  }
  EXPECT_GE(checked, 30);
}

TEST(TextParserTest, ParsesFamiliesSamplesLabelsAndTimestamps) {
  auto r = ParseText(
      "# HELP c Requests.\n# TYPE c counter\nc{code=\"200\",path=\"/a\"} 10 1700000000000\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 1u);
  const MetricFamily& f = (*r)[0];
  EXPECT_EQ(f.name, "c");
  EXPECT_EQ(f.help, "Requests.");
  EXPECT_EQ(f.type, MetricType::kCounter);
  ASSERT_EQ(f.samples.size(), 1u);
  EXPECT_EQ(f.samples[0].labels, (Labels{{"code", "200"}, {"path", "/a"}}));
  EXPECT_EQ(f.samples[0].value, 10);
  EXPECT_EQ(f.samples[0].timestamp_ms, 1700000000000);
}

TEST(TextParserTest, AcceptsGoFloatSpellings) {
  auto r = ParseText(
      "a NaN\na nan\na +Inf\na -inf\na Infinity\na -INFINITY\na 1E3\na .5\n"
      "a 5.\na +7\na 1e-400\na 4.9e-324\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& s = (*r)[0].samples;
  ASSERT_EQ(s.size(), 12u);
  EXPECT_TRUE(std::isnan(s[0].value));
  EXPECT_TRUE(std::isnan(s[1].value));
  EXPECT_EQ(s[2].value, INFINITY);
  EXPECT_EQ(s[3].value, -INFINITY);
  EXPECT_EQ(s[4].value, INFINITY);
  EXPECT_EQ(s[5].value, -INFINITY);
  EXPECT_EQ(s[6].value, 1000);
  EXPECT_EQ(s[7].value, 0.5);
  EXPECT_EQ(s[8].value, 5);
  EXPECT_EQ(s[9].value, 7);
  EXPECT_EQ(s[10].value, 0);
  EXPECT_EQ(s[11].value, 4.9e-324);
}

TEST(TextParserTest, RejectsSpellingsGoRejects) {
  for (const char* v :
       {"+nan", "-NaN", "infin", "0x10", "0x1p3", "1_0", "1e", "e1", ".", "--1", "1..2", "nan1"}) {
    EXPECT_THAT(ParseError(std::string("a ") + v + "\n"), ::testing::HasSubstr("expected a number"))
        << v;
  }
}

TEST(TextParserTest, UnescapesLabelValuesAndHelp) {
  auto r = ParseText("# HELP m a\\\\b\\nc \\q\nm{k=\"x\\\"y\\\\z\\nw\\q\"} 1\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].help, "a\\b\nc \\q");
  EXPECT_EQ((*r)[0].samples[0].labels[0].value, "x\"y\\z\nw\\q");
}

TEST(TextParserTest, GroupsHistogramAndSummarySuffixes) {
  auto r = ParseText(
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n"
      "# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\ns_bucket 1\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].samples.size(), 3u);
  EXPECT_EQ((*r)[1].samples.size(), 3u);
  // A summary has no buckets: s_bucket is a family of its own.
  EXPECT_EQ((*r)[2].name, "s_bucket");
  EXPECT_EQ((*r)[2].type, MetricType::kUntyped);
}

TEST(TextParserTest, CountersDoNotAbsorbSuffixedSamples) {
  auto r = ParseText("# TYPE c counter\nc 1\nc_sum 2\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].name, "c_sum");
}

TEST(TextParserTest, ErrorsNameLineColumnExpectedAndFound) {
  EXPECT_EQ(ParseError("a 1\nb 2\nfoo{bar} 1\n"),
            "line 3:8: expected '=' after label name \"bar\", found '}'");
  EXPECT_EQ(ParseError("m{a=\"b\" c=\"d\"} 1"),
            "line 1:9: expected ',' or '}' after label \"a\", found 'c'");
  EXPECT_EQ(ParseError("m{a=\"b\"} x"), "line 1:10: expected a number for \"m\", found \"x\"");
  EXPECT_EQ(ParseError("m{\x01} 1"), "line 1:3: expected label name or '}', found '\\x01'");
}

TEST(TextParserTest, EmptyInputAndMissingFinalNewline) {
  auto empty = ParseText("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto r = ParseText("m 1");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].samples[0].value, 1);
}

TEST(TextParserTest, RoundTripsWriterOutput) {
  Histogram h({0.1, 1});
  h.Observe(0.05);
  MetricFamily hist{"lat", "Latency \\ with\nnewline.", MetricType::kHistogram, {}};
  h.AppendSamples("lat", {{"pod", "a\"b"}}, &hist.samples);
  std::vector<MetricFamily> families = {
      {"c", "", MetricType::kCounter, {{"c", {{"x", "\n"}}, 1.5e300, -1}}},
      hist,
      {"g", "G", MetricType::kGauge, {{"g", {}, -0.0, std::nullopt}, {"g", {}, NAN, 5}}},
  };
  auto r = ParseText(Render(families));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(SameFamilies(*r, families));
}

}  // namespace
}  // namespace gpuscale::prom
