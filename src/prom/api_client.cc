// The Prometheus API client: URL and form building, bearer token refresh, and turning HTTP
// answers into results. JSON decoding is in api_json.cc.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "http/client.h"
#include "http/message.h"
#include "prom/api.h"

namespace gpuscale::prom {
namespace {

// Seconds with millisecond precision, as Prometheus takes `time`, `start` and `end`.
std::string UnixSeconds(core::Timestamp t) {
  int64_t ms = std::chrono::round<std::chrono::milliseconds>(t.time_since_epoch()).count();
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%03lld", ms < 0 ? "-" : "",
                static_cast<long long>(std::llabs(ms) / 1000),
                static_cast<long long>(std::llabs(ms) % 1000));
  return buf;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string BodyExcerpt(std::string_view body) {
  body = Trim(body);
  constexpr std::size_t kMax = 200;
  std::string out(body.substr(0, kMax));
  if (body.size() > kMax) out += "...";
  return out;
}

bool LooksLikeApiJson(std::string_view body) {
  body = Trim(body);
  return body.starts_with('{') && body.find("\"status\"") != std::string_view::npos;
}

}  // namespace

core::Result<std::unique_ptr<ApiClient>> ApiClient::Create(ApiClientOptions options,
                                                           std::shared_ptr<http::Client> http) {
  auto url = http::ParseUrl(options.url);
  if (!url.ok()) {
    return core::InvalidArgument("Prometheus URL \"" + options.url + "\": " + url.error().message);
  }
  std::string prefix = url->target.substr(0, url->target.find('?'));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  std::shared_ptr<http::Client> stream_http;
  if (http == nullptr) {
    http::ClientOptions http_options;
    http_options.connect_timeout = options.connect_timeout;
    http_options.request_timeout = options.timeout;
    http_options.tls.ca_file = options.ca_file;
    http_options.tls.insecure_skip_verify = options.insecure_skip_verify;
    http_options.tls.cert_file = options.cert_file;
    http_options.tls.key_file = options.key_file;
    http = http::Client::Create(http_options);
    stream_http = http::Client::Create(std::move(http_options));
  } else {
    stream_http = http;
  }
  std::string origin = url->Origin();
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(options), std::move(http),
                                                  std::move(stream_http), std::move(origin),
                                                  std::move(prefix)));
}

ApiClient::ApiClient(ApiClientOptions options, std::shared_ptr<http::Client> http,
                     std::shared_ptr<http::Client> stream_http, std::string origin,
                     std::string prefix)
    : options_(std::move(options)),
      http_(std::move(http)),
      stream_http_(std::move(stream_http)),
      origin_(std::move(origin)),
      prefix_(std::move(prefix)) {}

ApiClient::~ApiClient() = default;

core::Result<std::optional<std::string>> ApiClient::BearerToken() {
  if (options_.bearer_token_file.empty()) return std::optional<std::string>();
  struct stat st;
  if (stat(options_.bearer_token_file.c_str(), &st) != 0) {
    return core::FailedPrecondition("bearer token file " + options_.bearer_token_file +
                                    ": cannot read it");
  }
  int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  std::lock_guard lock(token_mu_);
  if (token_ && mtime_ns == token_mtime_ns_ && st.st_size == token_size_) return token_;
  std::ifstream in(options_.bearer_token_file, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) {
    return core::FailedPrecondition("bearer token file " + options_.bearer_token_file +
                                    ": cannot read it");
  }
  std::string token(Trim(ss.str()));
  if (token.empty()) {
    return core::FailedPrecondition("bearer token file " + options_.bearer_token_file +
                                    " is empty");
  }
  token_ = std::move(token);
  token_mtime_ns_ = mtime_ns;
  token_size_ = st.st_size;
  return token_;
}

