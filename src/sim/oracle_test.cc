#include "sim/oracle.h"

#include <gtest/gtest.h>

#include "sim/sim_test_util.h"

namespace gpuscale::sim {
namespace {

RequestRecord Req(double arrival) {
  RequestRecord r;
  r.arrival_s = arrival;
  r.prompt_tokens = 1;
  r.output_tokens = 1;
  return r;
}

// Steps of 100 ms, one sequence each: k simultaneous requests on one engine get TTFTs
// 0.1, 0.2, ..., so a 0.1 s TTFT SLO for all of them needs k replicas.
TEST(OracleTest, HandComputedIntervals) {
  Options o = testing::FlatOptions();
  o.slo_ttft = std::chrono::milliseconds(100);
  o.slo_target = 1.0;
  std::vector<RequestRecord> reqs = {Req(0), Req(0), Req(0), Req(65), Req(150), Req(150)};
  auto r = ComputeOracle(o, reqs);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->intervals.size(), 3u);
  EXPECT_EQ(r->intervals[0].replicas, 3);
  EXPECT_EQ(r->intervals[0].requests, 3);
  EXPECT_EQ(r->intervals[1].replicas, 1);
  EXPECT_EQ(r->intervals[2].replicas, 2);
  EXPECT_DOUBLE_EQ(r->intervals[2].start_s, 120);
  EXPECT_NEAR(r->gpu_hours, (3 + 1 + 2) * 60 / 3600.0, 1e-12);
}

TEST(OracleTest, TargetBelowOneNeedsFewer) {
  Options o = testing::FlatOptions();
  o.slo_ttft = std::chrono::milliseconds(100);
  o.slo_target = 0.5;  // 4 at once on 2 engines: 0.1, 0.1, 0.2, 0.2 -> half meet it
  std::vector<RequestRecord> reqs = {Req(0), Req(0), Req(0), Req(0)};
  EXPECT_DOUBLE_EQ(FixedPoolAttainment(o, reqs, 2), 0.5);
  EXPECT_DOUBLE_EQ(FixedPoolAttainment(o, reqs, 1), 0.25);
  auto r = ComputeOracle(o, reqs);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->intervals[0].replicas, 2);
}

TEST(OracleTest, EmptyIntervalsKeepOneReplicaAndCapHolds) {
  Options o = testing::FlatOptions();
  o.slo_ttft = std::chrono::milliseconds(100);
  o.slo_target = 1.0;
  std::vector<RequestRecord> reqs = {Req(130), Req(130), Req(130)};
  auto r = ComputeOracle(o, reqs, 2);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->intervals.size(), 3u);
  EXPECT_EQ(r->intervals[0].replicas, 1);
  EXPECT_EQ(r->intervals[1].replicas, 1);
  EXPECT_EQ(r->intervals[2].replicas, 2);  // 3 needed, capped
  EXPECT_FALSE(ComputeOracle(o, reqs, 0).ok());
}

}  // namespace
}  // namespace gpuscale::sim
