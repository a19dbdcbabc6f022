#include "local/up.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>

#include "core/clock.h"
#include "gpu/emu_state.h"
#include "hpa/autoscaler.h"
#include "hpa/spec.h"
#include "http/client.h"
#include "http/server.h"
#include "http/tls_certs.h"
#include "local/controller.h"
#include "local/metrics_api.h"
#include "local/metrics_source.h"
#include "local/process.h"
#include "local/replicas.h"
#include "local/router.h"
#include "local/supervisor.h"
#include "local/view.h"

namespace gpuscale::local {

std::string_view DefaultHpaYaml() {
  // The guide's gpu-horizontal-pod-autoscaler.yaml, as its companion files describe it.
  static constexpr std::string_view kYaml = R"(apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: gemma-server-gpu-hpa
  namespace: vllm-example
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: vllm-gemma-deployment
  minReplicas: 1
  maxReplicas: 5
  metrics:
    - type: Pods
      pods:
        metric:
          name: gpu_utilization_percent
        target:
          type: AverageValue
          averageValue: "20"
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies:
        - type: Pods
          value: 4
          periodSeconds: 15
        - type: Percent
          value: 100
          periodSeconds: 15
      selectPolicy: Max
    scaleDown:
      stabilizationWindowSeconds: 30
      policies:
        - type: Percent
          value: 100
          periodSeconds: 15
      selectPolicy: Max
)";
  return kYaml;
}

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

std::string SelfPath() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("gpuscale") : p.string();
}

std::string TimestampForPath() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  return fmt::format("{:04}{:02}{:02}-{:02}{:02}{:02}", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<double> Percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(idx, v.size() - 1)];
}

std::string QuantityText(const hpa::MetricTarget& t) {
  int64_t milli = t.average_value_milli.value_or(t.value_milli.value_or(0));
  if (t.type == hpa::MetricTargetType::kUtilization) {
    return fmt::format("{}%", t.average_utilization.value_or(0));
  }
  return FormatMilliQuantity(milli);
}

double TargetValue(const hpa::MetricTarget& t) {
  if (t.type == hpa::MetricTargetType::kUtilization) return t.average_utilization.value_or(0);
  return static_cast<double>(t.average_value_milli.value_or(t.value_milli.value_or(0))) / 1000.0;
}

// Everything the servers' handlers read, written by the control loop.
struct Shared {
  std::mutex mu;
  PodMetrics metrics;
  std::string state_json = "{}";
  std::deque<std::string> history;  // snapshots as JSON, oldest first (bounded)
};

class Up {
 public:
  explicit Up(UpOptions options) : o_(std::move(options)) {}
  int Run();

 private:
  core::Status Prepare();
  core::Status StartServers();
  core::Status StartExporter();
  void StartLoad();
  void StopLoad();
  void Sync(core::Timestamp now);
  void Emit(const ViewEvent& e);
  void WriteReport();

  UpOptions o_;
  core::SystemClock clock_;
  steady_clock::time_point start_ = steady_clock::now();
  hpa::HpaSpec spec_;
  std::unique_ptr<hpa::Autoscaler> autoscaler_;
  std::string emu_dir_;
  std::string log_dir_;
  ReplicaTable table_;
  std::unique_ptr<Supervisor> supervisor_;
  std::unique_ptr<http::AsyncClient> proxy_client_;
  std::unique_ptr<http::Client> probe_client_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<http::Server> metrics_api_;
  std::unique_ptr<http::Server> ui_;
  std::unique_ptr<MetricsSource> source_;
  std::optional<ChildProcess> exporter_;
  std::uint16_t exporter_port_ = 0;
  std::optional<ChildProcess> load_;
  std::optional<steady_clock::time_point> load_started_;
  std::optional<double> reaction_s_;
  int spec_replicas_ = 1;
  int max_seen_replicas_ = 0;
  std::uint64_t last_requests_ = 0;
  steady_clock::time_point last_rate_time_ = steady_clock::now();
  std::vector<ViewEvent> events_;
  std::ofstream event_log_;
  Shared shared_;
  bool tty_ = false;
};

