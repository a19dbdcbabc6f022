#include "adapter/discovery.h"

#include <gtest/gtest.h>

namespace gpuscale::adapter {
namespace {

class FakeLister : public SeriesLister {
 public:
  core::Result<std::vector<SeriesShape>> ListSeries(const std::string& match,
                                                    core::Timestamp start) override {
    calls.push_back(match + " @" +
                    std::to_string(static_cast<long long>(core::ToUnixSeconds(start))));
    auto it = failing.find(match);
    if (it != failing.end()) return *it->second;
    return shapes[match];
  }
  std::map<std::string, std::vector<SeriesShape>> shapes;
  std::map<std::string, std::optional<core::Error>> failing;
  std::vector<std::string> calls;
};

class AdapterDiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = ParseConfig(
        "rules:\n"
        "- seriesQuery: a\n  resources: {template: <<.Resource>>}\n  metricsQuery: x\n"
        "- seriesQuery: b\n  resources: {template: <<.Resource>>}\n  metricsQuery: x\n"
        "- seriesQuery: a\n  resources: {template: <<.Resource>>}\n  name: {matches: "
        "'^(.*)_total$'}\n"
        "  metricsQuery: x\n",
        "c.yaml");
    ASSERT_TRUE(config.ok()) << config.error().message;
    rules_ =
        std::make_unique<RuleSet>(std::move(*RuleSet::Compile(*config, ResourceMapper::BuiltIn())));
  }
  std::unique_ptr<RuleSet> rules_;
  FakeLister lister_;
  core::ManualScheduler scheduler_{core::FromUnixSeconds(1000)};
  std::shared_ptr<const MetricSnapshot> published_;
};

TEST_F(AdapterDiscoveryTest, RelistsEachQueryOnceOnScheduleAndKeepsLastGoodListOnFailure) {
  lister_.shapes["a"] = {{"x_total", {"__name__", "pod"}}};
  lister_.shapes["b"] = {{"y", {"__name__", "pod"}}};
  Discovery d(
      *rules_, lister_, scheduler_, [&](auto s) { published_ = s; },
      DiscoveryOptions{std::chrono::minutes(1), std::chrono::minutes(5), std::chrono::seconds(5)});
  d.Start();
  scheduler_.AdvanceBy(core::Duration(0));
  EXPECT_EQ(lister_.calls, (std::vector<std::string>{"a @700", "b @700"}));
  ASSERT_TRUE(published_);
  EXPECT_EQ(published_->custom.size(), 3u);  // pods/x_total, pods/y, pods/x
  EXPECT_TRUE(d.synced());

  // b fails: its last good list stays; a still updates.
  lister_.failing["b"] = core::Unavailable("connection refused");
  lister_.shapes["a"] = {{"z", {"__name__", "pod"}}};
  scheduler_.AdvanceBy(std::chrono::minutes(1));
  EXPECT_EQ(lister_.calls.size(), 4u);
  EXPECT_TRUE(published_->custom.contains(CustomMetricKey{{"", "pods"}, true, "y"}));
  EXPECT_TRUE(published_->custom.contains(CustomMetricKey{{"", "pods"}, true, "z"}));
  EXPECT_FALSE(published_->custom.contains(CustomMetricKey{{"", "pods"}, true, "x_total"}));
  EXPECT_EQ(d.stats().query_failures.load(), 1);
  // Retried after the backoff, not a whole interval later.
  scheduler_.AdvanceBy(std::chrono::seconds(5));
  EXPECT_EQ(lister_.calls.size(), 6u);
  lister_.failing.clear();
  scheduler_.AdvanceBy(std::chrono::seconds(10));
  EXPECT_EQ(lister_.calls.size(), 8u);
  EXPECT_EQ(d.stats().query_failures.load(), 2);
  scheduler_.AdvanceBy(std::chrono::seconds(30));
  EXPECT_EQ(lister_.calls.size(), 8u);  // back to the interval
  d.Stop();
  scheduler_.AdvanceBy(std::chrono::minutes(5));
  EXPECT_EQ(lister_.calls.size(), 8u);
}

TEST_F(AdapterDiscoveryTest, NotSyncedUntilEveryQuerySucceeded) {
  lister_.failing["a"] = core::Unavailable("down");
  Discovery d(
      *rules_, lister_, scheduler_, [&](auto s) { published_ = s; }, DiscoveryOptions{});
  EXPECT_FALSE(d.RelistOnce().ok());
  EXPECT_FALSE(d.synced());
  ASSERT_TRUE(published_);
  lister_.failing.clear();
  EXPECT_TRUE(d.RelistOnce().ok());
  EXPECT_TRUE(d.synced());
}

}  // namespace
}  // namespace gpuscale::adapter
