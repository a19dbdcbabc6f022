#include "core/clock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <vector>

#include "core/sched.h"

namespace gpuscale::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ManualClockTest, MovesOnlyWhenTold) {
  ManualClock clock(Timestamp(seconds(100)));
  EXPECT_EQ(clock.Now(), Timestamp(seconds(100)));
  clock.Advance(milliseconds(1500));
  EXPECT_EQ(clock.Now(), Timestamp(milliseconds(101500)));
  clock.Set(Timestamp(seconds(5)));
  EXPECT_EQ(clock.Now(), Timestamp(seconds(5)));
}

TEST(ManualSchedulerTest, RunsInTimeOrderWithTiesBySequence) {
  ManualScheduler s;
  std::vector<int> order;
  s.ScheduleAfter(seconds(2), [&] { order.push_back(3); });
  s.ScheduleAfter(seconds(1), [&] { order.push_back(1); });
  s.ScheduleAfter(seconds(1), [&] { order.push_back(2); });
  EXPECT_EQ(s.AdvanceBy(milliseconds(999)), 0);
  EXPECT_TRUE(order.empty());
  EXPECT_EQ(s.AdvanceBy(milliseconds(1)), 2);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(s.AdvanceBy(seconds(5)), 1);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(s.clock().Now(), Timestamp(seconds(6)));
}

TEST(ManualSchedulerTest, TaskSeesItsOwnTimeAndCanReschedule) {
  ManualScheduler s;
  std::vector<Timestamp> seen;
  std::function<void()> tick = [&] {
    seen.push_back(s.clock().Now());
    if (seen.size() < 3) s.ScheduleAfter(seconds(10), tick);
  };
  s.ScheduleAfter(seconds(10), tick);
  EXPECT_EQ(s.RunAll(), 3);
  EXPECT_EQ(seen, (std::vector<Timestamp>{Timestamp(seconds(10)), Timestamp(seconds(20)),
                                          Timestamp(seconds(30))}));
  EXPECT_TRUE(s.idle());
}

TEST(ManualSchedulerTest, CancelPreventsRun) {
  ManualScheduler s;
  bool ran = false;
  auto id = s.ScheduleAfter(seconds(1), [&] { ran = true; });
  EXPECT_TRUE(s.Cancel(id));
  EXPECT_FALSE(s.Cancel(id));
  s.AdvanceBy(seconds(2));
  EXPECT_FALSE(ran);
}

TEST(ManualSchedulerTest, RunAllIsBounded) {
  ManualScheduler s;
  std::function<void()> forever = [&] { s.ScheduleAfter(seconds(1), forever); };
  s.ScheduleAfter(seconds(1), forever);
  EXPECT_EQ(s.RunAll(50), 50);
}

TEST(ThreadSchedulerTest, RunsDueTasksOnWorker) {
  ThreadScheduler s;
  std::promise<std::thread::id> ran;
  s.ScheduleAfter(milliseconds(5), [&] { ran.set_value(std::this_thread::get_id()); });
  auto f = ran.get_future();
  ASSERT_EQ(f.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_NE(f.get(), std::this_thread::get_id());
}

TEST(ThreadSchedulerTest, WorkerWakesWithAShortTimerSlack) {
  ThreadScheduler s;
  std::promise<std::chrono::nanoseconds> slack;
  s.ScheduleAfter(milliseconds(1), [&] { slack.set_value(CurrentTimerSlack()); });
  auto f = slack.get_future();
  ASSERT_EQ(f.wait_for(seconds(5)), std::future_status::ready);
  EXPECT_EQ(f.get(), std::chrono::microseconds(1));
}

TEST(ThreadSchedulerTest, CancelledTaskNeverRunsAndStopIsPrompt) {
  ThreadScheduler s;
  std::atomic<bool> ran{false};
  auto id = s.ScheduleAfter(seconds(3600), [&] { ran = true; });
  EXPECT_TRUE(s.Cancel(id));
  s.Stop();
  EXPECT_FALSE(ran);
}

TEST(TimeConversionTest, Seconds) {
  EXPECT_DOUBLE_EQ(ToSeconds(milliseconds(1500)), 1.5);
  EXPECT_EQ(FromSeconds(0.25), milliseconds(250));
  EXPECT_DOUBLE_EQ(ToUnixSeconds(FromUnixSeconds(1700000000.5)), 1700000000.5);
}

}  // namespace
}  // namespace gpuscale::core