core::Status Up::Prepare() {
  if (o_.self_path.empty()) o_.self_path = SelfPath();
  if (o_.out_dir.empty()) o_.out_dir = "gpuscale-up-" + TimestampForPath();
  log_dir_ = o_.out_dir + "/logs";
  std::error_code ec;
  std::filesystem::create_directories(log_dir_, ec);
  if (ec) return core::Internal(fmt::format("{}: cannot create: {}", log_dir_, ec.message()));
  event_log_.open(o_.out_dir + "/events.jsonl", std::ios::trunc);

  std::string text;
  std::string source = "default HPA";
  if (o_.hpa_file.empty()) {
    text = std::string(DefaultHpaYaml());
  } else {
    std::ifstream in(o_.hpa_file);
    if (!in) return core::NotFound(fmt::format("{}: cannot open", o_.hpa_file));
    std::stringstream buf;
    buf << in.rdbuf();
    text = buf.str();
    source = o_.hpa_file;
  }
  GPUSCALE_ASSIGN_OR_RETURN(spec_, hpa::ParseHpaSpec(text, source));
  if (spec_.name.empty()) spec_.name = "hpa";
  for (const auto& m : spec_.metrics) {
    if (m.type != hpa::MetricSourceType::kPods) {
      return core::InvalidArgument(fmt::format(
          "{}: gpuscale up serves Pods metrics only; metric type {} is not available locally",
          source, hpa::MetricSourceTypeName(m.type)));
    }
  }
  autoscaler_ = std::make_unique<hpa::Autoscaler>(spec_);
  spec_replicas_ = o_.initial_replicas > 0 ? o_.initial_replicas : spec_.min_replicas;

  if (o_.engine_cmd.empty()) {
    emu_dir_ = o_.out_dir + "/gpus";
    for (int i = 0; i < spec_.max_replicas; ++i) {
      GPUSCALE_RETURN_IF_ERROR(gpu::emu::CreateGpu(emu_dir_, i, {}));
    }
  }
  tty_ = o_.live_view && ::isatty(STDOUT_FILENO);
  return core::Status::Ok();
}

core::Status Up::StartServers() {
  http::ClientOptions proxy_options;
  proxy_options.connect_timeout = milliseconds(2000);
  proxy_client_ = http::AsyncClient::Create(proxy_options, 1);
  http::ClientOptions probe_options;
  probe_options.connect_timeout = milliseconds(300);
  probe_options.request_timeout = milliseconds(500);
  probe_client_ = http::Client::Create(probe_options);

  RouterOptions router_options;
  router_options.address = o_.address;
  router_options.port = o_.router_port;
  auto router = Router::Start(router_options, table_, *proxy_client_);
  if (!router.ok()) return router.error().WithContext("router");
  router_ = std::move(router).value();

  // The custom metrics API, over TLS with a self-signed certificate like the adapter's.
  http::ServerCertOptions cert_options;
  cert_options.dns_names = {"localhost"};
  cert_options.ip_addresses = {o_.address};
  auto cert = http::CreateSelfSignedServerCert(cert_options);
  if (!cert.ok()) return cert.error().WithContext("metrics API certificate");
  std::string cert_dir = o_.out_dir + "/certs";
  GPUSCALE_RETURN_IF_ERROR(
      http::WritePemFiles(*cert, cert_dir + "/tls.crt", cert_dir + "/tls.key"));
  http::ServerOptions api_options;
  api_options.address = o_.address;
  api_options.port = o_.metrics_api_port;
  api_options.tls = http::TlsServerOptions{cert_dir + "/tls.crt", cert_dir + "/tls.key", "", false};
  auto api =
      http::Server::Start(api_options, http::Sync([this](const http::Request& request) {
                            std::lock_guard lock(shared_.mu);
                            return HandleMetricsApi(request, shared_.metrics, o_.namespace_name);
                          }));
  if (!api.ok()) return api.error().WithContext("custom metrics API");
  metrics_api_ = std::move(api).value();

  if (o_.ui_port != 0) {
    http::ServerOptions ui_options;
    ui_options.address = o_.address;
    ui_options.port = o_.ui_port;
    auto ui = http::Server::Start(ui_options, http::Sync([this](const http::Request& request) {
                                    std::string path = request.Path();
                                    if (path == "/")
                                      return http::Response::Text(200, std::string(UiPageHtml()),
                                                                  "text/html");
                                    std::lock_guard lock(shared_.mu);
                                    if (path == "/api/state")
                                      return http::Response::Json(200, shared_.state_json);
                                    if (path == "/api/history") {
                                      std::string body = "[";
                                      for (size_t i = 0; i < shared_.history.size(); ++i) {
                                        if (i) body += ",";
                                        body += shared_.history[i];
                                      }
                                      return http::Response::Json(200, body + "]");
                                    }
                                    return http::Response::Text(404, "not found\n");
                                  }));
    if (!ui.ok()) return ui.error().WithContext("web page");
    ui_ = std::move(ui).value();
  }
  return core::Status::Ok();
}

