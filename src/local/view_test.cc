#include "local/view.h"

#include <gtest/gtest.h>

namespace gpuscale::local {
namespace {

UpSnapshot Sample() {
  UpSnapshot s;
  s.time = core::Timestamp(std::chrono::seconds(1700000000));
  s.uptime_s = 42;
  s.hpa_name = "gemma-server-gpu-hpa";
  s.deployment = "vllm-gemma-deployment";
  s.min_replicas = 1;
  s.max_replicas = 5;
  s.current_replicas = 2;
  s.ready_replicas = 1;
  s.desired_replicas = 5;
  s.metrics.push_back({"gpu_utilization_percent", "20", 20, 97.5, 5, ""});
  ReplicaView r;
  r.pod = "vllm-gemma-deployment-0";
  r.phase = Phase::kReady;
  r.port = 40001;
  s.replicas.push_back(r);
  s.conditions.push_back(
      "AbleToScale True SucceededRescale: the HPA controller was able to "
      "update the target scale to 5");
  s.request_rate = 1;
  s.ttft_p50_s = 0.0123;
  s.load = "looper";
  return s;
}

TEST(ViewTest, TerminalLooksLikeDescribeHpaAndGetDeploy) {
  std::string out =
      RenderTerminal(Sample(), {{core::Timestamp(std::chrono::seconds(1700000000)), "Normal",
                                 "SuccessfulRescale", "hpa/gemma-server-gpu-hpa", "New size: 5"}});
  EXPECT_NE(out.find("\"gpu_utilization_percent\" on pods:  97.50 / 20   (asks for 5)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("Deployment pods:   2 current / 5 desired (1 ready)"), std::string::npos);
  EXPECT_NE(out.find("vllm-gemma-deployment-0           1/1     Ready"), std::string::npos) << out;
  EXPECT_NE(out.find("22:13:20  Normal  SuccessfulRescale"), std::string::npos) << out;
  EXPECT_NE(out.find("TTFT p50 12ms  p99 -"), std::string::npos) << out;
}

TEST(ViewTest, JsonCarriesTheChartsData) {
  std::string json = EncodeSnapshotJson(Sample());
  EXPECT_NE(json.find("\"current_replicas\":2,\"ready_replicas\":1,\"desired_replicas\":5"),
            std::string::npos);
  EXPECT_NE(json.find("{\"name\":\"gpu_utilization_percent\",\"target\":\"20\",\"target_value\":"
                      "20,\"current\":97.5,\"proposal\":5,\"error\":\"\"}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"ttft_p50_s\":0.0123,\"ttft_p99_s\":null"), std::string::npos) << json;
}

TEST(ViewTest, PageIsSelfContained) {
  std::string_view page = UiPageHtml();
  EXPECT_NE(page.find("/api/state"), std::string_view::npos);
  EXPECT_EQ(page.find("http://"), std::string_view::npos);
  EXPECT_EQ(page.find("https://"), std::string_view::npos);
}

}  // namespace
}  // namespace gpuscale::local
