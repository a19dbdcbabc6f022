#include "test/support/adapters.h"

#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include "http/client.h"

namespace gpuscale::testing {

std::string_view AdapterName(AdapterKind kind) {
  return kind == AdapterKind::kGpuscale ? "gpuscale" : "prometheus-adapter";
}

AggregatorClient::AggregatorClient(const ControlPlaneCerts& certs, std::string user,
                                   std::vector<std::string> groups,
                                   std::chrono::milliseconds timeout)
    : user_(std::move(user)), groups_(std::move(groups)) {
  http::ClientOptions options;
  options.connect_timeout = std::chrono::milliseconds(2000);
  options.request_timeout = timeout;
  // Both adapters serve self-signed certificates from --cert-dir; the aggregator would check
  // them against the APIService's caBundle, which is not under test here.
  options.tls = {.insecure_skip_verify = true};
  if (!user_.empty()) {
    options.tls.cert_file = certs.front_proxy_client_cert;
    options.tls.key_file = certs.front_proxy_client_key;
  }
  client_ = http::Client::Create(options);
}

AggregatorClient::~AggregatorClient() = default;

core::Result<http::Response> AggregatorClient::Get(
    std::uint16_t port, std::string_view target, std::optional<std::chrono::milliseconds> timeout) {
  http::Request request;
  request.headers.Add("Accept", "application/json");
  if (!user_.empty()) {
    request.headers.Add("X-Remote-User", user_);
    for (const auto& group : groups_) request.headers.Add("X-Remote-Group", group);
  }
  return client_->Send(fmt::format("https://127.0.0.1:{}{}", port, target), std::move(request),
                       timeout);
}

core::Result<std::unique_ptr<AdapterProcess>> AdapterProcess::Start(AdapterKind kind,
                                                                    const AdapterProcessOptions& o,
                                                                    AggregatorClient& client) {
  std::string binary;
  std::vector<std::string> argv;
  if (kind == AdapterKind::kGpuscale) {
    binary = GpuscaleBinary();
    argv = {binary, "adapter"};
  } else {
    GPUSCALE_ASSIGN_OR_RETURN(binary, PeerBinary("adapter"));
    argv = {binary};
  }
  const std::string name(AdapterName(kind));
  const std::uint16_t port = FreePort();
  const std::string cert_dir = o.work_dir + "/" + name + "-certs";
  std::filesystem::create_directories(cert_dir);
  for (std::string arg :
       {"--config=" + o.config_file, "--prometheus-url=" + o.prometheus_url,
        std::string("--bind-address=127.0.0.1"), fmt::format("--secure-port={}", port),
        "--cert-dir=" + cert_dir, "--lister-kubeconfig=" + o.kubeconfig,
        "--authentication-kubeconfig=" + o.kubeconfig, "--authorization-kubeconfig=" + o.kubeconfig,
        "--metrics-relist-interval=" + o.relist_interval}) {
    argv.push_back(std::move(arg));
  }
  argv.insert(argv.end(), o.extra_args.begin(), o.extra_args.end());
  auto process = Subprocess::Start(
      {.argv = argv, .log_file = fmt::format("{}/{}-{}.log", o.work_dir, name, port)});
  if (!process.ok()) return process.error();
  std::unique_ptr<AdapterProcess> adapter(new AdapterProcess(kind, port, std::move(*process)));
  int last_status = 0;
  bool ready = WaitFor(
      [&] {
        if (!adapter->process().Running()) return true;
        auto r = client.Get(port, "/readyz", std::chrono::milliseconds(2000));
        last_status = r.ok() ? r->status : 0;
        return last_status == 200;
      },
      o.ready_timeout, std::chrono::milliseconds(100));
  if (!ready || !adapter->process().Running()) {
    std::string log = adapter->process().ReadLog();
    if (log.size() > 3000) log = "..." + log.substr(log.size() - 3000);
    return core::Unavailable(fmt::format("{} on port {} is not ready (last /readyz: HTTP {}): {}",
                                         name, port, last_status, log));
  }
  return adapter;
}

struct FakePrometheus::State {
  mutable std::mutex mu;
  std::vector<std::pair<std::string, std::shared_ptr<const std::string>>> series;
  std::string vector;
  Mode mode = Mode::kOk;
  std::chrono::milliseconds delay{0};
  std::atomic<int> queries{0};
  std::atomic<int> series_calls{0};
};

core::Result<std::unique_ptr<FakePrometheus>> FakePrometheus::Start() {
  std::unique_ptr<FakePrometheus> p(new FakePrometheus());
  p->state_ = std::make_shared<State>();
  GPUSCALE_RETURN_IF_ERROR(p->Listen());
  return p;
}

FakePrometheus::~FakePrometheus() { Stop(); }

core::Status FakePrometheus::Listen() {
  http::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = port_;
  options.io_threads = 16;  // each hanging answer holds one
  auto server = http::Server::Start(
      options, http::Sync([this](const http::Request& request) { return Answer(request); }));
  if (!server.ok()) return server.error();
  server_ = std::move(*server);
  port_ = server_->port();
  return {};
}

void FakePrometheus::Stop() {
  if (server_) server_->Stop(std::chrono::milliseconds(0));
  server_.reset();
}

core::Status FakePrometheus::Restart() {
  Stop();
  return Listen();
}

void FakePrometheus::SetSeries(std::string objects, std::string match_contains) {
  auto body =
      std::make_shared<const std::string>(R"({"status":"success","data":[)" + objects + "]}");
  std::lock_guard lock(state_->mu);
  for (auto& [key, value] : state_->series) {
    if (key == match_contains) {
      value = std::move(body);
      return;
    }
  }
  state_->series.emplace_back(std::move(match_contains), std::move(body));
}

void FakePrometheus::SetVector(std::string samples) {
  std::lock_guard lock(state_->mu);
  state_->vector = std::move(samples);
}

void FakePrometheus::SetMode(Mode mode, std::chrono::milliseconds delay) {
  std::lock_guard lock(state_->mu);
  state_->mode = mode;
  state_->delay = delay;
}

std::string FakePrometheus::url() const { return fmt::format("http://127.0.0.1:{}", port_); }

int FakePrometheus::queries() const { return state_->queries.load(); }

int FakePrometheus::series_calls() const { return state_->series_calls.load(); }

http::Response FakePrometheus::Answer(const http::Request& request) {
  const std::string path = request.Path();
  Mode mode;
  std::chrono::milliseconds delay;
  std::string body;
  std::shared_ptr<const std::string> series;
  {
    std::lock_guard lock(state_->mu);
    mode = state_->mode;
    delay = state_->delay;
    if (path == "/api/v1/series") {
      // match[] may come in the URL (GET) or a form body (POST).
      const std::string params = http::PercentDecode(
          std::string(request.RawQuery()) + "&" + request.body, /*plus_is_space=*/true);
      std::shared_ptr<const std::string> fallback;  // for "": only if no other key matches
      for (const auto& [key, value] : state_->series) {
        if (key.empty()) {
          fallback = value;
        } else if (!series && params.find(key) != std::string::npos) {
          series = value;
        }
      }
      if (!series) series = fallback;
      if (!series)
        series = std::make_shared<const std::string>(R"({"status":"success","data":[]})");
    } else if (path == "/api/v1/query") {
      body = R"({"status":"success","data":{"resultType":"vector","result":[)" + state_->vector +
             "]}}";
    }
  }
  if (path == "/api/v1/query") ++state_->queries;
  if (series) ++state_->series_calls;
  if (body.empty() && !series) return http::Response::Text(404, "404 page not found\n");
  switch (mode) {
    case Mode::kOk:
      break;
    case Mode::kSlow:
      // A Prometheus stuck evaluating a query: the answer comes, but late. Series calls stay
      // fast, so relists do not tie up the server's threads.
      if (path == "/api/v1/query") std::this_thread::sleep_for(delay);
      break;
    case Mode::kGarbage:
      return http::Response::Text(200, "<html>this is not the Prometheus API</html>",
                                  "application/json");
    case Mode::kError:
      return http::Response::Json(
          422, R"({"status":"error","errorType":"execution","error":"query processing would )"
               R"(load too many samples into memory in query execution"})");
  }
  return http::Response::Json(200, series ? *series : body);
}

}  // namespace gpuscale::testing
