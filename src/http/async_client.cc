// The asynchronous HTTP/1.1 client over Boost.Beast/Asio. Each request runs on its own strand;
// connections are plain sockets (no per-connection executor) so a pooled connection can serve
// a request on another strand. A timer per request enforces the deadline by closing the socket.
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "http/client.h"
#include "http/internal/tls.h"

namespace gpuscale::http {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;

template <bool kTls>
struct Conn {
  using StreamType = std::conditional_t<kTls, ssl::stream<tcp::socket>, tcp::socket>;
  StreamType stream;
  beast::flat_buffer buffer;

  tcp::socket& socket() {
    if constexpr (kTls) {
      return stream.next_layer();
    } else {
      return stream;
    }
  }
};

class OpBase {
 public:
  virtual ~OpBase() = default;
  // Any thread: ends the request with kCancelled.
  virtual void Cancel() = 0;
};

struct ClientShared {
  explicit ClientShared(ClientOptions o) : options(std::move(o)) {}

  template <bool kTls>
  std::unordered_map<std::string, std::vector<std::unique_ptr<Conn<kTls>>>>& Pool() {
    if constexpr (kTls) {
      return tls_pool;
    } else {
      return plain_pool;
    }
  }

  template <bool kTls>
  std::unique_ptr<Conn<kTls>> TakeIdle(const std::string& origin) {
    std::lock_guard lock(mu);
    auto& pool = Pool<kTls>();
    auto it = pool.find(origin);
    if (it == pool.end() || it->second.empty()) return nullptr;
    auto c = std::move(it->second.back());
    it->second.pop_back();
    return c;
  }

  template <bool kTls>
  void PutIdle(const std::string& origin, std::unique_ptr<Conn<kTls>> c) {
    std::lock_guard lock(mu);
    if (shutting) return;
    auto& v = Pool<kTls>()[origin];
    if (static_cast<int>(v.size()) >= options.max_idle_per_host) return;
    v.push_back(std::move(c));
  }

  void Register(std::uint64_t id, std::weak_ptr<OpBase> op) {
    std::lock_guard lock(mu);
    ops.emplace(id, std::move(op));
    ++in_flight;
  }
  void Unregister(std::uint64_t id) {
    std::lock_guard lock(mu);
    if (ops.erase(id) > 0) --in_flight;
    if (in_flight == 0) cv.notify_all();
  }

  // Loading CA roots costs tens of milliseconds: only clients that speak https pay for it.
  void EnsureTls() {
    std::call_once(tls_once, [&] {
      tls.emplace(ssl::context::tls_client);
      auto st = internal::ConfigureClientTls(tls->native_handle(), options.tls);
      if (!st.ok()) tls_error = std::move(st).error();
    });
  }

  const ClientOptions options;
  net::io_context ioc;  // declared before the pools: sockets go first
  std::once_flag tls_once;
  std::optional<ssl::context> tls;
  std::optional<core::Error> tls_error;
  std::atomic<bool> shutting{false};
  std::atomic<std::uint64_t> next_id{1};

