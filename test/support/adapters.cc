#include "test/support/adapters.h"

#include <fmt/format.h>

#include <filesystem>

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
  options.tls = {.insecure_skip_verify = true,
                 .cert_file = certs.front_proxy_client_cert,
                 .key_file = certs.front_proxy_client_key};
  client_ = http::Client::Create(options);
}

AggregatorClient::~AggregatorClient() = default;

core::Result<http::Response> AggregatorClient::Get(
    std::uint16_t port, std::string_view target, std::optional<std::chrono::milliseconds> timeout) {
  http::Request request;
  request.headers.Add("Accept", "application/json");
  request.headers.Add("X-Remote-User", user_);
  for (const auto& group : groups_) request.headers.Add("X-Remote-Group", group);
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

}  // namespace gpuscale::testing