core::Status Up::StartExporter() {
  // The exporter is the same `gpuscale exporter` a DaemonSet runs; `up` scrapes it directly.
  GPUSCALE_ASSIGN_OR_RETURN(std::uint16_t port, FreeTcpPort(o_.address));
  exporter_port_ = port;
  ProcessSpec spec;
  spec.argv = {o_.self_path, "exporter", fmt::format("--address={}:{}", o_.address, port),
               fmt::format("--collect-interval={}", o_.exporter_interval.count())};
  if (!emu_dir_.empty()) spec.argv.push_back("--emu-dir=" + emu_dir_);
  spec.log_path = log_dir_ + "/exporter.log";
  auto child = ChildProcess::Spawn(spec);
  if (!child.ok()) return child.error().WithContext("exporter");
  exporter_.emplace(std::move(child).value());
  return core::Status::Ok();
}

void Up::StartLoad() {
  if (o_.load == "none" || load_) return;
  ProcessSpec spec;
  std::string seconds = fmt::format("{}s", o_.load_duration.count() / 1000.0);
  std::string port = std::to_string(router_->port());
  if (o_.load == "looper") {
    spec.argv = {o_.self_path, "load", "looper", port, "--duration", seconds};
  } else if (o_.load.rfind("poisson:", 0) == 0) {
    spec.argv = {o_.self_path,
                 "load",
                 "run",
                 "--url",
                 fmt::format("http://{}:{}", o_.address, port),
                 "--poisson",
                 o_.load.substr(8),
                 "--duration",
                 seconds};
  } else if (o_.load.rfind("trace:", 0) == 0) {
    spec.argv = {o_.self_path,
                 "load",
                 "run",
                 "--url",
                 fmt::format("http://{}:{}", o_.address, port),
                 "--trace",
                 o_.load.substr(6),
                 "--duration",
                 seconds};
  }
  spec.log_path = log_dir_ + "/load.log";
  auto child = ChildProcess::Spawn(spec);
  if (!child.ok()) {
    Emit({clock_.Now(), "Warning", "LoadFailed", "load", child.error().message});
    return;
  }
  load_.emplace(std::move(child).value());
  load_started_ = steady_clock::now();
  Emit({clock_.Now(), "Normal", "LoadStarted", "load", o_.load + " for " + seconds});
}

void Up::StopLoad() {
  if (load_ && load_->running()) load_->Signal(SIGTERM);
}

void Up::Emit(const ViewEvent& e) {
  events_.push_back(e);
  if (events_.size() > 200) events_.erase(events_.begin());
  event_log_ << EncodeEventJson(e) << "\n";
  event_log_.flush();
  if (!tty_) spdlog::info("{} {} {}: {}", e.reason, e.object, e.type, e.message);
}

