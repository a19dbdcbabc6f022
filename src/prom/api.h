// The Prometheus HTTP API (/api/v1/query, /api/v1/series, /api/v1/labels): plain result structs,
// pure JSON decoders, and a blocking client over http::Client. Boost.JSON stays in api_json.cc.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "prom/exposition.h"

namespace gpuscale::http {
class Client;
}  // namespace gpuscale::http

namespace gpuscale::prom {

enum class ResultType { kVector, kMatrix, kScalar, kString };
// "vector", "matrix", "scalar", "string".
std::string_view ResultTypeName(ResultType type);

// One sample of an instant vector. Labels keep the answer's order (Prometheus sorts them).
struct VectorSample {
  Labels metric;
  double timestamp = 0;  // Unix seconds, millisecond precision
  double value = 0;
};

struct MatrixSeries {
  Labels metric;
  std::vector<std::pair<double, double>> values;  // (Unix seconds, value), oldest first
};

// The `data` of a /api/v1/query answer; only the member for `type` is filled.
struct QueryResult {
  ResultType type = ResultType::kVector;
  std::vector<VectorSample> vector;
  std::vector<MatrixSeries> matrix;
  double scalar_timestamp = 0;  // kScalar and kString
  double scalar_value = 0;      // kScalar
  std::string string_value;     // kString
  std::vector<std::string> warnings;
};

// /api/v1/series: one label set per series.
struct SeriesSet {
  std::vector<Labels> series;
  std::vector<std::string> warnings;
};

// /api/v1/labels: label names.
struct LabelNames {
  std::vector<std::string> names;
  std::vector<std::string> warnings;
};

// Decoders of the API's JSON answers. A {"status":"error"} answer becomes an Error whose
// message is "<errorType>: <error>" and whose code follows errorType: bad_data and execution →
// kInvalidArgument, timeout → kDeadlineExceeded, canceled → kCancelled, unavailable →
// kUnavailable, not_found → kNotFound, anything else → kInternal. Malformed JSON or a wrong
// shape → kDataLoss naming the field, e.g. `data.result[2].value: expected [timestamp, "value"]`.
core::Result<QueryResult> DecodeQueryResponse(std::string_view json);
core::Result<SeriesSet> DecodeSeriesResponse(std::string_view json);
core::Result<LabelNames> DecodeLabelsResponse(std::string_view json);

// Decodes a /api/v1/series answer fed in pieces as it arrives, handing each series to a callback
// as soon as its label set is complete, so memory follows one series rather than the answer
// (100k series are tens of MB as text and more as a JSON tree). Results and errors are
// DecodeSeriesResponse's, except that a repeated "status" or "data" key is a kDataLoss error
// (series already handed over cannot be taken back). Series that arrive before "status"
// (Prometheus writes it first) are held until it does; those of an error answer are dropped.
// When Finish fails, the series handed over came from a bad answer: drop them. Not thread-safe.
class SeriesDecoder {
 public:
  // Called with each series' labels in answer order (duplicate names: the last value, in the
  // first one's place); it may move from them.
  using OnSeries = std::function<void(Labels& labels)>;
  explicit SeriesDecoder(OnSeries on_series);
  ~SeriesDecoder();
  SeriesDecoder(const SeriesDecoder&) = delete;
  SeriesDecoder& operator=(const SeriesDecoder&) = delete;