  mutable std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Conn<false>>>> plain_pool;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Conn<true>>>> tls_pool;
  std::unordered_map<std::uint64_t, std::weak_ptr<OpBase>> ops;
  int in_flight = 0;
};

bool IsIp(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

template <bool kTls>
class Op final : public OpBase, public std::enable_shared_from_this<Op<kTls>> {
 public:
  Op(std::shared_ptr<ClientShared> shared, const Url& url, Request request,
     AsyncCallbacks callbacks, SteadyTime deadline)
      : shared_(std::move(shared)),
        strand_(net::make_strand(shared_->ioc)),
        timer_(strand_),
        url_(url),
        origin_(url.Origin()),
        callbacks_(std::move(callbacks)),
        deadline_(deadline),
        id_(shared_->next_id++) {
    BuildRequest(std::move(request));
  }

  std::uint64_t id() const { return id_; }

  void Start() {
    net::dispatch(strand_, [self = this->shared_from_this()] { self->Begin(); });
  }

  void Cancel() override {
    net::post(strand_, [self = this->shared_from_this()] {
      if (self->done_) return;
      self->cancelled_ = true;
      self->Abort();
    });
  }

 private:
  template <class F>
  auto Bind(F&& f) {
    return net::bind_executor(strand_, std::forward<F>(f));
  }

  void Begin() {
    if (shared_->shutting) {
      return Finish(core::MakeError(core::Code::kCancelled, "client is shutting down"));
    }
    if constexpr (kTls) {
      shared_->EnsureTls();
      if (shared_->tls_error) return Finish(*shared_->tls_error);
    }
    ArmTimer(deadline_);
    conn_ = shared_->TakeIdle<kTls>(origin_);
    if (conn_) {
      reused_ = true;
      return Write();
    }
    Connect();
  }

  void ArmTimer(SteadyTime when) {
    const std::uint64_t gen = ++timer_gen_;
    timer_.expires_at(when);
    timer_.async_wait(Bind([self = this->shared_from_this(), gen](beast::error_code ec) {
      if (ec || gen != self->timer_gen_ || self->done_) return;
      self->timed_out_ = true;
      self->Abort();
    }));
  }

  // Stops whatever is pending; its completion reports the reason.
  void Abort() {
    if (resolver_) resolver_->cancel();
    if (conn_) {
      beast::error_code ec;
      conn_->socket().close(ec);
    }
  }

  // Serialises the request into wire_ at construction, so the op keeps no copy of the Request
  // (which keeps it small enough for the allocator's per-thread cache) and each write is one
  // buffer. The usual request (known method, no Host, User-Agent, Content-Length or
  // Transfer-Encoding of the caller's) is written directly, byte for byte what Beast writes;
  // anything else goes through a Beast message.
  void BuildRequest(Request request) {
    const auto verb = bhttp::string_to_verb(request.method);
    head_ = verb == bhttp::verb::head;
    const bool payload = !request.body.empty() || verb == bhttp::verb::post ||
                         verb == bhttp::verb::put || verb == bhttp::verb::patch;
    bool direct = verb != bhttp::verb::unknown &&
                  !(payload && request.body.empty() && verb == bhttp::verb::patch);
    for (const auto& [k, v] : request.headers.fields()) {
      switch (bhttp::string_to_field(k)) {
        case bhttp::field::host:
        case bhttp::field::user_agent:
        case bhttp::field::content_length:
        case bhttp::field::transfer_encoding:
          direct = false;
          break;
        default:
          break;
      }
    }
    bool default_port =
        (url_.scheme == "http" && url_.port == 80) || (url_.scheme == "https" && url_.port == 443);
    std::string host = url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    if (!default_port) host += ":" + std::to_string(url_.port);
    if (direct) {
      const std::string& agent = shared_->options.user_agent;
      std::size_t size = request.method.size() + url_.target.size() + host.size() + agent.size() +
                         request.body.size() + 80;
      for (const auto& [k, v] : request.headers.fields()) size += k.size() + v.size() + 4;
      wire_.reserve(size);
      wire_.append(request.method).append(" ").append(url_.target).append(" HTTP/1.1\r\n");
      wire_.append("Host: ").append(host).append("\r\nUser-Agent: ").append(agent).append("\r\n");
      for (const auto& [k, v] : request.headers.fields()) {
        wire_.append(k).append(": ").append(v).append("\r\n");
      }
      if (payload) wire_.append("Content-Length: ").append(std::to_string(request.body.size()));
      wire_.append(payload ? "\r\n\r\n" : "\r\n");
      wire_.append(request.body);
      return;
    }
    bhttp::request<bhttp::string_body> req;
    if (verb == bhttp::verb::unknown) {
      req.method_string(request.method);
    } else {
      req.method(verb);
    }
    req.target(url_.target);
    req.version(11);
    req.set(bhttp::field::host, host);
    req.set(bhttp::field::user_agent, shared_->options.user_agent);
    // Host and User-Agent replace the defaults; every other field is sent as given, repeated
    // names included (X-Remote-Group carries one group per field).
    for (const auto& [k, v] : request.headers.fields()) {
      if (bhttp::string_to_field(k) == bhttp::field::host ||
          bhttp::string_to_field(k) == bhttp::field::user_agent) {
        req.set(k, v);
      } else {
        req.insert(k, v);
      }
    }
    if (payload) {
      req.body() = std::move(request.body);
      req.prepare_payload();
    }
    std::ostringstream out;
    out << req;
    wire_ = std::move(out).str();
  }

  void Connect() {
    reused_ = false;
    if constexpr (kTls) {
      conn_.reset(new Conn<kTls>{ssl::stream<tcp::socket>(shared_->ioc, *shared_->tls), {}});
      auto st = internal::ConfigureClientConnection(conn_->stream.native_handle(),
                                                    shared_->options.tls, url_.host);
      if (!st.ok()) return Finish(std::move(st).error());
    } else {
      conn_.reset(new Conn<kTls>{tcp::socket(shared_->ioc), {}});
    }
    ArmTimer(
        std::min(deadline_, std::chrono::steady_clock::now() + shared_->options.connect_timeout));
    connecting_ = true;
    if (IsIp(url_.host)) {
      tcp::endpoint ep(net::ip::make_address(url_.host), url_.port);
      conn_->socket().async_connect(
          ep,
          Bind([self = this->shared_from_this()](beast::error_code ec) { self->OnConnect(ec); }));
      return;
    }
    resolver_ = std::make_unique<tcp::resolver>(strand_);
    resolver_->async_resolve(url_.host, std::to_string(url_.port),
                             Bind([self = this->shared_from_this()](
                                      beast::error_code ec, tcp::resolver::results_type results) {
                               if (ec) return self->Fail(ec, "resolve " + self->url_.host);
                               net::async_connect(
                                   self->conn_->socket(), results,
                                   self->Bind([self](beast::error_code ec2, const tcp::endpoint&) {
                                     self->OnConnect(ec2);
                                   }));
                             }));
  }

  void OnConnect(beast::error_code ec) {
    if (ec) return Fail(ec, "connect to " + HostPort());
    connecting_ = false;
    beast::error_code ignored;
    conn_->socket().set_option(tcp::no_delay(true), ignored);
    ArmTimer(deadline_);
    if constexpr (kTls) {
      conn_->stream.async_handshake(
          ssl::stream_base::client, Bind([self = this->shared_from_this()](beast::error_code ec2) {
            if (ec2) return self->Fail(ec2, "TLS handshake with " + self->HostPort());
            self->Write();
          }));
    } else {
      Write();
    }
  }

  void Write() {
    net::async_write(conn_->stream, net::buffer(wire_),
                     Bind([self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->Fail(ec, "send to " + self->HostPort());
                       self->ReadHead();
                     }));
  }

  void ReadHead() {
    parser_.emplace();
    parser_->header_limit(64 * 1024);
    if (callbacks_.on_data) {
      parser_->body_limit(boost::none);
    } else {
      parser_->body_limit(shared_->options.max_body_bytes);
    }
    if (head_) parser_->skip(true);
    bhttp::async_read_header(
        conn_->stream, conn_->buffer, *parser_,
        Bind([self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->Fail(ec, "read response from " + self->HostPort());
          self->got_head_ = true;
          self->OnHead();
        }));
  }

  void OnHead() {
    auto& msg = parser_->get();
    response_.status = static_cast<int>(msg.result_int());
    response_.headers.Reserve(static_cast<std::size_t>(std::distance(msg.begin(), msg.end())));
    for (const auto& f : msg) {
      response_.headers.Add(std::string(f.name_string()), std::string(f.value()));
    }
    if (callbacks_.on_headers) callbacks_.on_headers(response_);
    ReadBody();
  }

  void ReadBody() {
    if (!Deliver()) return;
    if (parser_->is_done()) return Complete();
    bhttp::async_read_some(
        conn_->stream, conn_->buffer, *parser_,
        Bind([self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) {
            self->Deliver();
            return self->Fail(ec, "read response body from " + self->HostPort());
          }
          self->ReadBody();
        }));
  }

  // Hands the body bytes parsed so far to on_data (or keeps them). False if on_data aborted.
  bool Deliver() {
    auto& body = parser_->get().body();
    if (!callbacks_.on_data || body.empty() || done_) return true;
    bool go_on = callbacks_.on_data(body);
    body.clear();
    if (!go_on) {
      CloseConn();
      Finish(core::MakeError(core::Code::kCancelled,
                             "response from " + HostPort() + ": aborted by the body callback"));
      return false;
    }
    return true;
  }

  void Complete() {
    auto& msg = parser_->get();
    const bool keep = msg.keep_alive() && !parser_->need_eof();
    if (!callbacks_.on_data) response_.body = std::move(msg.body());
    parser_.reset();
    if (keep && conn_) {
      shared_->PutIdle<kTls>(origin_, std::move(conn_));
    }
    Finish(std::move(response_));
  }

  void Fail(beast::error_code ec, const std::string& what) {
    if (done_) return;
    if (cancelled_) {
      CloseConn();
      return Finish(core::MakeError(core::Code::kCancelled, what + ": request cancelled"));
    }
    if (timed_out_) {
      CloseConn();
      return Finish(core::DeadlineExceeded(what + ": " + (connecting_ ? "connect" : "request") +
                                           " timed out"));
    }
    // A kept-alive connection the server closed while it sat in the pool: try a fresh one.
    if (reused_ && !got_head_ &&
        (ec == net::error::eof || ec == net::error::connection_reset ||
         ec == net::error::broken_pipe || ec == bhttp::error::end_of_stream ||
         ec == ssl::error::stream_truncated)) {
      CloseConn();
      return Connect();
    }
    CloseConn();
    if (ec == bhttp::error::body_limit) {
      return Finish(core::ResourceExhausted(what + ": body larger than " +
                                            std::to_string(shared_->options.max_body_bytes) +
                                            " bytes"));
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return Finish(core::DataLoss(what + ": malformed HTTP: " + ec.message()));
    }
    std::string msg = ec.message();
    if (ec.category() == net::error::get_ssl_category()) {
      msg += " (" + internal::OpenSslErrors() + ")";
    }
    Finish(core::Unavailable(what + ": " + msg));
  }

  void CloseConn() {
    if (!conn_) return;
    beast::error_code ec;
    conn_->socket().close(ec);
    conn_.reset();
  }

  void Finish(core::Result<Response> result) {
    if (done_) return;
    done_ = true;
    ++timer_gen_;
    timer_.cancel();
    CloseConn();
    shared_->Unregister(id_);
    if (callbacks_.on_done) callbacks_.on_done(std::move(result));
    callbacks_ = {};
  }

  std::string HostPort() const {
    return (url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host) + ":" +
           std::to_string(url_.port);
  }

  std::shared_ptr<ClientShared> shared_;
  net::strand<net::io_context::executor_type> strand_;
  net::steady_timer timer_;
  const Url url_;
  const std::string origin_;
  AsyncCallbacks callbacks_;
  const SteadyTime deadline_;
  const std::uint64_t id_;
  std::unique_ptr<Conn<kTls>> conn_;
  std::unique_ptr<tcp::resolver> resolver_;  // only for host names, which are rare under load
  std::string wire_;                         // the serialised request
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  Response response_;
  std::uint64_t timer_gen_ = 0;
  bool head_ = false;
  bool reused_ = false;
  bool got_head_ = false;
  bool connecting_ = false;
  bool timed_out_ = false;
  bool cancelled_ = false;
  bool done_ = false;
};

class AsyncClientImpl final : public AsyncClient {
 public:
  AsyncClientImpl(ClientOptions options, int io_threads)
      : shared_(std::make_shared<ClientShared>(std::move(options))),
        work_(net::make_work_guard(shared_->ioc)) {
    for (int i = 0; i < std::max(1, io_threads); ++i) {
      threads_.emplace_back([s = shared_] { s->ioc.run(); });
    }
  }

