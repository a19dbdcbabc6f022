// The histogram helper: bucket search and the cumulative layout Prometheus expects.
#include <algorithm>
#include <cmath>

#include "prom/exposition.h"

namespace gpuscale::prom {

std::vector<double> DefaultBuckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)) {
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    GPUSCALE_CHECK(std::isfinite(bounds_[i]));
    GPUSCALE_CHECK(i == 0 || bounds_[i - 1] < bounds_[i]);
    le_.push_back(FormatValue(bounds_[i]));
  }
  le_.push_back("+Inf");
  buckets_.assign(bounds_.size() + 1, 0);
}

void Histogram::Observe(double value) {
  // First bound >= value, as Go's sort.SearchFloat64s; NaN compares false and lands in +Inf.
  std::size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  if (std::isnan(value)) i = bounds_.size();
  ++buckets_[i];
  ++count_;
  sum_ += value;
}

void Histogram::Reset() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = 0;
  sum_ = 0;
}

uint64_t Histogram::CumulativeCount(std::size_t i) const {
  uint64_t total = 0;
  for (std::size_t j = 0; j <= i && j < buckets_.size(); ++j) total += buckets_[j];
  return total;
}

void Histogram::AppendSamples(std::string_view name, const Labels& labels,
                              std::vector<Sample>* out) const {
  std::string bucket_name = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i];
    Sample s{bucket_name, labels, static_cast<double>(cumulative), std::nullopt};
    s.labels.push_back({"le", le_[i]});
    out->push_back(std::move(s));
  }
  out->push_back({std::string(name) + "_sum", labels, sum_, std::nullopt});
  out->push_back({std::string(name) + "_count", labels, static_cast<double>(count_), std::nullopt});
}

void Histogram::AppendText(std::string_view name, const Labels& labels, std::string* out) const {
  std::string sample_name(name);
  std::size_t base = sample_name.size();
  sample_name += "_bucket";
  uint64_t cumulative = 0;
  Label le{"le", {}};
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i];
    le.value = le_[i];
    AppendSample(sample_name, labels, le, static_cast<double>(cumulative), std::nullopt, out);
  }
  sample_name.resize(base);
  sample_name += "_sum";
  AppendSample(sample_name, labels, sum_, std::nullopt, out);
  sample_name.resize(base);
  sample_name += "_count";
  AppendSample(sample_name, labels, static_cast<double>(count_), std::nullopt, out);
}

}  // namespace gpuscale::prom
