// `gpuscale adapter` and the real prometheus-adapter (built by scripts/build-peers) as child
// processes with the same flags, for differential tests and benchmarks, and a client that calls
// either one as kube-apiserver's aggregator does.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/message.h"
#include "http/server.h"
#include "test/support/controlplane.h"
#include "test/support/process.h"

namespace gpuscale::http {
class Client;
}

namespace gpuscale::testing {

enum class AdapterKind { kGpuscale, kPrometheusAdapter };

// "gpuscale" or "prometheus-adapter".
std::string_view AdapterName(AdapterKind kind);

// Calls adapters as the aggregator does: the front-proxy client certificate, with the user in
// X-Remote-User and each group in its own X-Remote-Group field; with an empty `user`, an
// anonymous caller (no client certificate, no headers). Thread-safe.
class AggregatorClient {
 public:
  AggregatorClient(const ControlPlaneCerts& certs, std::string user = "admin",
                   std::vector<std::string> groups = {"system:masters"},
                   std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~AggregatorClient();
  // GET https://127.0.0.1:`port``target`. Non-2xx answers are responses, not errors.
  core::Result<http::Response> Get(std::uint16_t port, std::string_view target,
                                   std::optional<std::chrono::milliseconds> timeout = {});

 private:
  std::string user_;
  std::vector<std::string> groups_;
  std::unique_ptr<http::Client> client_;
};

struct AdapterProcessOptions {
  std::string config_file;     // the rules file (--config)
  std::string prometheus_url;  // --prometheus-url
  // Used for --lister-, --authentication- and --authorization-kubeconfig.
  std::string kubeconfig;
  std::string work_dir;                // the serving certificate (--cert-dir) and the log go here
  std::string relist_interval = "2s";  // --metrics-relist-interval
  std::vector<std::string> extra_args;
  // How long Start waits for /readyz to answer 200.
  std::chrono::milliseconds ready_timeout{60000};
};

// One running adapter on a free 127.0.0.1 port. The destructor stops it.
class AdapterProcess {
 public:
  // Starts the adapter and waits until /readyz answers 200 through `client`. Fails (with the
  // log's tail) if it exits or does not become ready; prometheus-adapter must have been built
  // (kFailedPrecondition naming the command otherwise).
  static core::Result<std::unique_ptr<AdapterProcess>> Start(AdapterKind kind,
                                                             const AdapterProcessOptions& options,
                                                             AggregatorClient& client);
  AdapterKind kind() const { return kind_; }
  std::string_view name() const { return AdapterName(kind_); }
  std::uint16_t port() const { return port_; }
  Subprocess& process() { return *process_; }

 private:
  AdapterProcess(AdapterKind kind, std::uint16_t port, std::unique_ptr<Subprocess> process)
      : kind_(kind), port_(port), process_(std::move(process)) {}
  AdapterKind kind_;
  std::uint16_t port_;
  std::unique_ptr<Subprocess> process_;
};

// A fake Prometheus HTTP API for adapters (a real one takes minutes to fill with 100k series,
// and cannot be made to hang or lie): /api/v1/series answers the series set by the test,
// /api/v1/query a vector set by the test, whatever the query. A mode makes it hang, answer
// garbage or a Prometheus error; Stop/Restart take it down and bring it back on the same port.
// Thread-safe.
class FakePrometheus {
 public:
  enum class Mode { kOk, kSlow, kGarbage, kError };
  static core::Result<std::unique_ptr<FakePrometheus>> Start();
  ~FakePrometheus();

  // The `data` array of /api/v1/series: JSON objects of labels, comma-joined (no brackets),
  // for requests whose decoded match[] contains `match_contains` (the first such wins; ""
  // matches requests that no other key matches). Replaces what was set for the same
  // `match_contains`.
  void SetSeries(std::string objects, std::string match_contains = "");
  // The `result` array of a vector answer: {"metric":{...},"value":[t,"v"]} objects,
  // comma-joined (no brackets).
  void SetVector(std::string samples);
  // kSlow answers queries after `delay`.
  void SetMode(Mode mode, std::chrono::milliseconds delay = std::chrono::seconds(5));
  void Stop();
  core::Status Restart();

  std::string url() const;
  std::uint16_t port() const { return port_; }
  int queries() const;       // /api/v1/query calls so far
  int series_calls() const;  // /api/v1/series calls so far

 private:
  FakePrometheus() = default;
  core::Status Listen();
  http::Response Answer(const http::Request& request);

  struct State;
  std::shared_ptr<State> state_;
  std::uint16_t port_ = 0;
  std::unique_ptr<http::Server> server_;
};

}  // namespace gpuscale::testing