  ~AsyncClientImpl() override {
    std::vector<std::shared_ptr<OpBase>> ops;
    {
      std::lock_guard lock(shared_->mu);
      shared_->shutting = true;
      for (auto& [id, w] : shared_->ops) {
        if (auto op = w.lock()) ops.push_back(std::move(op));
      }
    }
    for (auto& op : ops) op->Cancel();
    ops.clear();
    {
      std::unique_lock lock(shared_->mu);
      shared_->cv.wait_for(lock, std::chrono::seconds(5), [&] { return shared_->in_flight == 0; });
    }
    work_.reset();
    shared_->ioc.stop();
    for (auto& t : threads_) t.join();
    for (int i = 0; i < 10; ++i) {
      shared_->ioc.restart();
      if (shared_->ioc.poll() == 0) break;
    }
    std::lock_guard lock(shared_->mu);
    shared_->plain_pool.clear();
    shared_->tls_pool.clear();
  }

  void Send(const Url& url, Request request, AsyncCallbacks callbacks,
            std::optional<std::chrono::milliseconds> timeout) override {
    const auto deadline =
        std::chrono::steady_clock::now() + timeout.value_or(shared_->options.request_timeout);
    if (url.scheme == "https") {
      Launch(std::make_shared<Op<true>>(shared_, url, std::move(request), std::move(callbacks),
                                        deadline));
    } else {
      Launch(std::make_shared<Op<false>>(shared_, url, std::move(request), std::move(callbacks),
                                         deadline));
    }
  }

  int in_flight() const override {
    std::lock_guard lock(shared_->mu);
    return shared_->in_flight;
  }

 private:
  template <class OpPtr>
  void Launch(OpPtr op) {
    shared_->Register(op->id(), op);
    op->Start();
  }

  std::shared_ptr<ClientShared> shared_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
};

}  // namespace

std::unique_ptr<AsyncClient> AsyncClient::Create(ClientOptions options, int io_threads) {
  internal::RaiseOpenFileLimit();
  return std::make_unique<AsyncClientImpl>(std::move(options), io_threads);
}

}  // namespace gpuscale::http
