// The `gpuscale hpa recommend|replay` code path on the testdata files.
#include "hpa/cli.h"

#include <gtest/gtest.h>

#include <sstream>

namespace gpuscale::hpa {
namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

int64_t IntField(const std::string& json, const std::string& key) {
  const std::string k = "\"" + key + "\":";
  size_t p = json.find(k);
  EXPECT_NE(p, std::string::npos) << key;
  return std::stoll(json.substr(p + k.size()));
}

TEST(CliTest, RecommendPrintsTheDecision) {
  std::ostringstream out;
  core::Status s = RunRecommend({"testdata/gpu-hpa.yaml", "testdata/gpu-state.json", {}}, out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  // (95 + 91) / 2 = 93 against 60 → ceil(1.55 * 2) = 4.
  EXPECT_EQ(
      out.str(),
      R"({"time":"2025-01-01T00:10:00Z","hpa":"llm/vllm","currentReplicas":2,)"
      R"("desiredReplicas":4,"rescale":true,"reason":"pods metric DCGM_FI_DEV_GPU_UTIL above target",)"
      R"("metricReplicas":4,"stabilizedReplicas":4,"limitedBy":null,)"
      R"("metrics":[{"type":"Pods","name":"pods metric DCGM_FI_DEV_GPU_UTIL","valid":true,)"
      R"("replicas":4,"current":{"averageValue":"93"},)"
      R"("target":{"type":"AverageValue","averageValue":"60"}}],)"
      R"("conditions":[{"type":"AbleToScale","status":"True","reason":"SucceededRescale",)"
      R"("message":"the HPA controller was able to update the target scale to 4",)"
      R"("lastTransitionTime":"2025-01-01T00:10:00Z"},)"
      R"({"type":"ScalingActive","status":"True","reason":"ValidMetricFound",)"
      R"("message":"the HPA was able to successfully calculate a replica count from pods metric DCGM_FI_DEV_GPU_UTIL",)"
      R"("lastTransitionTime":"2025-01-01T00:10:00Z"},)"
      R"({"type":"ScalingLimited","status":"False","reason":"DesiredWithinRange",)"
      R"("message":"the desired count is within the acceptable range",)"
      R"("lastTransitionTime":"2025-01-01T00:10:00Z"}],)"
      R"("events":[{"type":"Normal","reason":"SuccessfulRescale",)"
      R"("message":"New size: 4; reason: pods metric DCGM_FI_DEV_GPU_UTIL above target"}],)"
      R"("lastScaleTime":"2025-01-01T00:10:00Z","error":null})"
      "\n");
}

TEST(CliTest, ReplayFollowsPoliciesAndWindows) {
  std::ostringstream out;
  core::Status s = RunReplay({"testdata/gpu-hpa.yaml", "testdata/gpu-states.jsonl", {}}, out);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), 10u);
  // Up: 2→4→7, then maxReplicas 8. Down: held by the 60 s window until the 11 recommended at
  // 00:10:30 leaves it, then one pod per 30 s (the user's scaleDown policy).
  const std::vector<int64_t> want = {4, 7, 8, 8, 8, 8, 7, 7, 6, 6};
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(IntField(lines[i], "desiredReplicas"), want[i]) << "sync " << i << ": " << lines[i];
  }
  EXPECT_NE(lines[2].find("\"reason\":\"TooManyReplicas\""), std::string::npos);
  EXPECT_NE(lines[3].find("\"reason\":\"ScaleDownStabilized\""), std::string::npos);
  EXPECT_NE(lines[6].find("\"reason\":\"ScaleDownLimit\""), std::string::npos);
}

TEST(CliTest, BadInputsReportTheirPlace) {
  std::ostringstream out;
  core::Status s = RunRecommend({"testdata/gpu-hpa.yaml", "testdata/missing.json", {}}, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("testdata/missing.json"), std::string::npos);
  s = RunReplay({"testdata/gpu-state.json", "testdata/gpu-states.jsonl", {}}, out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("testdata/gpu-state.json:"), std::string::npos)
      << s.error().message;
  EXPECT_TRUE(out.str().empty());
}

}  // namespace
}  // namespace gpuscale::hpa
