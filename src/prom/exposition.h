// The Prometheus text exposition format 0.0.4: plain structs, a writer that formats exactly as
// Go's expfmt does, a parser that accepts what Prometheus 2.x scrapes, and a histogram helper.
// Everything here is pure (no I/O); functions are thread-safe, classes are thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gpuscale::prom {

// The Content-Type of a /metrics answer in this format.
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

enum class MetricType { kCounter, kGauge, kHistogram, kSummary, kUntyped };
// "counter", "gauge", "histogram", "summary", "untyped".
std::string_view MetricTypeName(MetricType type);

struct Label {
  std::string name;
  std::string value;  // unescaped
  bool operator==(const Label&) const = default;
};
// Labels in the order given; the writer keeps that order (dcgm-exporter's order matters).
using Labels = std::vector<Label>;

struct Sample {
  std::string name;  // full sample name, including _bucket/_sum/_count suffixes
  Labels labels;
  double value = 0;
  std::optional<int64_t> timestamp_ms;             // milliseconds since the Unix epoch
  bool operator==(const Sample&) const = default;  // NaN != NaN, as for doubles
};

struct MetricFamily {
  std::string name;
  std::string help;  // unescaped; empty: no HELP line
  MetricType type = MetricType::kUntyped;
  std::vector<Sample> samples;
  bool operator==(const MetricFamily&) const = default;
};

// ---- Writer -------------------------------------------------------------------------------

// Formats like Go's strconv.FormatFloat(v, 'g', -1, 64): the shortest string that reads back
// as `v` ("1", "0.005", "1.5e+06", "1e-05"), and "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);
void AppendValue(double value, std::string* out);
// Appends `value` with \\, \" and \n escaped (label values).
void AppendEscapedLabelValue(std::string_view value, std::string* out);
// Appends `help` with \\ and \n escaped (HELP text).
void AppendEscapedHelp(std::string_view help, std::string* out);

// Appends "# HELP name help\n" (only if `help` is not empty) and "# TYPE name type\n".
void AppendHeader(std::string_view name, std::string_view help, MetricType type, std::string* out);
// Appends one sample line: name{l1="v1",...} value[ timestamp]\n ("name value" when no labels).
void AppendSample(std::string_view name, const Labels& labels, double value,
                  std::optional<int64_t> timestamp_ms, std::string* out);
// As above with one extra label after `labels` (e.g. le="0.5" on a bucket).
void AppendSample(std::string_view name, const Labels& labels, const Label& extra, double value,
                  std::optional<int64_t> timestamp_ms, std::string* out);

// Appends one family: its header, then its samples in order. The family is written as given
// (names and labels are not validated; callers that take names from users check them with
// IsValidMetricName/IsValidLabelName).
void AppendFamily(const MetricFamily& family, std::string* out);
// All families, in order.
std::string Render(const std::vector<MetricFamily>& families);

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*
bool IsValidLabelName(std::string_view name);

// ---- Parser -------------------------------------------------------------------------------

// Parses a text 0.0.4 body into families, in order of first appearance. Accepts what
// Prometheus 2.x accepts: comments and blank lines, HELP/TYPE lines, escapes, spaces between
// tokens, a trailing comma in label sets, NaN/Inf in Go's spellings ("NaN", "+Inf", "-inf",
// "Infinity", any case), optional integer millisecond timestamps. Samples without a TYPE form
// an untyped family; _bucket/_sum/_count samples join their histogram or summary family.
// Rejected, with "line L:C: expected ..., found ..." errors (kInvalidArgument): bad syntax,
// invalid UTF-8 in HELP or label values, unknown TYPE, duplicate label names, a second
// HELP or TYPE line for one family, a TYPE line after that family's samples.
core::Result<std::vector<MetricFamily>> ParseText(std::string_view text);

// ---- Histogram helper ---------------------------------------------------------------------

// Go's prometheus.DefBuckets: .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10.
std::vector<double> DefaultBuckets();

// A histogram with fixed upper bounds, emitted in the Prometheus layout: cumulative
// name_bucket{...,le="<bound>"} for each bound and le="+Inf", then name_sum and name_count.
// Thread-compatible: callers serialise Observe against other calls.
class Histogram {
 public:
  // `upper_bounds` must be finite and strictly increasing (checked: a bug otherwise);
  // the +Inf bucket is implied.
  explicit Histogram(std::vector<double> upper_bounds);

  // Counts `value` in the first bucket whose bound is >= value (NaN goes to +Inf only).
  void Observe(double value);
  void Reset();

  const std::vector<double>& upper_bounds() const { return bounds_; }
  // Observations <= upper_bounds()[i] (i == upper_bounds().size() means +Inf: all of them).
  uint64_t CumulativeCount(std::size_t i) const;
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

  // Appends the bucket, _sum and _count samples for family `name` with `labels` (le last).
  void AppendSamples(std::string_view name, const Labels& labels, std::vector<Sample>* out) const;
  // Appends the same lines as text (no HELP/TYPE), without building Samples.
  void AppendText(std::string_view name, const Labels& labels, std::string* out) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::string> le_;    // bounds_ formatted, plus "+Inf"
  std::vector<uint64_t> buckets_;  // non-cumulative, bounds_.size() + 1 entries
  uint64_t count_ = 0;
  double sum_ = 0;
};

}  // namespace gpuscale::prom
