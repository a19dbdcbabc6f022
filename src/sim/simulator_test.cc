#include "sim/simulator.h"

#include <gtest/gtest.h>

#include "sim/sim_test_util.h"

namespace gpuscale::sim {
namespace {

using testing::At;
using testing::FlatOptions;
using testing::ListArrivals;
using testing::TestHpa;

const SyncSample* SyncAt(const Result& r, double t) {
  for (const SyncSample& s : r.syncs) {
    if (std::abs(s.time_s - t) < 1e-9) return &s;
  }
  return nullptr;
}

TEST(SimulatorTest, SimultaneousArrivalsAreServedInArrivalOrder) {
  Options o = FlatOptions();
  ListArrivals arrivals({At(0), At(0), At(0), At(1.0)});
  auto r = Simulate(o, TestHpa("gpu-hpa.yaml"), arrivals);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->requests.size(), 4u);
  // One sequence per 100 ms step, FCFS: 0.1, 0.2, 0.3; the late one finds the engine idle.
  EXPECT_NEAR(r->requests[0].ttft_s, 0.1, 1e-9);
  EXPECT_NEAR(r->requests[1].ttft_s, 0.2, 1e-9);
  EXPECT_NEAR(r->requests[2].ttft_s, 0.3, 1e-9);
  EXPECT_NEAR(r->requests[3].ttft_s, 0.1, 1e-9);
  EXPECT_NEAR(r->requests[2].queue_s, 0.2, 1e-9);
  EXPECT_NEAR(r->end_s, 1.1, 1e-9);
}

TEST(SimulatorTest, InterTokenLatencyAndE2e) {
  Options o = FlatOptions();
  ListArrivals arrivals({At(0, 1, 5)});
  auto r = Simulate(o, TestHpa("gpu-hpa.yaml"), arrivals);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->requests.size(), 1u);
  EXPECT_NEAR(r->requests[0].ttft_s, 0.1, 1e-9);
  EXPECT_NEAR(r->requests[0].itl_s, 0.1, 1e-9);
  EXPECT_NEAR(r->requests[0].e2e_s, 0.5, 1e-9);
  EXPECT_TRUE(r->requests[0].met_slo);
}

// Load keeps the GPU busy from t=40 s. Collect every 1 s, scrape every 15 s, rule every 30 s,
// sync every 15 s, all from 0: collect at 41 sees it, the scrape at 45, the rule at 60, so the
// sync at 45 still sees 0 and the one at 60 sees 100 % and scales up.
TEST(SimulatorTest, MetricsPipelineDelay) {
  Options o = FlatOptions();
  ListArrivals arrivals({At(40, 1, 400)});  // 40 s of steps: busy 40..80
  auto r = Simulate(o, TestHpa("gpu-hpa.yaml"), arrivals);
  ASSERT_TRUE(r.ok());
  const SyncSample* s45 = SyncAt(*r, 45);
  const SyncSample* s60 = SyncAt(*r, 60);
  ASSERT_NE(s45, nullptr);
  ASSERT_NE(s60, nullptr);
  EXPECT_DOUBLE_EQ(s45->metrics.at(std::string(kGpuMetric)), 0.0);
  EXPECT_NEAR(s60->metrics.at(std::string(kGpuMetric)), 100.0, 1e-6);
  ASSERT_FALSE(r->events.empty());
  EXPECT_DOUBLE_EQ(r->events[0].time_s, 60.0);
  EXPECT_EQ(r->events[0].from, 1);
  EXPECT_EQ(r->events[0].to, 5);  // 100 / 20 = 5 pods, within +4 per 15 s
}

TEST(SimulatorTest, WaitingQueueReachesTheHpa) {
  // One sequence per step: of five requests at 10 s (20 s of steps each) one runs and four wait
  // when Prometheus scrapes at 15 s; the recommended HPA scales on the queue (4 / 5 per pod is
  // under target, 4 > 5 * 1.1 is not: no scale) and on nothing else.
  Options o = FlatOptions();
  ListArrivals arrivals(
      {At(10, 1, 200), At(10, 1, 200), At(10, 1, 200), At(10, 1, 200), At(10, 1, 200)});
  auto r = Simulate(o, TestHpa("recommended-hpa.yaml"), arrivals);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const SyncSample* s15 = SyncAt(*r, 15);
  ASSERT_NE(s15, nullptr);
  EXPECT_DOUBLE_EQ(s15->metrics.at(std::string(kRunningMetric)), 1.0);
  EXPECT_DOUBLE_EQ(s15->metrics.at(std::string(kWaitingMetric)), 4.0);
  EXPECT_TRUE(r->events.empty());

  // Eight waiting at once is over 5 * 1.1: ceil(1 * 8 / 5) = 2 pods at the first sync that sees it.
  std::vector<load::Arrival> nine(9, At(10, 1, 200));
  ListArrivals more(nine);
  r = Simulate(o, TestHpa("recommended-hpa.yaml"), more);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->events.empty());
  EXPECT_DOUBLE_EQ(r->events[0].time_s, 15.0);
  EXPECT_EQ(r->events[0].to, 2);
}

TEST(SimulatorTest, ShorterRuleIntervalSeesLoadSooner) {
  Options o = FlatOptions();
  o.rule_interval = std::chrono::seconds(15);
  ListArrivals arrivals({At(40, 1, 400)});
  auto r = Simulate(o, TestHpa("gpu-hpa.yaml"), arrivals);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->events.empty());
  EXPECT_DOUBLE_EQ(r->events[0].time_s, 45.0);  // collect 41, scrape 45, rule 45, sync 45
}

