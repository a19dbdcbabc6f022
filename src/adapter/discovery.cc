#include "adapter/discovery.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log.h"

namespace gpuscale::adapter {

Discovery::Discovery(const RuleSet& rules, SeriesLister& lister, core::Scheduler& scheduler,
                     Publish publish, DiscoveryOptions options)
    : rules_(rules),
      lister_(lister),
      scheduler_(scheduler),
      publish_(std::move(publish)),
      options_(options),
      last_good_(rules.series_queries.size()),
      ever_ok_(rules.series_queries.size(), false) {
  if (options_.max_age.count() == 0) options_.max_age = options_.relist_interval;
}

Discovery::~Discovery() { Stop(); }

void Discovery::Start() {
  std::lock_guard lock(mu_);
  stopped_ = false;
  next_ = scheduler_.ScheduleAfter(core::Duration(0), [this] { Tick(); });
}

void Discovery::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  if (next_) scheduler_.Cancel(next_);
  next_ = 0;
}

bool Discovery::synced() const {
  auto* self = const_cast<Discovery*>(this);
  std::lock_guard lock(self->mu_);
  return std::all_of(ever_ok_.begin(), ever_ok_.end(), [](bool b) { return b; });
}

void Discovery::Tick() {
  core::Status st = RelistOnce();
  std::lock_guard lock(mu_);
  if (stopped_) return;
  std::chrono::milliseconds delay = options_.relist_interval;
  if (!st.ok()) {
    // Retry sooner than a whole interval (prometheus-adapter waits the full interval).
    backoff_ = backoff_.count() == 0 ? options_.retry_backoff : std::min(backoff_ * 2, delay);
    delay = std::min(backoff_, delay);
  } else {
    backoff_ = std::chrono::milliseconds(0);
  }
  next_ = scheduler_.ScheduleAfter(delay, [this] { Tick(); });
}

core::Status Discovery::RelistOnce() {
  const core::Timestamp start = scheduler_.clock().Now() - options_.max_age;
  core::Status first_error;
  std::vector<std::vector<SeriesShape>> fresh(rules_.series_queries.size());
  std::vector<bool> ok(rules_.series_queries.size(), false);
  for (std::size_t i = 0; i < rules_.series_queries.size(); ++i) {
    auto listed = lister_.ListSeries(rules_.series_queries[i], start);
    if (!listed.ok()) {
      stats_.query_failures.fetch_add(1, std::memory_order_relaxed);
      spdlog::error(
          "unable to update list of metrics for series query \"{}\" (keeping the last "
          "good list): {}",
          rules_.series_queries[i], listed.error().ToString());
      if (first_error.ok()) first_error = listed.error();
      continue;
    }
    fresh[i] = std::move(*listed);
    ok[i] = true;
  }
  std::vector<std::vector<SeriesShape>> current;
  {
    std::lock_guard lock(mu_);
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      if (ok[i]) {
        last_good_[i] = std::move(fresh[i]);
        ever_ok_[i] = true;
      }
    }
    current = last_good_;
  }
  std::int64_t shapes = 0;
  for (const auto& l : current) shapes += static_cast<std::int64_t>(l.size());
  auto snap = std::make_shared<MetricSnapshot>(BuildSnapshot(rules_, current));
  stats_.relists.fetch_add(1, std::memory_order_relaxed);
  stats_.series_shapes.store(shapes, std::memory_order_relaxed);
  stats_.custom_metrics.store(static_cast<std::int64_t>(snap->custom.size()),
                              std::memory_order_relaxed);
  stats_.external_metrics.store(static_cast<std::int64_t>(snap->external.size()),
                                std::memory_order_relaxed);
  if (first_error.ok()) {
    stats_.last_success_unix_ms.store(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          scheduler_.clock().Now().time_since_epoch())
                                          .count(),
                                      std::memory_order_relaxed);
  }
  if (core::V(4)) {
    spdlog::debug("relisted: {} series shapes, {} custom and {} external metrics", shapes,
                  snap->custom.size(), snap->external.size());
  }
  publish_(std::move(snap));
  return first_error;
}

}  // namespace gpuscale::adapter
