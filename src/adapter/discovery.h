// Discovery: lists series per distinct seriesQuery every relist interval over the window
// [now - max_age, now], keeps the series shapes (name + label names, deduplicated), rebuilds
// the metric snapshot and hands it to the provider. A failed query keeps its last good list
// (the other queries still update), is logged and counted, and is retried with backoff before
// the next interval.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapter/registry.h"
#include "core/clock.h"
#include "core/result.h"

namespace gpuscale::adapter {

// Lists series matching one selector from `start` on, as shapes (deduplicated by the caller).
class SeriesLister {
 public:
  virtual ~SeriesLister() = default;
  virtual core::Result<std::vector<SeriesShape>> ListSeries(const std::string& match,
                                                            core::Timestamp start) = 0;
};

struct DiscoveryOptions {
  std::chrono::milliseconds relist_interval{std::chrono::minutes(10)};
  std::chrono::milliseconds max_age{0};  // 0: same as relist_interval
  // First retry delay after a failed query; doubles up to the relist interval.
  std::chrono::milliseconds retry_backoff{std::chrono::seconds(5)};
};

// Counters for the adapter's own /metrics. Monotonic; read with relaxed loads.
struct DiscoveryStats {
  std::atomic<std::int64_t> relists{0};
  std::atomic<std::int64_t> query_failures{0};
  std::atomic<std::int64_t> last_success_unix_ms{0};
  std::atomic<std::int64_t> series_shapes{0};
  std::atomic<std::int64_t> custom_metrics{0};
  std::atomic<std::int64_t> external_metrics{0};
};

// Thread-safe. `rules`, `lister` and `scheduler` must outlive it; `publish` receives each new
// snapshot on the scheduler's thread.
class Discovery {
 public:
  using Publish = std::function<void(std::shared_ptr<const MetricSnapshot>)>;
  Discovery(const RuleSet& rules, SeriesLister& lister, core::Scheduler& scheduler, Publish publish,
            DiscoveryOptions options);
  ~Discovery();

  // Runs the first relist now, then one every interval after each finishes (sliding).
  void Start();
  // Cancels future relists; a running one finishes. Idempotent.
  void Stop();
  // One relist, synchronously. Returns the first query error (the snapshot still updates with
  // the queries that succeeded and the last good lists of those that failed).
  core::Status RelistOnce();
  // True once every query has succeeded at least once.
  bool synced() const;
  const DiscoveryStats& stats() const { return stats_; }

 private:
  void Tick();

  const RuleSet& rules_;
  SeriesLister& lister_;
  core::Scheduler& scheduler_;
  Publish publish_;
  DiscoveryOptions options_;
  DiscoveryStats stats_;
  std::mutex mu_;
  std::vector<std::vector<SeriesShape>> last_good_;  // per series query; guarded by mu_
  std::vector<bool> ever_ok_;                        // guarded by mu_
  std::chrono::milliseconds backoff_{0};             // guarded by mu_
  bool stopped_ = false;                             // guarded by mu_
  core::Scheduler::TaskId next_ = 0;                 // guarded by mu_
};

}  // namespace gpuscale::adapter
