// An HTTP/1.1 server (optionally TLS) over Boost.Beast/Asio. Keep-alive, request and idle
// timeouts, header and body limits, a connection limit, streaming responses, graceful shutdown.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "http/message.h"

namespace gpuscale::http {

struct TlsServerOptions {
  std::string cert_file;  // PEM certificate chain
  std::string key_file;   // PEM private key
  // PEM CA bundle for client certificates. Empty: no client certificates are requested.
  std::string client_ca_file;
  // With a client CA: reject handshakes without a valid client certificate. Without this, a
  // client may present none (the handler sees peer_certificate unset).
  bool require_client_cert = false;
};

struct ServerOptions {
  std::string address = "127.0.0.1";    // listen address
  std::uint16_t port = 0;               // 0 picks a free port; see Server::port()
  int io_threads = 1;                   // threads running the I/O context and handlers
  std::optional<TlsServerOptions> tls;  // set: serve HTTPS only
  // Time to receive a whole request head and body once the first byte has arrived.
  std::chrono::milliseconds request_timeout{30000};
  // Time a keep-alive connection may sit idle between requests.
  std::chrono::milliseconds idle_timeout{120000};
  std::size_t max_header_bytes = 64 * 1024;      // larger → 431
  std::size_t max_body_bytes = 8 * 1024 * 1024;  // larger → 413
  int max_connections = 10000;                   // beyond this, new connections are closed at once
  std::string server_header = "gpuscale";
};

// Thread-safe. Stop() or the destructor shuts down gracefully.
class Server {
 public:
  // Binds, listens and starts the I/O threads. Errors: kAlreadyExists when the address is in
  // use ("127.0.0.1:8081: address already in use"), kInvalidArgument for bad TLS files.
  static core::Result<std::unique_ptr<Server>> Start(ServerOptions options, Handler handler);

  virtual ~Server() = default;
  virtual std::uint16_t port() const = 0;
  // Stops accepting, lets in-flight requests finish until `grace` has passed, then cancels
  // open streams and closes every connection; joins the I/O threads. Idempotent.
  virtual void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000)) = 0;
  virtual int open_connections() const = 0;
};

}  // namespace gpuscale::http
