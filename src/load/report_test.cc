#include "load/report.h"

#include <gtest/gtest.h>

namespace gpuscale::load {
namespace {

Report Sample(std::vector<RequestRecord>* rs) {
  for (int i = 0; i < 20; ++i) {
    RequestRecord r;
    r.index = i;
    r.scheduled_s = i * 0.5;
    r.sent_s = i * 0.5 + 0.0001;
    r.ttft_s = 0.05;
    r.e2e_s = 0.3;
    r.output_tokens = 6;
    r.itl_s = {0.05f, 0.05f, 0.05f, 0.05f, 0.05f};
    r.status = 200;
    rs->push_back(r);
  }
  (*rs)[3].error = ErrorKind::kTimeout;
  (*rs)[3].error_message = "deadline \"exceeded\"\nafter 1s";
  Report rep;
  rep.title = "test <run>";
  rep.command = "gpuscale load run --rate 2";
  rep.settings = {{"rate", "2"}};
  rep.targets = {"http://127.0.0.1:1/v1/chat/completions"};
  rep.summary = Summarize(*rs, {}, 10);
  rep.series = Series(*rs, 1, 10);
  rep.requests = rs;
  rep.notes = {"note & attribution"};
  return rep;
}

TEST(ReportTest, JsonHasSummarySeriesAndRequests) {
  std::vector<RequestRecord> rs;
  Report rep = Sample(&rs);
  std::string j = ReportJson(rep, true);
  EXPECT_NE(j.find("\"requests\":20"), std::string::npos);
  EXPECT_NE(j.find("\"errors\":{\"timeout\":1}"), std::string::npos);
  EXPECT_NE(j.find("\"series\":[{\"start_s\":0,\"sent\":2"), std::string::npos);
  EXPECT_NE(j.find("\"error_message\":\"deadline \\\"exceeded\\\"\\nafter 1s\""),
            std::string::npos);
  EXPECT_EQ(ReportJson(rep, false).find("\"itl_s\":["), std::string::npos);
}

TEST(ReportTest, CsvHasOneRowPerRequest) {
  std::vector<RequestRecord> rs;
  Report rep = Sample(&rs);
  std::string csv = RequestsCsv(rs);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 21);
  EXPECT_EQ(csv.rfind("index,target,scheduled_s,sent_s,send_lag_s,ttft_s", 0), 0u);
  EXPECT_NE(csv.find(",timeout,\"deadline \"\"exceeded\"\"after 1s\""), std::string::npos);
}

TEST(ReportTest, HtmlIsSelfContainedWithCharts) {
  std::vector<RequestRecord> rs;
  Report rep = Sample(&rs);
  rep.sweep = {{1, rep.summary}, {2, rep.summary}};
  std::string h = ReportHtml(rep);
  EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(h.find("test &lt;run&gt;"), std::string::npos);
  EXPECT_GE(std::count_if(h.begin(), h.end(), [](char) { return false; }), 0);
  std::size_t charts = 0;
  for (std::size_t p = 0; (p = h.find("<svg", p)) != std::string::npos; ++p) ++charts;
  EXPECT_EQ(charts, 4u);
  EXPECT_NE(h.find("<circle"), std::string::npos);
  EXPECT_NE(h.find("<polyline"), std::string::npos);
  EXPECT_NE(h.find("note &amp; attribution"), std::string::npos);
  EXPECT_EQ(h.find("<script src"), std::string::npos);
  EXPECT_EQ(h.find("https://"), std::string::npos);
  EXPECT_EQ(h.find("nan"), std::string::npos);
}

TEST(ReportTest, SummaryTextShowsErrors) {
  std::vector<RequestRecord> rs;
  Report rep = Sample(&rs);
  std::string t = SummaryText(rep.summary);
  EXPECT_NE(t.find("20 sent, 19 succeeded, 1 failed"), std::string::npos) << t;
  EXPECT_NE(t.find("errors: timeout=1"), std::string::npos) << t;
}

}  // namespace
}  // namespace gpuscale::load