void Up::Sync(core::Timestamp now) {
  std::vector<ReplicaView> replicas = supervisor_->Snapshot();
  PodMetrics metrics = source_->Collect(now);
  hpa::State state = BuildState(spec_, spec_replicas_, replicas, metrics, now);
  hpa::Decision d = autoscaler_->Sync(state);
  for (const hpa::Event& e : d.events) {
    Emit({now, e.type, e.reason, "hpa/" + spec_.name, e.message});
  }
  if (d.desired_replicas != spec_replicas_) {
    if (d.desired_replicas > spec_replicas_ && load_started_ && !reaction_s_) {
      reaction_s_ = std::chrono::duration<double>(steady_clock::now() - *load_started_).count();
      Emit({now, "Normal", "ReactionTime", "hpa/" + spec_.name,
            fmt::format("first scale-up {:.2f} s after the load started", *reaction_s_)});
    }
    spec_replicas_ = d.desired_replicas;
    supervisor_->SetDesired(spec_replicas_);
  }

  UpSnapshot s;
  s.time = now;
  s.uptime_s = std::chrono::duration<double>(steady_clock::now() - start_).count();
  s.hpa_name = spec_.name;
  s.deployment = spec_.scale_target_ref.name;
  s.min_replicas = spec_.min_replicas;
  s.max_replicas = spec_.max_replicas;
  s.desired_replicas = spec_replicas_;
  for (const ReplicaView& r : replicas) {
    if (r.phase == Phase::kDraining || r.phase == Phase::kStopping) continue;
    ++s.current_replicas;
    if (r.phase == Phase::kReady) ++s.ready_replicas;
  }
  max_seen_replicas_ = std::max(max_seen_replicas_, s.current_replicas);
  s.replicas = replicas;
  for (size_t i = 0; i < spec_.metrics.size(); ++i) {
    const hpa::MetricSpec& m = spec_.metrics[i];
    MetricStatus ms;
    ms.name = m.metric_name;
    ms.target = QuantityText(m.target);
    ms.target_value = TargetValue(m.target);
    if (i < d.metrics.size()) {
      const hpa::MetricProposal& p = d.metrics[i];
      if (p.valid) {
        ms.proposal = p.replicas;
        if (p.current_average_value_milli) {
          ms.current = static_cast<double>(*p.current_average_value_milli) / 1000.0;
        }
      } else {
        ms.error = p.error;
      }
    }
    s.metrics.push_back(ms);
  }
  for (const hpa::Condition& c : d.conditions) {
    s.conditions.push_back(fmt::format("{} {} {}: {}", c.type, hpa::ConditionStatusName(c.status),
                                       c.reason, c.message));
  }
  RouterStats rs = router_->stats();
  auto t = steady_clock::now();
  double dt = std::chrono::duration<double>(t - last_rate_time_).count();
  if (dt > 0) s.request_rate = static_cast<double>(rs.requests - last_requests_) / dt;
  last_requests_ = rs.requests;
  last_rate_time_ = t;
  s.requests_total = rs.requests;
  std::vector<double> ttfts = router_->RecentTtfts(milliseconds(30000));
  s.ttft_p50_s = Percentile(ttfts, 0.5);
  s.ttft_p99_s = Percentile(ttfts, 0.99);
  s.crashes = supervisor_->crashes();
  s.load = o_.load;

  std::string json = EncodeSnapshotJson(s);
  {
    std::lock_guard lock(shared_.mu);
    shared_.metrics = std::move(metrics);
    shared_.state_json = json;
    shared_.history.push_back(json);
    if (shared_.history.size() > 7200) shared_.history.pop_front();
  }
  if (tty_) {
    std::string screen = "\x1b[H\x1b[2J" + RenderTerminal(s, events_);
    screen += fmt::format(
        "\nrouter http://{}:{}   metrics API https://{}:{}   page http://{}:{}   "
        "Ctrl-C stops\n",
        o_.address, router_->port(), o_.address, metrics_api_->port(), o_.address,
        ui_ ? ui_->port() : 0);
    std::fwrite(screen.data(), 1, screen.size(), stdout);
    std::fflush(stdout);
  } else if (o_.live_view) {
    std::printf("%s\n", RenderLine(s).c_str());
    std::fflush(stdout);
  }
}

