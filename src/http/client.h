// HTTP/1.1 clients (optionally TLS) over Boost.Beast/Asio, with keep-alive connection pools.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "http/message.h"

namespace gpuscale::http {

struct TlsClientOptions {
  std::string ca_file;  // PEM CA bundle; empty: system default roots
  bool insecure_skip_verify = false;
  std::string cert_file;    // client certificate (PEM), optional
  std::string key_file;     // its private key (PEM)
  std::string server_name;  // SNI and name to verify; empty: the URL's host
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5000};
  // Whole-request deadline (connect + send + receive) unless the call gives its own.
  std::chrono::milliseconds request_timeout{30000};
  TlsClientOptions tls;  // used for https:// URLs
  // Bound of a kept body; a body streamed to a caller's sink (Client::SendStreaming) has none.
  std::size_t max_body_bytes = 64 * 1024 * 1024;
  // Client::SendStreaming: body bytes received but not yet taken by the sink; past this the
  // connection is not read until the sink catches up.
  std::size_t max_queued_body_bytes = 1024 * 1024;
  int max_idle_per_host = 64;  // kept-alive connections per origin
  std::string user_agent = "gpuscale";
};

// A blocking client. Thread-safe; concurrent calls use separate connections.
// Errors: kUnavailable (connect refused, reset), kDeadlineExceeded (timeout),
// kResourceExhausted (body too large), kDataLoss (malformed HTTP). A non-2xx answer is
// not an error: it is returned as a Response.
class Client {
 public:
  static std::unique_ptr<Client> Create(ClientOptions options = {});
  virtual ~Client() = default;

  // `request.target` is ignored; the URL gives it.
  virtual core::Result<Response> Send(std::string_view url, Request request,
                                      std::optional<std::chrono::milliseconds> timeout = {}) = 0;
  // Like Send, but the body of a 2xx answer goes to `on_body` piece by piece as it arrives,
  // on the calling thread, instead of into the Response (whose body stays empty), so memory
  // follows the sink's pace rather than the body's size. Other answers come back whole as from
  // Send. An error from `on_body` ends the request with that error. While the sink is
  // behind, the client's I/O thread waits for it, holding up other calls on this Client: give
  // streaming calls a Client of their own where that matters. The default implementation
  // (fakes) calls Send and hands a 2xx body over in one piece.
  using BodySink = std::function<core::Status(std::string_view piece)>;
  virtual core::Result<Response> SendStreaming(
      std::string_view url, Request request, const BodySink& on_body,
      std::optional<std::chrono::milliseconds> timeout = {});
  core::Result<Response> Get(std::string_view url, Headers headers = {});
  core::Result<Response> Post(std::string_view url, std::string body,
                              std::string content_type = "application/json");
};

// Callbacks of one asynchronous request. All run on the client's I/O threads.
struct AsyncCallbacks {
  // The response head (status and headers; body empty) once it arrives.
  std::function<void(const Response& head)> on_headers;
  // Each piece of the body as it arrives (already de-chunked). Return false to abort.
  std::function<bool(std::string_view data)> on_data;
  // Exactly once: the whole response (body only if on_data is unset) or the error.
  std::function<void(core::Result<Response>)> on_done;
};

// A non-blocking client for load generation and proxying: many concurrent requests over a
// keep-alive pool, on its own I/O threads. Thread-safe. The destructor cancels what is in
// flight (each gets on_done with kCancelled) and joins the threads.
class AsyncClient {
 public:
  static std::unique_ptr<AsyncClient> Create(ClientOptions options = {}, int io_threads = 1);
  virtual ~AsyncClient() = default;
  // Starts a request; returns at once.
  virtual void Send(const Url& url, Request request, AsyncCallbacks callbacks,
                    std::optional<std::chrono::milliseconds> timeout = {}) = 0;
  virtual int in_flight() const = 0;
};

}  // namespace gpuscale::http
