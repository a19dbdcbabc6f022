// Scheduling hints for threads whose wake-up time matters (a sender that must fire on time, a
// loop that must finish a step when the model says). Unprivileged; best effort.
#pragma once

#include <chrono>
#include <optional>

namespace gpuscale::core {

// Asks the kernel to give the calling thread a short time slice under the fair scheduler
// (EEVDF, Linux 6.12 and later: sched_setattr's sched_runtime for SCHED_OTHER). A thread with a
// shorter slice than the running one may preempt it when it wakes, instead of waiting for the
// running thread's slice (the default reads 1.4 ms on a 2-core machine) to end; it also gets
// shorter turns, so it suits threads that sleep most of the time and do little when they wake.
// The kernel clamps the slice to 0.1-100 ms. Keeps the thread's policy and nice value. Returns
// false where the thread is not SCHED_OTHER or the kernel refuses; older kernels accept and ignore
// the hint. A slice of 0 returns the thread to the default slice.
bool RequestShortTimeSlice(std::chrono::microseconds slice);

// The calling thread's slice as the kernel reports it (the default one unless a thread asked
// for its own; 0 on kernels without slices), or nullopt if it cannot be read.
std::optional<std::chrono::microseconds> CurrentTimeSlice();

// Sets the calling thread's timer slack: how much later than asked the kernel may end the
// thread's timed waits, to group wake-ups (50 us by default for a normal thread). A thread that
// must wake on time asks for a small one. 0 returns the thread to the default. Returns false if
// the kernel refuses.
bool SetTimerSlack(std::chrono::nanoseconds slack);

// The calling thread's timer slack.
std::chrono::nanoseconds CurrentTimerSlack();

}  // namespace gpuscale::core
