// Per-request records of a load run and the statistics over them: exact percentiles, throughput,
// goodput under SLOs, errors by kind and per-interval series. Pure: plain data in and out.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gpuscale::load {

// Why a request failed (kNone: it succeeded with a 2xx status and a complete body).
enum class ErrorKind {
  kNone,
  kHttp4xx,    // the server answered 4xx
  kHttp5xx,    // the server answered 5xx (or another non-2xx status)
  kConnect,    // connection refused or reset before an answer
  kTimeout,    // the per-request timeout expired
  kTruncated,  // the stream or body ended early (no [DONE], cut chunk)
  kProtocol,   // malformed HTTP, SSE or JSON, or an error object in a 200 stream
  kCancelled,  // the run stopped before the answer came
};
std::string_view ErrorKindName(ErrorKind kind);  // "http_5xx", "connect", ...

// One request. Times are seconds since the start of the run (the first scheduled send).
struct RequestRecord {
  std::int64_t index = 0;
  int target = 0;            // index into the run's target URLs
  double scheduled_s = 0;    // when the arrival process scheduled it (closed loop: = sent_s)
  double sent_s = 0;         // when it was handed to the client
  double ttft_s = -1;        // first content token after sent_s; -1: none (or not streaming)
  double e2e_s = -1;         // end (success or failure) after sent_s
  std::vector<float> itl_s;  // gaps between consecutive content tokens
  int prompt_tokens = 0;
  int output_tokens = 0;  // usage.completion_tokens when reported, else content tokens seen
  int max_tokens = -1;    // what was asked; -1: none
  int status = 0;         // HTTP status; 0: no answer
  ErrorKind error = ErrorKind::kNone;
  std::string error_message;

  bool ok() const { return error == ErrorKind::kNone; }
  double send_lag_s() const { return sent_s - scheduled_s; }
  // Time per output token after the first: (e2e - ttft) / (output_tokens - 1); -1 when undefined.
  double tpot_s() const;
};

// Service-level objectives for goodput. A request is good when it succeeded and meets each set
// bound: TTFT (for non-streaming requests the end-to-end time stands in), ITL (the request's
// mean inter-token latency, i.e. its TPOT) and end-to-end latency.
struct Slo {
  std::optional<double> ttft_s;
  std::optional<double> itl_s;
  std::optional<double> e2e_s;
  bool empty() const { return !ttft_s && !itl_s && !e2e_s; }
};
// Parses "ttft=500ms,itl=50ms,e2e=20s" (Go durations; "tpot" is an alias of "itl").
core::Result<Slo> ParseSlo(std::string_view text);
bool MeetsSlo(const RequestRecord& r, const Slo& slo);

struct Distribution {
  std::size_t count = 0;
  double mean = 0, min = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;
};
// Exact percentiles with linear interpolation between ranks (numpy's default). Sorts `values`.
Distribution Describe(std::vector<double> values);
// The q-quantile (0..1) of sorted values, interpolated; 0 for none.
double Quantile(const std::vector<double>& sorted, double q);

struct Summary {
  double duration_s = 0;  // run start to the last completion (or the end of the run)
  std::size_t requests = 0, succeeded = 0, failed = 0;
  std::map<std::string, std::size_t> errors;  // by ErrorKindName
  std::map<int, std::size_t> statuses;        // by HTTP status (0: none)
  double request_rate = 0;                    // successful requests per second
  double sent_rate = 0;                       // requests sent per second
  double output_token_rate = 0;               // output tokens of successful requests per second
  double total_token_rate = 0;  // prompt + output tokens of successful requests per second
  Distribution ttft_s, itl_s, tpot_s, e2e_s, send_lag_s, output_tokens, prompt_tokens;
  Slo slo;
  std::size_t good = 0;     // successful requests meeting the SLO (all successes when none set)
  double goodput = 0;       // good requests per second
  std::string first_error;  // one example message, for the console
};
// `duration_s` is the run's length; 0 derives it from the records.
Summary Summarize(const std::vector<RequestRecord>& records, const Slo& slo, double duration_s = 0);

// One interval of the run. Sends count in the interval of their send time, completions (and
// their tokens) in that of their end; latencies describe requests sent in the interval.
struct IntervalStats {
  double start_s = 0;
  std::size_t sent = 0, completed = 0, errors = 0;
  std::int64_t output_tokens = 0;
  double ttft_p50_s = 0, ttft_p99_s = 0, e2e_p50_s = 0, e2e_p99_s = 0, lag_p99_s = 0;
  std::size_t in_flight = 0;  // sent but not ended at the interval's end
};
std::vector<IntervalStats> Series(const std::vector<RequestRecord>& records, double interval_s,
                                  double duration_s = 0);

}  // namespace gpuscale::load
