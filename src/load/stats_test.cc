#include "load/stats.h"

#include <gtest/gtest.h>

namespace gpuscale::load {
namespace {

RequestRecord Ok(double sent, double ttft, double e2e, int tokens) {
  RequestRecord r;
  r.scheduled_s = sent;
  r.sent_s = sent;
  r.ttft_s = ttft;
  r.e2e_s = e2e;
  r.output_tokens = tokens;
  r.prompt_tokens = 10;
  r.status = 200;
  if (tokens > 1)
    r.itl_s.assign(static_cast<std::size_t>(tokens - 1),
                   static_cast<float>((e2e - ttft) / (tokens - 1)));
  return r;
}

TEST(StatsTest, QuantilesInterpolateLikeNumpy) {
  std::vector<double> v{1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(Quantile(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.0), 1);
  EXPECT_DOUBLE_EQ(Quantile(v, 1.0), 4);
  std::vector<double> h;
  for (int i = 1; i <= 101; ++i) h.push_back(i);
  Distribution d = Describe(h);
  EXPECT_DOUBLE_EQ(d.p50, 51);
  EXPECT_DOUBLE_EQ(d.p99, 100);
  EXPECT_DOUBLE_EQ(d.max, 101);
  EXPECT_DOUBLE_EQ(d.mean, 51);
  EXPECT_EQ(Describe({}).count, 0u);
}

TEST(StatsTest, SummaryCountsRatesTokensAndErrors) {
  std::vector<RequestRecord> rs = {Ok(0, 0.1, 1.1, 11), Ok(1, 0.2, 2.2, 21)};
  RequestRecord bad;
  bad.sent_s = 2;
  bad.scheduled_s = 1.999;
  bad.e2e_s = 0.5;
  bad.status = 500;
  bad.error = ErrorKind::kHttp5xx;
  bad.error_message = "HTTP 500";
  rs.push_back(bad);
  RequestRecord refused = bad;
  refused.status = 0;
  refused.error = ErrorKind::kConnect;
  rs.push_back(refused);
  Summary s = Summarize(rs, {}, 4.0);
  EXPECT_EQ(s.requests, 4u);
  EXPECT_EQ(s.succeeded, 2u);
  EXPECT_EQ(s.failed, 2u);
  EXPECT_EQ(s.errors.at("http_5xx"), 1u);
  EXPECT_EQ(s.errors.at("connect"), 1u);
  EXPECT_EQ(s.statuses.at(0), 1u);
  EXPECT_EQ(s.statuses.at(500), 1u);
  EXPECT_DOUBLE_EQ(s.request_rate, 0.5);
  EXPECT_DOUBLE_EQ(s.output_token_rate, 8.0);
  EXPECT_DOUBLE_EQ(s.ttft_s.mean, 0.15);
  EXPECT_NEAR(s.tpot_s.p50, 0.1, 1e-9);
  EXPECT_EQ(s.itl_s.count, 30u);
  EXPECT_NEAR(s.send_lag_s.max, 0.001, 1e-9);
  EXPECT_EQ(s.good, 2u);
  EXPECT_EQ(s.first_error, "http_5xx: HTTP 500");
}

TEST(StatsTest, GoodputAppliesEachObjective) {
  auto slo = ParseSlo("ttft=150ms,itl=50ms");
  ASSERT_TRUE(slo.ok()) << slo.error().ToString();
  std::vector<RequestRecord> rs = {Ok(0, 0.1, 0.1 + 10 * 0.04, 11),   // good
                                   Ok(0, 0.2, 0.2 + 10 * 0.04, 11),   // TTFT too slow
                                   Ok(0, 0.1, 0.1 + 10 * 0.06, 11)};  // ITL too slow
  Summary s = Summarize(rs, *slo, 2.0);
  EXPECT_EQ(s.good, 1u);
  EXPECT_DOUBLE_EQ(s.goodput, 0.5);
  auto e2e = ParseSlo("e2e=1s");
  ASSERT_TRUE(e2e.ok());
  EXPECT_EQ(Summarize(rs, *e2e, 2.0).good, 3u);
  auto tight = ParseSlo("e2e=550ms");
  ASSERT_TRUE(tight.ok());
  EXPECT_EQ(Summarize(rs, *tight, 2.0).good, 1u);
  EXPECT_FALSE(ParseSlo("latency=1s").ok());
  EXPECT_FALSE(ParseSlo("ttft").ok());
  EXPECT_FALSE(ParseSlo("ttft=fast").ok());
}

TEST(StatsTest, SeriesBucketsSendsCompletionsAndInFlight) {
  std::vector<RequestRecord> rs = {Ok(0.1, 0.1, 0.5, 5), Ok(0.2, 0.1, 1.5, 5),
                                   Ok(1.1, 0.1, 0.2, 5)};
  auto series = Series(rs, 1.0);
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series[0].sent, 2u);
  EXPECT_EQ(series[0].completed, 1u);
  EXPECT_EQ(series[0].in_flight, 1u);
  EXPECT_EQ(series[1].sent, 1u);
  EXPECT_EQ(series[1].completed, 2u);
  EXPECT_EQ(series[1].in_flight, 0u);
  EXPECT_EQ(series[1].output_tokens, 10);
  EXPECT_DOUBLE_EQ(series[0].e2e_p50_s, 1.0);
}

}  // namespace
}  // namespace gpuscale::load
