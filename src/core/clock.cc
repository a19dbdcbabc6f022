#include "core/clock.h"

#include "core/result.h"
#include "core/sched.h"

namespace gpuscale::core {

Scheduler::TaskId TaskQueue::Add(Timestamp when, Scheduler::Task task) {
  Scheduler::TaskId id = next_id_++;
  tasks_.emplace(Key{when, id}, std::move(task));
  when_by_id_.emplace(id, when);
  return id;
}

bool TaskQueue::Remove(Scheduler::TaskId id) {
  auto it = when_by_id_.find(id);
  if (it == when_by_id_.end()) return false;
  tasks_.erase(Key{it->second, id});
  when_by_id_.erase(it);
  return true;
}

Timestamp TaskQueue::NextTime() const {
  GPUSCALE_CHECK(!tasks_.empty());
  return tasks_.begin()->first.when;
}

bool TaskQueue::PopDue(Timestamp now, Scheduler::Task* task) {
  if (tasks_.empty() || tasks_.begin()->first.when > now) return false;
  auto it = tasks_.begin();
  *task = std::move(it->second);
  when_by_id_.erase(it->first.id);
  tasks_.erase(it);
  return true;
}

Scheduler::TaskId ManualScheduler::ScheduleAt(Timestamp when, Task task) {
  std::lock_guard lock(mu_);
  return queue_.Add(when, std::move(task));
}

bool ManualScheduler::Cancel(TaskId id) {
  std::lock_guard lock(mu_);
  return queue_.Remove(id);
}

bool ManualScheduler::idle() const {
  std::lock_guard lock(mu_);
  return queue_.empty();
}

int ManualScheduler::AdvanceTo(Timestamp t) {
  int ran = 0;
  for (;;) {
    Task task;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty() || queue_.NextTime() > t) break;
      Timestamp when = queue_.NextTime();
      if (when > clock_.Now()) clock_.Set(when);
      queue_.PopDue(when, &task);
    }
    task();  // outside the lock: tasks schedule more tasks
    ++ran;
  }
  if (clock_.Now() < t) clock_.Set(t);
  return ran;
}

int ManualScheduler::RunAll(int max_tasks) {
  int ran = 0;
  while (ran < max_tasks) {
    Timestamp next;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) break;
      next = queue_.NextTime();
    }
    ran += AdvanceTo(std::max(next, clock_.Now()));
  }
  return ran;
}

ThreadScheduler::ThreadScheduler() : worker_([this] { Run(); }) {}

ThreadScheduler::~ThreadScheduler() { Stop(); }

void ThreadScheduler::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

Scheduler::TaskId ThreadScheduler::ScheduleAt(Timestamp when, Task task) {
  TaskId id;
  {
    std::lock_guard lock(mu_);
    id = queue_.Add(when, std::move(task));
  }
  cv_.notify_all();
  return id;
}

bool ThreadScheduler::Cancel(TaskId id) {
  std::lock_guard lock(mu_);
  return queue_.Remove(id);
}

void ThreadScheduler::Run() {
  // Tasks are due at given times and are short: a short slice lets this thread preempt busy
  // I/O threads when it wakes instead of waiting out their slices.
  RequestShortTimeSlice(std::chrono::microseconds(100));
  // And its timed waits end when asked, not up to the default 50 us timer slack later.
  SetTimerSlack(std::chrono::microseconds(1));
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (queue_.empty()) {
      cv_.wait(lock);
      continue;
    }
    Timestamp next = queue_.NextTime();
    if (next > clock_.Now()) {
      cv_.wait_until(lock, std::chrono::system_clock::time_point(
                               std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                   next.time_since_epoch())));
      continue;
    }
    Task task;
    queue_.PopDue(clock_.Now(), &task);
    lock.unlock();
    task();
    lock.lock();
  }
}

}  // namespace gpuscale::core
