#include "sim/report.h"

#include <gtest/gtest.h>

namespace gpuscale::sim {
namespace {

ReportInput Sample() {
  ReportInput in;
  in.load = "trace t.csv";
  in.attribution = "Trace: CC-BY-4.0";
  in.seed = 9;
  Run run;
  run.name = "gpu-hpa.yaml";
  run.result.syncs.push_back(SyncSample{15, 1, 2, 1, {{"gpu_utilization_percent", 40}}});
  run.result.syncs.push_back(SyncSample{30, 2, 2, 2, {{"gpu_utilization_percent", 20}}});
  run.result.events.push_back(ScaleEvent{15, 1, 2, "pods metric above target"});
  RequestRecord q;
  q.arrival_s = 1;
  q.ttft_s = 0.25;
  q.met_slo = true;
  run.result.requests.push_back(q);
  run.result.gpu_hours = 0.5;
  run.summary = Summarize(run.result);
  in.runs.push_back(run);
  OracleResult o;
  o.intervals.push_back(OracleInterval{0, 1, 1});
  o.gpu_hours = 1.0 / 60;
  in.oracle = o;
  return in;
}

TEST(ReportTest, Summary) {
  std::string s = FormatSummary(Sample());
  EXPECT_NE(s.find("gpu-hpa.yaml"), std::string::npos);
  EXPECT_NE(s.find("100.00"), std::string::npos);  // SLO attainment
  EXPECT_NE(s.find("oracle"), std::string::npos);
  EXPECT_NE(s.find("CC-BY-4.0"), std::string::npos);
}

TEST(ReportTest, Json) {
  std::string j = FormatJson(Sample(), true);
  EXPECT_NE(j.find("\"slo_attainment\":1"), std::string::npos);
  EXPECT_NE(j.find("\"desired\":2"), std::string::npos);
  EXPECT_NE(j.find("\"gpu_utilization_percent\":40"), std::string::npos);
  EXPECT_NE(j.find("\"reason\":\"pods metric above target\""), std::string::npos);
  EXPECT_NE(j.find("\"ttft_s\":0.25"), std::string::npos);
  EXPECT_NE(j.find("\"oracle\":{"), std::string::npos);
  EXPECT_EQ(FormatJson(Sample(), false).find("\"requests\":["), std::string::npos);
}

TEST(ReportTest, HtmlIsSelfContained) {
  std::string h = FormatHtml(Sample());
  EXPECT_NE(h.find("<svg"), std::string::npos);
  EXPECT_NE(h.find("Replicas"), std::string::npos);
  EXPECT_NE(h.find("<circle"), std::string::npos);
  EXPECT_EQ(h.find("<script"), std::string::npos);
  EXPECT_EQ(h.find("src="), std::string::npos);
  EXPECT_EQ(h.find("href="), std::string::npos);
  EXPECT_NE(h.find("CC-BY-4.0"), std::string::npos);
}

}  // namespace
}  // namespace gpuscale::sim
