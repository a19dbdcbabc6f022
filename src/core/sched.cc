#include "core/sched.h"

#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

namespace gpuscale::core {
namespace {

// The kernel's struct sched_attr (include/uapi/linux/sched/types.h), first version (48 bytes);
// glibc 2.36 has no wrapper.
struct SchedAttr {
  std::uint32_t size;
  std::uint32_t sched_policy;
  std::uint64_t sched_flags;
  std::int32_t sched_nice;
  std::uint32_t sched_priority;
  std::uint64_t sched_runtime;
  std::uint64_t sched_deadline;
  std::uint64_t sched_period;
};
static_assert(sizeof(SchedAttr) == 48);

bool GetAttr(SchedAttr* attr) {
  *attr = {};
  return syscall(SYS_sched_getattr, 0, attr, sizeof *attr, 0) == 0;
}

}  // namespace

bool RequestShortTimeSlice(std::chrono::microseconds slice) {
  SchedAttr attr;
  if (!GetAttr(&attr) || attr.sched_policy != SCHED_OTHER) return false;
  attr.size = sizeof attr;
  attr.sched_flags = 0;
  attr.sched_runtime = static_cast<std::uint64_t>(slice.count()) * 1000;
  return syscall(SYS_sched_setattr, 0, &attr, 0) == 0;
}

std::optional<std::chrono::microseconds> CurrentTimeSlice() {
  SchedAttr attr;
  if (!GetAttr(&attr)) return std::nullopt;
  return std::chrono::microseconds(attr.sched_runtime / 1000);
}

bool SetTimerSlack(std::chrono::nanoseconds slack) {
  return prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(slack.count()), 0, 0, 0) == 0;
}

std::chrono::nanoseconds CurrentTimerSlack() {
  return std::chrono::nanoseconds(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0));
}

}  // namespace gpuscale::core
