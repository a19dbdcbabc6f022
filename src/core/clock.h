// Time as data: a Clock reads it, a Scheduler runs callbacks at a time. Decision code takes
// `now` as an argument; only orchestrators hold a Clock& or Scheduler&. The manual
// implementations drive tests and the simulator in virtual time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace gpuscale::core {

using Duration = std::chrono::nanoseconds;
using Timestamp = std::chrono::time_point<std::chrono::system_clock, Duration>;

// Seconds as a double, for reports and metrics.
inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }
inline Duration FromSeconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(s));
}
// Seconds since the Unix epoch.
inline double ToUnixSeconds(Timestamp t) { return ToSeconds(t.time_since_epoch()); }
inline Timestamp FromUnixSeconds(double s) { return Timestamp(FromSeconds(s)); }

// Reads the current time. Implementations are thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp Now() const = 0;
};

// The wall clock (std::chrono::system_clock).
class SystemClock final : public Clock {
 public:
  Timestamp Now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
};

// A clock that moves only when told to. Thread-safe.
class ManualClock : public Clock {
 public:
  explicit ManualClock(Timestamp start = Timestamp{}) : now_(start) {}
  Timestamp Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void Set(Timestamp t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }
  void Advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  Timestamp now_;
};

// Runs callbacks at given times. Callbacks scheduled for the same time run in the order they
// were scheduled (ties break by sequence number).
class Scheduler {
 public:
  using TaskId = std::uint64_t;
  using Task = std::function<void()>;
  virtual ~Scheduler() = default;

  virtual const Clock& clock() const = 0;
  // Schedules `task` to run at `when` (immediately if `when` has passed). Thread-safe.
  virtual TaskId ScheduleAt(Timestamp when, Task task) = 0;
  // Cancels a task that has not started. Returns false if it ran or was unknown. Thread-safe.
  virtual bool Cancel(TaskId id) = 0;

  TaskId ScheduleAfter(Duration delay, Task task) {
    return ScheduleAt(clock().Now() + delay, std::move(task));
  }
};

// A queue of timed tasks; the shared part of both schedulers. Not thread-safe by itself.
class TaskQueue {
 public:
  Scheduler::TaskId Add(Timestamp when, Scheduler::Task task);
  bool Remove(Scheduler::TaskId id);
  bool empty() const { return tasks_.empty(); }
  // Time of the earliest task; the queue must not be empty.
  Timestamp NextTime() const;
  // Removes and returns the earliest task if it is due at `now`.
  bool PopDue(Timestamp now, Scheduler::Task* task);

 private:
  struct Key {
    Timestamp when;
    Scheduler::TaskId id;
    auto operator<=>(const Key&) const = default;
  };
  std::map<Key, Scheduler::Task> tasks_;
  std::map<Scheduler::TaskId, Timestamp> when_by_id_;
  Scheduler::TaskId next_id_ = 1;
};

// A scheduler over a ManualClock: nothing runs until the test or simulator advances time.
// Callbacks run on the thread that calls AdvanceTo/AdvanceBy/RunDue. Thread-safe for scheduling.
class ManualScheduler final : public Scheduler {
 public:
  explicit ManualScheduler(Timestamp start = Timestamp{}) : clock_(start) {}
  const Clock& clock() const override { return clock_; }
  TaskId ScheduleAt(Timestamp when, Task task) override;
  bool Cancel(TaskId id) override;

  // Runs every task due at or before `t`, in time order, moving the clock to each task's time,
  // then leaves the clock at `t`. Returns the number of tasks run.
  int AdvanceTo(Timestamp t);
  int AdvanceBy(Duration d) { return AdvanceTo(clock_.Now() + d); }
  // Runs tasks until none is left, moving the clock; stops after `max_tasks` (a runaway guard).
  int RunAll(int max_tasks = 1'000'000);
  bool idle() const;

 private:
  mutable std::mutex mu_;
  ManualClock clock_;
  TaskQueue queue_;
};

// A scheduler with one worker thread over the system clock. Tasks run on that thread, one at a
// time. The destructor stops the thread; tasks not yet due are dropped.
class ThreadScheduler final : public Scheduler {
 public:
  ThreadScheduler();
  ~ThreadScheduler() override;
  ThreadScheduler(const ThreadScheduler&) = delete;
  ThreadScheduler& operator=(const ThreadScheduler&) = delete;

  const Clock& clock() const override { return clock_; }
  TaskId ScheduleAt(Timestamp when, Task task) override;
  bool Cancel(TaskId id) override;
  // Stops the worker after the running task; idempotent.
  void Stop();

 private:
  void Run();
  SystemClock clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  TaskQueue queue_;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace gpuscale::core