core::Result<std::string> ApiClient::Call(
    std::string_view path, const std::vector<std::pair<std::string, std::string>>& params,
    std::chrono::milliseconds timeout,
    const std::function<core::Status(std::string_view)>* on_body) {
  std::string form;
  for (const auto& [name, value] : params) {
    if (!form.empty()) form.push_back('&');
    form += http::PercentEncode(name);
    form.push_back('=');
    form += http::PercentEncode(value);
  }
  std::string url = origin_ + prefix_ + std::string(path);
  http::Request request;
  bool post = url.size() + 1 + form.size() > options_.max_get_url_bytes;
  if (post) {
    request.method = "POST";
    request.body = std::move(form);
    request.headers.Set("Content-Type", "application/x-www-form-urlencoded");
  } else {
    request.method = "GET";
    if (!form.empty()) url += "?" + form;
  }
  request.headers.Set("Accept", "application/json");
  for (const auto& [name, value] : options_.headers) request.headers.Add(name, value);
  if (!request.headers.Get("Authorization")) {
    GPUSCALE_ASSIGN_OR_RETURN(std::optional<std::string> token, BearerToken());
    if (token) request.headers.Set("Authorization", "Bearer " + *token);
  }
  // A little slack past the query timeout Prometheus was given, so its own answer wins.
  auto grace = std::min<std::chrono::milliseconds>(timeout / 10, std::chrono::seconds(1));
  auto response = on_body != nullptr ? stream_http_->SendStreaming(url, std::move(request),
                                                                   *on_body, timeout + grace)
                                     : http_->Send(url, std::move(request), timeout + grace);
  if (!response.ok()) return response.error().WithContext("Prometheus " + std::string(path));
  int status = response->status;
  if (status >= 200 && status < 300) return std::move(response->body);
  // Prometheus answers API errors (400, 422, 503, ...) with a JSON body the decoders turn into
  // the precise error; anything else (a proxy's HTML page) is classified by status here.
  if (LooksLikeApiJson(response->body)) return std::move(response->body);
  std::string message = "Prometheus " + std::string(path) + " answered HTTP " +
                        std::to_string(status) + ": " + BodyExcerpt(response->body);
  if (status >= 500 || status == 429) return core::Unavailable(message);
  if (status == 401) return core::MakeError(core::Code::kUnauthenticated, message);
  if (status == 403) return core::MakeError(core::Code::kPermissionDenied, message);
  if (status == 404) return core::NotFound(message);
  if (status >= 400) return core::InvalidArgument(message);
  return core::Internal(message);
}

core::Result<QueryResult> ApiClient::Query(std::string_view query,
                                           std::optional<core::Timestamp> time,
                                           std::optional<std::chrono::milliseconds> timeout) {
  std::chrono::milliseconds t = timeout.value_or(options_.timeout);
  std::vector<std::pair<std::string, std::string>> params = {{"query", std::string(query)}};
  if (time) params.emplace_back("time", UnixSeconds(*time));
  // Prometheus reads a plain number as seconds.
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%lld.%03lld", static_cast<long long>(t.count() / 1000),
                static_cast<long long>(t.count() % 1000));
  params.emplace_back("timeout", seconds);
  GPUSCALE_ASSIGN_OR_RETURN(std::string body, Call("/api/v1/query", params, t));
  return DecodeQueryResponse(body);
}

core::Result<SeriesSet> ApiClient::Series(const std::vector<std::string>& matchers,
                                          std::optional<core::Timestamp> start,
                                          std::optional<core::Timestamp> end) {
  SeriesSet result;
  GPUSCALE_ASSIGN_OR_RETURN(
      result.warnings,
      StreamSeries(
          matchers, [&result](Labels& labels) { result.series.push_back(std::move(labels)); },
          start, end));
  return result;
}

core::Result<std::vector<std::string>> ApiClient::StreamSeries(
    const std::vector<std::string>& matchers, const SeriesDecoder::OnSeries& on_series,
    std::optional<core::Timestamp> start, std::optional<core::Timestamp> end) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const std::string& m : matchers) params.emplace_back("match[]", m);
  if (start) params.emplace_back("start", UnixSeconds(*start));
  if (end) params.emplace_back("end", UnixSeconds(*end));
  SeriesDecoder decoder(on_series);
  bool malformed = false;
  std::function<core::Status(std::string_view)> feed = [&](std::string_view piece) {
    if (decoder.Feed(piece)) return core::Status::Ok();
    // Not JSON: stop reading; the decoder's error is the answer.
    malformed = true;
    return core::Status(core::DataLoss("malformed series answer"));
  };
  auto body = Call("/api/v1/series", params, options_.timeout, &feed);
  if (!body.ok() && !malformed) return body.error();
  // A JSON error answer (4xx, 5xx) comes back whole rather than streamed.
  if (body.ok() && !body->empty()) decoder.Feed(*body);
  return decoder.Finish();
}

core::Result<LabelNames> ApiClient::ListLabels(const std::vector<std::string>& matchers,
                                               std::optional<core::Timestamp> start,
                                               std::optional<core::Timestamp> end) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const std::string& m : matchers) params.emplace_back("match[]", m);
  if (start) params.emplace_back("start", UnixSeconds(*start));
  if (end) params.emplace_back("end", UnixSeconds(*end));
  GPUSCALE_ASSIGN_OR_RETURN(std::string body, Call("/api/v1/labels", params, options_.timeout));
  return DecodeLabelsResponse(body);
}

}  // namespace gpuscale::prom
