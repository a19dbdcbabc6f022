// HTTP messages as plain structs. Protocol code (handlers, encoders) works on these; Beast and
// Asio stay inside src/http's .cc files.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gpuscale::http {

// Header fields in arrival order; lookups are case-insensitive.
class Headers {
 public:
  // First value of `name`, or nullopt.
  std::optional<std::string_view> Get(std::string_view name) const;
  // All values of `name`, in order.
  std::vector<std::string_view> GetAll(std::string_view name) const;
  // Replaces every field called `name` with one field.
  void Set(std::string name, std::string value);
  void Add(std::string name, std::string value);
  void Remove(std::string_view name);
  void Reserve(std::size_t fields) { fields_.reserve(fields); }  // capacity for this many fields
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// The verified client certificate of a TLS connection.
struct PeerCertificate {
  std::string common_name;                 // subject CN
  std::vector<std::string> organizations;  // subject O entries (Kubernetes groups)
};

struct Request {
  std::string method = "GET";
  std::string target = "/";  // as on the request line: path and query, percent-encoded
  Headers headers;
  std::string body;
  // Set by the server: the peer's "ip:port", and its certificate if it presented one that
  // verified against the configured client CA.
  std::string remote_address;
  std::optional<PeerCertificate> peer_certificate;

  // The path part of `target`, percent-decoded.
  std::string Path() const;
  // The raw query string (after '?', before '#'), or empty.
  std::string_view RawQuery() const;
  // The first value of query parameter `name`, percent-decoded ('+' is a space).
  std::optional<std::string> QueryParam(std::string_view name) const;

  // A POST carrying `body` as application/json.
  static Request PostJson(std::string body);
};

// A response body written piece by piece (chunked transfer encoding). Thread-safe: any thread
// may write. Writes never block; they queue and the connection flushes them in order.
class Stream {
 public:
  virtual ~Stream() = default;
  // Queues `data` as one chunk. Returns false (and drops the data) if the stream is closed
  // or the peer has gone.
  bool Write(std::string data) { return WriteBuffer(&data); }
  // The same for the bytes in `*buffer`, which it leaves empty, holding a buffer (possibly
  // with capacity) that the caller may fill again: a writer that reuses it allocates nothing.
  virtual bool WriteBuffer(std::string* buffer) = 0;
  // Ends the body after the queued chunks. Idempotent.
  virtual void Close() = 0;
  // Registers a callback run once, on an I/O thread, if the peer disconnects or the server
  // shuts down before Close(). Runs at once if that already happened.
  virtual void OnCancel(std::function<void()> callback) = 0;
  virtual bool cancelled() const = 0;
  // Bytes queued but not yet written to the socket (for back-pressure).
  virtual std::size_t pending_bytes() const = 0;
};

// Within its scope on the constructing thread, the flushes that Stream::Write and Close ask for
// are collected and handed to the I/O threads together when the scope ends: one wake-up and one
// queue operation for a burst of writes to many streams (a model step's tokens) instead of one
// per write, so the writing thread spends its time writing. Scopes nest; the outermost hands
// over. Destroy it on the thread that made it.
class StreamWriteBatch {
 public:
  StreamWriteBatch();
  ~StreamWriteBatch();
  StreamWriteBatch(const StreamWriteBatch&) = delete;
  StreamWriteBatch& operator=(const StreamWriteBatch&) = delete;

 private:
  bool outermost_ = false;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;
  // When set, `body` is ignored: the head goes out with chunked encoding and `stream` is called
  // once, on an I/O thread, with the Stream to write the body to.
  std::function<void(std::shared_ptr<Stream>)> stream;

  static Response Text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  static Response Json(int status, std::string body);
  // A Server-Sent Events response (text/event-stream, no caching) fed by `start`.
  static Response EventStream(std::function<void(std::shared_ptr<Stream>)> start);
};

// Formats one SSE event: "data: <payload>\n\n" (multi-line payloads get one data: per line).
std::string SseEvent(std::string_view payload);

// Called exactly once per request, from any thread.
using Reply = std::function<void(Response)>;
// A request handler. It may reply at once or later (after asynchronous work). Handlers run on
// I/O threads: do not block for long in them.
using Handler = std::function<void(Request request, Reply reply)>;
// Wraps a synchronous function as a Handler.
Handler Sync(std::function<Response(const Request&)> fn);

// Routes by method and path. Exact paths win over prefixes; the longest prefix wins.
// Unknown path → 404; known path, other method → 405 with Allow.
class Router {
 public:
  Router& Handle(std::string method, std::string path, Handler handler);
  Router& HandlePrefix(std::string method, std::string prefix, Handler handler);
  // The Handler that dispatches. The Router must outlive it.
  Handler AsHandler() const;
  void Dispatch(Request request, Reply reply) const;

 private:
  struct Route {
    std::string method;
    std::string path;
    bool prefix;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// A parsed absolute URL: http or https.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6
  std::uint16_t port = 0;
  std::string target = "/";    // path and query
  std::string Origin() const;  // scheme://host:port
};
core::Result<Url> ParseUrl(std::string_view url);

std::string PercentEncode(std::string_view s);  // RFC 3986 unreserved kept
std::string PercentDecode(std::string_view s, bool plus_is_space = false);

}  // namespace gpuscale::http