void Up::WriteReport() {
  std::string history;
  {
    std::lock_guard lock(shared_.mu);
    history = "[";
    for (size_t i = 0; i < shared_.history.size(); ++i) {
      if (i) history += ",";
      history += shared_.history[i];
    }
    history += "]";
  }
  {
    std::ofstream out(o_.out_dir + "/history.json", std::ios::trunc);
    out << history << "\n";
  }
  {
    // The live page with its data embedded, so it opens from disk with no server.
    std::string page(UiPageHtml());
    std::string marker = "<script>";
    size_t at = page.rfind(marker);
    std::string data = "<script>window.GPUSCALE_HISTORY=" + history + ";</script>\n";
    page.insert(at, data);
    std::ofstream out(o_.out_dir + "/report.html", std::ios::trunc);
    out << page;
  }
  RouterStats rs = router_->stats();
  std::vector<double> ttfts = router_->RecentTtfts(std::chrono::hours(24));
  auto p50 = Percentile(ttfts, 0.5), p99 = Percentile(ttfts, 0.99);
  std::string summary = fmt::format(
      "{{\"hpa\":\"{}\",\"max_replicas_reached\":{},\"final_replicas\":{},\"requests\":{},"
      "\"no_replica_503\":{},\"upstream_errors\":{},\"crashes\":{},\"reaction_time_s\":{},"
      "\"ttft_p50_s\":{},\"ttft_p99_s\":{}}}\n",
      spec_.name, max_seen_replicas_, spec_replicas_, rs.requests, rs.no_replica,
      rs.upstream_errors, supervisor_->crashes(),
      reaction_s_ ? fmt::format("{:.3f}", *reaction_s_) : "null",
      p50 ? fmt::format("{:.4f}", *p50) : "null", p99 ? fmt::format("{:.4f}", *p99) : "null");
  std::ofstream(o_.out_dir + "/summary.json", std::ios::trunc) << summary;
  std::printf("\ngpuscale up: scaled between 1 and %d replicas; %llu requests; reaction time %s\n",
              max_seen_replicas_, static_cast<unsigned long long>(rs.requests),
              reaction_s_ ? fmt::format("{:.2f} s", *reaction_s_).c_str() : "n/a");
  std::printf("report: %s/report.html (summary.json, events.jsonl, history.json, logs/)\n",
              o_.out_dir.c_str());
}