  // The next piece of the answer. False once the JSON is malformed (Finish says how); what is
  // fed after that is ignored.
  bool Feed(std::string_view piece);
  // The end of the answer: its warnings, or the error. Call once.
  core::Result<std::vector<std::string>> Finish();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

struct ApiClientOptions {
  // Prometheus's base URL with any path prefix ("http://prometheus:9090/prom"). A query string
  // in it is ignored (as prometheus-adapter does).
  std::string url;
  // Bound of each call. Queries also send it as `timeout=` so Prometheus stops evaluating; the
  // HTTP deadline is this plus 10% (at most 1 s more), so Prometheus's own timeout answer
  // usually arrives first. Both give kDeadlineExceeded.
  std::chrono::milliseconds timeout{30000};
  std::chrono::milliseconds connect_timeout{5000};
  // A file holding a bearer token, sent as "Authorization: Bearer <token>" unless `headers`
  // sets Authorization. Re-read whenever its size or modification time changes; surrounding
  // whitespace (a trailing newline) is trimmed.
  std::string bearer_token_file;
  // Extra header fields on every request ("X-Scope-OrgID", ...).
  std::vector<std::pair<std::string, std::string>> headers;
  // TLS for https:// URLs.
  std::string ca_file;  // PEM bundle; empty: the system's roots
  bool insecure_skip_verify = false;
  std::string cert_file;  // client certificate (PEM), optional
  std::string key_file;   // its key
  // Calls whose GET URL would be longer than this go as POST with a form body instead (long
  // series matchers); shorter ones use GET, as prometheus-adapter does.
  std::size_t max_get_url_bytes = 4096;
};

// A blocking Prometheus API client. Thread-safe. Errors: those of the decoders above; a
// non-JSON non-2xx answer → kUnavailable for 5xx (and 429), kUnauthenticated for 401,
// kPermissionDenied for 403, kInvalidArgument for other 4xx, each naming the status and the
// start of the body; connection failures → kUnavailable; a deadline → kDeadlineExceeded.
class ApiClient {
 public:
  // Fails with kInvalidArgument if the URL does not parse. `http` is used for every call if
  // given (tests), otherwise two clients are made from the options (see StreamSeries).
  static core::Result<std::unique_ptr<ApiClient>> Create(
      ApiClientOptions options, std::shared_ptr<http::Client> http = nullptr);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  // GET/POST /api/v1/query. `time` empty: Prometheus's now. `timeout` empty: options.timeout.
  core::Result<QueryResult> Query(std::string_view query,
                                  std::optional<core::Timestamp> time = std::nullopt,
                                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // GET/POST /api/v1/series with one match[] per selector.
  core::Result<SeriesSet> Series(const std::vector<std::string>& matchers,
                                 std::optional<core::Timestamp> start = std::nullopt,
                                 std::optional<core::Timestamp> end = std::nullopt);
  // The same call, decoded as the answer arrives: each series goes to `on_series` (see
  // SeriesDecoder) instead of being kept, and the warnings are returned. On an error, drop the
  // series already handed over. Answers are read on a connection pool and I/O thread of their
  // own, so a slow `on_series` holds up no query.
  core::Result<std::vector<std::string>> StreamSeries(
      const std::vector<std::string>& matchers, const SeriesDecoder::OnSeries& on_series,
      std::optional<core::Timestamp> start = std::nullopt,
      std::optional<core::Timestamp> end = std::nullopt);
  // GET/POST /api/v1/labels, optionally restricted to series matching `matchers`.
  core::Result<LabelNames> ListLabels(const std::vector<std::string>& matchers = {},
                                      std::optional<core::Timestamp> start = std::nullopt,
                                      std::optional<core::Timestamp> end = std::nullopt);

  const ApiClientOptions& options() const { return options_; }

 private:
  ApiClient(ApiClientOptions options, std::shared_ptr<http::Client> http,
            std::shared_ptr<http::Client> stream_http, std::string origin, std::string prefix);
  // Sends `params` (already encoded "k=v" pairs) to `path` and returns the 2xx or JSON error
  // body; turns other answers into errors. With `on_body`, a 2xx body goes there piece by
  // piece over stream_http_ instead (and the body returned is empty).
  core::Result<std::string> Call(
      std::string_view path, const std::vector<std::pair<std::string, std::string>>& params,
      std::chrono::milliseconds timeout,
      const std::function<core::Status(std::string_view)>* on_body = nullptr);
  core::Result<std::optional<std::string>> BearerToken();

  ApiClientOptions options_;
  std::shared_ptr<http::Client> http_;
  std::shared_ptr<http::Client> stream_http_;  // for StreamSeries; http_ when one was given
  std::string origin_;                         // scheme://host:port
  std::string prefix_;                         // path prefix without a trailing '/'

  std::mutex token_mu_;
  std::optional<std::string> token_;  // guarded by token_mu_
  int64_t token_mtime_ns_ = -1;       // guarded by token_mu_
  int64_t token_size_ = -1;           // guarded by token_mu_
};

}  // namespace gpuscale::prom
