// A real Prometheus server (Debian's `prometheus` binary) for integration tests: loopback only,
// a free port, a temporary data directory, a scrape config of the test's choosing, and a
// self-scrape job so `up` and `prometheus_build_info` exist.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "test/support/process.h"

namespace gpuscale::testing {

class PrometheusServer {
 public:
  struct Options {
    // YAML list items appended under `scrape_configs:` after the self-scrape job, each
    // starting "  - job_name: ...", e.g. a static target on 127.0.0.1.
    std::string scrape_configs;
    std::chrono::milliseconds scrape_interval{1000};
    // Rule evaluation interval; zero: the scrape interval.
    std::chrono::milliseconds evaluation_interval{0};
    // Rule files (absolute paths) to load.
    std::vector<std::string> rule_files;
    // How long to wait for /-/ready.
    std::chrono::milliseconds ready_timeout{30000};
    std::vector<std::string> extra_args;  // more prometheus flags
    std::string binary = "prometheus";    // $PROMETHEUS overrides
  };

  // Starts Prometheus and waits until /-/ready answers 200. Fails with kNotFound if the binary
  // is missing, kUnavailable (with the log's tail) if it does not become ready.
  static core::Result<std::unique_ptr<PrometheusServer>> Start(Options options);
  // Stops the process and removes its data directory.
  ~PrometheusServer();
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url() const;  // http://127.0.0.1:<port>
  const std::string& dir() const { return dir_; }
  Subprocess& process() { return *process_; }

 private:
  PrometheusServer(std::unique_ptr<Subprocess> process, std::uint16_t port, std::string dir)
      : process_(std::move(process)), port_(port), dir_(std::move(dir)) {}
  std::unique_ptr<Subprocess> process_;
  std::uint16_t port_;
  std::string dir_;
};

// Sends "GET <path>" to 127.0.0.1:`port` over a plain socket and returns the HTTP status and
// body (for readiness checks that must not depend on the code under test).
core::Result<std::pair<int, std::string>> RawHttpGet(std::uint16_t port, const std::string& path,
                                                     std::chrono::milliseconds timeout);

}  // namespace gpuscale::testing