int Up::Run() {
  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  auto fail = [](const core::Error& e) {
    std::fprintf(stderr, "gpuscale up: %s\n", e.message.c_str());
    return 1;
  };
  if (core::Status s = Prepare(); !s.ok()) return fail(s.error());
  if (core::Status s = StartServers(); !s.ok()) return fail(s.error());
  if (core::Status s = StartExporter(); !s.ok()) return fail(s.error());

  SupervisorOptions so;
  so.command = o_.engine_cmd;
  if (so.command.empty()) {
    so.command = fmt::format(
        "'{}' engine --host {} --port {{port}} --emu-dir {{emu_dir}} --gpu-index {{gpu}} {}",
        o_.self_path, o_.address, o_.engine_args);
  }
  so.emu_dir = emu_dir_;
  so.log_dir = log_dir_;
  so.pod_prefix = spec_.scale_target_ref.name;
  so.max_replicas = spec_.max_replicas;
  std::string address = o_.address;
  supervisor_ = std::make_unique<Supervisor>(
      so, clock_, table_,
      [this, address](const Replica& r) {
        auto response = probe_client_->Get(fmt::format("http://{}:{}/health", address, r.port));
        return response.ok() && response->status == 200;
      },
      [address]() -> std::uint16_t { return FreeTcpPort(address).value_or(0); });
  supervisor_->SetDesired(spec_replicas_);

  if (!o_.prometheus_url.empty()) {
    auto source =
        PrometheusSource::Create(o_.prometheus_url, o_.namespace_name, milliseconds(2000));
    if (!source.ok()) return fail(source.error().WithContext("--prometheus-url"));
    source_ = std::move(source).value();
  } else {
    std::string exporter_url = fmt::format("http://{}:{}/metrics", o_.address, exporter_port_);
    source_ = std::make_unique<DirectScrapeSource>(
        [this, exporter_url] {
          std::vector<ScrapeTarget> targets{{exporter_url, ""}};
          for (const ReplicaView& r : supervisor_->Snapshot()) {
            if (r.phase == Phase::kReady) {
              targets.push_back({fmt::format("http://{}:{}/metrics", o_.address, r.port), r.pod});
            }
          }
          return targets;
        },
        [this] {
          std::map<std::string, std::string> gpu_pods;
          for (const ReplicaView& r : supervisor_->Snapshot()) {
            gpu_pods[std::to_string(r.gpu)] = r.pod;
          }
          return gpu_pods;
        },
        milliseconds(500));
  }

  Emit({clock_.Now(), "Normal", "Started", "hpa/" + spec_.name,
        fmt::format("router :{}, metrics API :{}, page :{}, out {}", router_->port(),
                    metrics_api_->port(), ui_ ? ui_->port() : 0, o_.out_dir)});

  auto deadline = o_.duration.count() > 0 ? start_ + o_.duration : steady_clock::time_point::max();
  auto next_sync = steady_clock::now();
  bool stop = false;
  while (!stop && steady_clock::now() < deadline) {
    for (const ReplicaEvent& e : supervisor_->Tick()) {
      std::string type = (e.kind == "Crashed" || e.kind == "Failed" || e.kind == "NotReady")
                             ? "Warning"
                             : "Normal";
      Emit({e.time, type, e.kind, "pod/" + e.pod, e.message});
    }
    if (!load_ && table_.PickLeastOutstanding()) StartLoad();
    if (exporter_ && !exporter_->running()) {
      Emit({clock_.Now(), "Warning", "ExporterExited", "exporter",
            fmt::format("exit status {}; restarting", exporter_->Poll().value_or(-1))});
      exporter_.reset();
      (void)StartExporter();
    }
    if (steady_clock::now() >= next_sync) {
      Sync(clock_.Now());
      next_sync += o_.sync_period;
      if (next_sync < steady_clock::now()) next_sync = steady_clock::now() + o_.sync_period;
    }
    // Wait for a signal or the next tick (250 ms at most, so replica probes stay fresh).
    auto wait =
        std::min<steady_clock::duration>(next_sync - steady_clock::now(), milliseconds(250));
    if (wait < steady_clock::duration::zero()) wait = steady_clock::duration::zero();
    timespec ts{};
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    ts.tv_sec = ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    int sig = ::sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGINT || sig == SIGTERM) {
      stop = true;
      Emit({clock_.Now(), "Normal", "Stopping", "up", sig == SIGINT ? "SIGINT" : "SIGTERM"});
    }
  }

  StopLoad();
  router_->Stop(milliseconds(2000));
  supervisor_->Shutdown();
  if (exporter_) {
    exporter_->Signal(SIGTERM);
    for (int i = 0; i < 200 && exporter_->running(); ++i) ::usleep(10000);
    exporter_.reset();
  }
  load_.reset();
  WriteReport();
  if (metrics_api_) metrics_api_->Stop(milliseconds(500));
  if (ui_) ui_->Stop(milliseconds(500));
  return 0;
}

}  // namespace

int RunUp(const UpOptions& options) {
  Up up(options);
  return up.Run();
}

}  // namespace gpuscale::local
