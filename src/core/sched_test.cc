#include "core/sched.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <cstdio>
#include <thread>

namespace gpuscale::core {
namespace {

// Custom fair-scheduler slices exist from Linux 6.12.
bool KernelHasCustomSlices() {
  utsname u{};
  int major = 0, minor = 0;
  if (uname(&u) != 0 || std::sscanf(u.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 12);
}

TEST(RequestShortTimeSlice, SetsTheCallingThreadsSliceAndKeepsItsNice) {
  if (!KernelHasCustomSlices()) GTEST_SKIP() << "kernel before 6.12 has no custom slices";
  const auto before = CurrentTimeSlice();
  ASSERT_TRUE(before.has_value());
  ASSERT_NE(*before, std::chrono::microseconds(200));
  std::thread t([] {
    ASSERT_EQ(setpriority(PRIO_PROCESS, 0, 3), 0);  // per thread on Linux
    ASSERT_TRUE(RequestShortTimeSlice(std::chrono::microseconds(200)));
    EXPECT_EQ(CurrentTimeSlice(), std::chrono::microseconds(200));
    EXPECT_EQ(getpriority(PRIO_PROCESS, 0), 3);
  });
  t.join();
  // Another thread's slice is untouched.
  EXPECT_EQ(CurrentTimeSlice(), before);
}

TEST(SetTimerSlack, SetsTheCallingThreadsSlackOnly) {
  const auto before = CurrentTimerSlack();
  ASSERT_NE(before, std::chrono::nanoseconds(1234));
  std::thread t([] {
    ASSERT_TRUE(SetTimerSlack(std::chrono::nanoseconds(1234)));
    EXPECT_EQ(CurrentTimerSlack(), std::chrono::nanoseconds(1234));
  });
  t.join();
  EXPECT_EQ(CurrentTimerSlack(), before);
}

}  // namespace
}  // namespace gpuscale::core
