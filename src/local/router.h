// The local stand-in for the vLLM Service: an HTTP proxy on :8081 that sends each request to
// the ready replica with the fewest requests in flight, streaming responses through as they
// arrive. Replicas that are starting, unready or draining get no new requests. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "http/client.h"
#include "http/server.h"
#include "local/replicas.h"

namespace gpuscale::local {

struct RouterOptions {
  std::string address = "127.0.0.1";
  std::uint16_t port = 8081;
  int io_threads = 1;
  // Upper bound for one proxied request, streaming included.
  std::chrono::milliseconds upstream_timeout{600000};
};

struct RouterStats {
  std::uint64_t requests = 0;         // accepted from clients
  std::uint64_t no_replica = 0;       // answered 503: no ready replica
  std::uint64_t upstream_errors = 0;  // answered 502 or cut short: a replica failed
};

class Router {
 public:
  // `table` and `client` must outlive the router. Errors: the server's (port in use → the
  // address and "address already in use").
  static core::Result<std::unique_ptr<Router>> Start(RouterOptions options, ReplicaTable& table,
                                                     http::AsyncClient& client);
  ~Router();
  std::uint16_t port() const { return server_->port(); }
  RouterStats stats() const;
  // Time to first body byte of the responses that completed in the last `window`, in seconds
  // (the router's view of TTFT for streamed completions).
  std::vector<double> RecentTtfts(std::chrono::milliseconds window) const;
  // Stops accepting; in-flight requests get `grace`.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  Router(ReplicaTable& table, http::AsyncClient& client, std::chrono::milliseconds timeout)
      : table_(table), client_(client), timeout_(timeout) {}
  void Handle(http::Request request, http::Reply reply);
  void RecordTtft(double seconds);

  ReplicaTable& table_;
  http::AsyncClient& client_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<http::Server> server_;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> no_replica_{0};
  std::atomic<std::uint64_t> upstream_errors_{0};
  mutable std::mutex ttft_mu_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, double>> ttfts_;  // bounded
};

}  // namespace gpuscale::local
