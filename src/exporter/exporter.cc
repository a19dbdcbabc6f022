#include "exporter/exporter.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "http/server.h"
#include "prom/exposition.h"

namespace gpuscale::exporter {

core::Result<std::pair<std::string, std::uint16_t>> ParseListenAddress(std::string_view address) {
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    return core::InvalidArgument(
        fmt::format("--address: expected [host]:port, found '{}'", address));
  }
  std::string host(address.substr(0, colon));
  std::string_view port_text = address.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      port_text.empty()) {
    return core::InvalidArgument(
        fmt::format("--address: expected a port number 0-65535, found '{}'", port_text));
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  return std::pair(host, static_cast<std::uint16_t>(port));
}

namespace {

constexpr std::string_view kIndex =
    "<html><head><title>gpuscale exporter</title></head><body><h1>gpuscale exporter</h1>"
    "<p><a href=\"/metrics\">Metrics</a></p><p><a href=\"/health\">Health</a></p></body></html>\n";

class ExporterImpl final : public Exporter {
 public:
  ~ExporterImpl() override { Stop(); }

  core::Status Init(ExporterOptions options, const core::Clock& clock) {
    CounterSet counters = DefaultCounters();
    if (!options.collectors_file.empty()) {
      GPUSCALE_ASSIGN_OR_RETURN(counters, ReadCounters(options.collectors_file));
    }
    for (const std::string& w : counters.warnings) spdlog::warn("{}", w);
    GPUSCALE_ASSIGN_OR_RETURN(auto hp, ParseListenAddress(options.address));
    if (options.collector.kubernetes) {
      pods_ = std::make_unique<PodMapper>(
          gpu::PodResourcesClient::Create(options.collector.pod_resources_socket),
          options.collector.pod_resources_interval, options.collector.pod_resources_timeout);
      pods_->Refresh();  // labels from the first collection on, when the kubelet answers
      pods_->Start();
    }
    collector_ = std::make_unique<Collector>(std::move(options.collector), std::move(counters),
                                             pods_.get(), clock);
    router_.Handle("GET", "/metrics", http::Sync([this](const http::Request&) {
                     std::shared_ptr<const std::string> body = collector_->body();
                     return http::Response::Text(200, *body, std::string(prom::kContentType));
                   }));
    router_.Handle("GET", "/health", http::Sync([](const http::Request&) {
                     return http::Response::Text(200, "OK");
                   }));
    router_.Handle("GET", "/", http::Sync([](const http::Request&) {
                     return http::Response::Text(200, std::string(kIndex),
                                                 "text/html; charset=utf-8");
                   }));
    http::ServerOptions so;
    so.address = hp.first;
    so.port = hp.second;
    so.request_timeout = std::chrono::seconds(10);
    so.server_header = "gpuscale-exporter";
    auto server = http::Server::Start(so, router_.AsHandler());
    if (!server.ok()) {
      Stop();
      return std::move(server).error();
    }
    server_ = std::move(server).value();
    collector_->Start();
    return core::Status::Ok();
  }

  std::uint16_t port() const override { return server_ ? server_->port() : 0; }
  Collector& collector() override { return *collector_; }
  void Stop() override {
    if (server_) server_->Stop(std::chrono::seconds(2));
    if (collector_) collector_->Stop();
    if (pods_) pods_->Stop();
  }

 private:
  std::unique_ptr<PodMapper> pods_;
  std::unique_ptr<Collector> collector_;
  http::Router router_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace

core::Result<std::unique_ptr<Exporter>> Exporter::Start(ExporterOptions options,
                                                        const core::Clock& clock) {
  auto e = std::make_unique<ExporterImpl>();
  GPUSCALE_RETURN_IF_ERROR(e->Init(std::move(options), clock));
  return std::unique_ptr<Exporter>(std::move(e));
}

int RunExporter(ExporterOptions options) {
  // Block the stop signals before any thread starts so that only sigwait sees them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::string address = options.address;
  core::SystemClock clock;
  auto exporter = Exporter::Start(std::move(options), clock);
  if (!exporter.ok()) {
    spdlog::error("exporter: {}", exporter.error().message);
    return 1;
  }
  spdlog::info("gpuscale exporter listening on {} (port {})", address, (*exporter)->port());
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received signal {}, stopping", sig);
  (*exporter)->Stop();
  return 0;
}

}  // namespace gpuscale::exporter
