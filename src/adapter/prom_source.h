// The Prometheus side of the adapter over prom::ApiClient: instant queries for the provider and
// series listing (as deduplicated shapes) for discovery.
#pragma once

#include <vector>

#include "adapter/discovery.h"
#include "adapter/provider.h"
#include "prom/api.h"

namespace gpuscale::adapter {

// Instant queries; the timeout goes to Prometheus as `timeout=` and bounds the HTTP call.
// `client` must outlive it. Thread-safe.
class PromSource : public MetricsSource {
 public:
  explicit PromSource(prom::ApiClient& client) : client_(client) {}
  core::Result<PromAnswer> Query(const std::string& promql, core::Timestamp now,
                                 std::chrono::milliseconds timeout) override;

 private:
  prom::ApiClient& client_;
};

class PromSeriesLister : public SeriesLister {
 public:
  explicit PromSeriesLister(prom::ApiClient& client) : client_(client) {}
  core::Result<std::vector<SeriesShape>> ListSeries(const std::string& match,
                                                    core::Timestamp start) override;

 private:
  prom::ApiClient& client_;
};

}  // namespace gpuscale::adapter