// Start-up = scheduling 2 + pull 10 + load 20 + readiness 3 = 35 s: pods created at 60 are
// ready at 95, so the sync at 90 sees 1 ready of 5, the one at 105 all 5.
TEST(SimulatorTest, PodStartUp) {
  Options o = FlatOptions();
  ListArrivals arrivals({At(40, 1, 1000)});  // busy 40..140
  auto r = Simulate(o, TestHpa("gpu-hpa.yaml"), arrivals);
  ASSERT_TRUE(r.ok());
  const SyncSample* s90 = SyncAt(*r, 90);
  const SyncSample* s105 = SyncAt(*r, 105);
  ASSERT_NE(s90, nullptr);
  ASSERT_NE(s105, nullptr);
  EXPECT_EQ(s90->current, 5);
  EXPECT_EQ(s90->ready, 1);
  EXPECT_EQ(s105->ready, 5);
  EXPECT_EQ(r->max_replicas, 5);
}

TEST(SimulatorTest, GpuHoursCountPodLifetimes) {
  Options o = FlatOptions();
  o.initial_replicas = 2;
  o.profile.step_overhead_s = 0.2;
  ListArrivals arrivals({At(0, 1, 18000)});  // one pod busy for 3600 s
  hpa::HpaSpec spec = TestHpa("gpu-hpa.yaml");
  spec.min_replicas = 2;  // pinned at 2
  spec.max_replicas = 2;
  auto r = Simulate(o, spec, arrivals);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(r->end_s, 3600.0, 1e-6);
  EXPECT_TRUE(r->events.empty());
  EXPECT_NEAR(r->gpu_hours, 2.0, 1e-6);
}

TEST(SimulatorTest, DeterministicForASeed) {
  Options o = FlatOptions();
  o.profile = *engine::FindProfile("gemma-3-1b-it-l4");
  o.engine = {};
  o.image_pull = {DurationDist::Kind::kUniform, 50, 110};
  o.router = RouterKind::kLeastLoaded;
  auto run = [&](std::uint64_t seed) {
    o.seed = seed;
    auto arrivals = load::MakePoissonArrivals(20, core::Rng(7));
    o.horizon = std::chrono::minutes(5);
    auto r = Simulate(o, TestHpa("requests-hpa.yaml"), *arrivals);
    EXPECT_TRUE(r.ok());
    return std::move(*r);
  };
  Result a = run(3), b = run(3), c = run(4);
  ASSERT_GT(a.requests.size(), 5000u);
  ASSERT_FALSE(a.events.empty());
  ASSERT_EQ(a.requests.size(), b.requests.size());
  for (std::size_t i = 0; i < a.requests.size(); ++i) {
    ASSERT_EQ(a.requests[i].ttft_s, b.requests[i].ttft_s) << i;
    ASSERT_EQ(a.requests[i].e2e_s, b.requests[i].e2e_s) << i;
  }
  ASSERT_EQ(a.syncs.size(), b.syncs.size());
  for (std::size_t i = 0; i < a.syncs.size(); ++i) {
    ASSERT_EQ(a.syncs[i].ready, b.syncs[i].ready) << i;
    ASSERT_EQ(a.syncs[i].metrics, b.syncs[i].metrics) << i;
  }
  EXPECT_EQ(a.gpu_hours, b.gpu_hours);
  EXPECT_NE(a.gpu_hours, c.gpu_hours);  // other start-up draws
}

TEST(SimulatorTest, HorizonExcludesArrivalsAtItAsLoadRunDoes) {
  // `gpuscale load run --rate 4 --duration 10s` sends 40 requests (0, 0.25, ..., 9.75 s).
  Options o = FlatOptions();
  o.engine.max_num_seqs = 64;
  o.horizon = std::chrono::seconds(10);
  auto arrivals = load::MakeConstantArrivals(4.0);
  auto r = Simulate(o, TestHpa("requests-hpa.yaml"), *arrivals);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->requests.size(), 40u);
  EXPECT_NEAR(r->requests.back().arrival_s, 9.75, 1e-9);
}

TEST(SimulatorTest, RejectsBadOptions) {
  Options o = FlatOptions();
  o.scrape_interval = core::Duration{0};
  ListArrivals arrivals({At(0)});
  auto r = Simulate(o, TestHpa("gpu-hpa.yaml"), arrivals);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("scrape_interval"), std::string::npos);
}

TEST(DurationDistTest, Parses) {
  auto d = ParseDurationDist("uniform:52:110");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, DurationDist::Kind::kUniform);
  EXPECT_EQ(d->a, 52);
  EXPECT_EQ(d->b, 110);
  core::Rng rng(1);
  for (int i = 0; i < 100; ++i) {
    double s = core::ToSeconds(d->Sample(rng));
    EXPECT_GE(s, 52);
    EXPECT_LE(s, 110);
  }
  EXPECT_EQ(core::ToSeconds(ParseDurationDist("fixed:2.5")->Sample(rng)), 2.5);
  EXPECT_FALSE(ParseDurationDist("fixed").ok());
  EXPECT_FALSE(ParseDurationDist("uniform:5:1").ok());
  EXPECT_FALSE(ParseDurationDist("gamma:1:2").ok());
  auto bad = ParseDurationDist("normal:x:1");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("'x' is not a number"), std::string::npos);
}

TEST(PercentileTest, NearestRank) {
  EXPECT_EQ(Percentile({1, 2, 3, 4}, 0.5), 2);
  EXPECT_EQ(Percentile({1, 2, 3, 4}, 0.99), 4);
  EXPECT_EQ(Percentile({}, 0.5), 0);
}

}  // namespace
}  // namespace gpuscale::sim
