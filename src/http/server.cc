// The HTTP/1.1 server over Boost.Beast/Asio. One strand per connection; handlers and stream
// callbacks run on the I/O threads. Shared state is reference-counted so that a Reply or a
// Stream kept by the application after Stop() never touches freed memory.
#include "http/server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>

#include "http/internal/tls.h"

namespace gpuscale::http {
namespace {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

class SessionBase;

// State shared by the server and its connections; outlives both while anyone holds it.
struct Shared {
  explicit Shared(ServerOptions o, Handler h)
      : options(std::move(o)), handler(std::move(h)), acceptor(ioc) {}

  void Register(std::uint64_t id, std::weak_ptr<SessionBase> s) {
    std::lock_guard lock(mu);
    sessions.emplace(id, std::move(s));
    ++open;
  }
  void Unregister(std::uint64_t id) {
    std::lock_guard lock(mu);
    if (sessions.erase(id) > 0) --open;
    if (open == 0) cv.notify_all();
  }
  std::vector<std::shared_ptr<SessionBase>> Sessions() {
    std::vector<std::shared_ptr<SessionBase>> out;
    std::lock_guard lock(mu);
    for (auto& [id, w] : sessions) {
      if (auto s = w.lock()) out.push_back(std::move(s));
    }
    return out;
  }
  // Waits until no connection is open or `deadline` passes; true if none is open.
  bool WaitNoneOpen(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu);
    return cv.wait_until(lock, deadline, [&] { return open == 0; });
  }

  const ServerOptions options;
  const Handler handler;
  net::io_context ioc;
  tcp::acceptor acceptor;
  std::optional<ssl::context> tls;
  std::atomic<bool> stopping{false};  // no new connections or requests
  std::atomic<bool> stopped{false};   // I/O threads gone: nothing may be posted
  std::atomic<std::uint64_t> next_id{1};

  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions;
  int open = 0;
};

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  // Runs on the connection's strand: an idle connection closes, a busy one closes after its
  // current response.
  virtual void BeginStop() = 0;
  // Runs on the connection's strand: cancels a stream and closes the connection now.
  virtual void ForceClose() = 0;
  // Asks the strand to write what a stream has queued. Any thread.
  virtual void ScheduleFlush() = 0;
  // The same from an I/O thread of this connection's server: runs the write at once unless the
  // strand is busy elsewhere.
  virtual void DispatchFlush() = 0;
};

class StreamImpl;

// A flush a StreamWriteBatch holds back, with the stream's server beside it so that the batch
// can be sorted by server without touching the streams again.
struct HeldFlush {
  const Shared* server;
  std::shared_ptr<StreamImpl> stream;
};
using HeldFlushes = std::vector<HeldFlush>;

// The flushes that the current thread's StreamWriteBatch holds back, if one is open.
thread_local HeldFlushes* batched_flushes = nullptr;

// The application's side of a streamed body. Thread-safe; the connection takes queued bytes on
// its strand.
class StreamImpl final : public Stream, public std::enable_shared_from_this<StreamImpl> {
 public:
  StreamImpl(std::weak_ptr<SessionBase> session, const std::shared_ptr<Shared>& server)
      : server_id_(server.get()), session_(std::move(session)), server_(server) {}

  bool WriteBuffer(std::string* data) override {
    if (data->empty()) return !cancelled();
    {
      std::lock_guard lock(mu_);
      if (closed_ || cancelled_) {
        data->clear();
        return false;
      }
      if (pending_.empty()) {
        pending_.swap(*data);  // *data takes the connection's spent (empty) buffer
      } else {
        pending_ += *data;
        data->clear();
      }
      if (flush_posted_) return true;
      flush_posted_ = true;
    }
    Poke();
    return true;
  }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      if (closed_ || cancelled_) return;
      closed_ = true;
      if (flush_posted_) return;
      flush_posted_ = true;
    }
    Poke();
  }

  void OnCancel(std::function<void()> callback) override {
    {
      std::lock_guard lock(mu_);
      if (!cancelled_) {
        on_cancel_.push_back(std::move(callback));
        return;
      }
    }
    callback();
  }

  bool cancelled() const override {
    std::lock_guard lock(mu_);
    return cancelled_;
  }

  std::size_t pending_bytes() const override {
    std::lock_guard lock(mu_);
    return pending_.size() + in_flight_;
  }

  // Connection side (strand). Moves queued bytes into `out`; sets `*last` when the body ends.
  // Returns false when there is nothing to write.
  bool Take(std::string* out, bool* last) {
    std::lock_guard lock(mu_);
    flush_posted_ = false;
    if (pending_.empty() && !closed_) return false;
    out->clear();
    out->swap(pending_);
    in_flight_ = out->size();
    *last = closed_;
    return true;
  }
  void Written() {
    std::lock_guard lock(mu_);
    in_flight_ = 0;
  }
  // Marks the stream cancelled (if not closed cleanly) and runs the callbacks.
  void Cancel() {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard lock(mu_);
      if (cancelled_) return;
      cancelled_ = true;
      pending_.clear();
      callbacks.swap(on_cancel_);
    }
    for (auto& cb : callbacks) cb();
  }

  std::shared_ptr<Shared> server() const { return server_.lock(); }

  // Any thread: asks the connection's strand to write what is queued.
  void ScheduleFlush() const {
    if (auto s = session_.lock()) s->ScheduleFlush();
  }
  // On an I/O thread of the connection's server.
  void DispatchFlush() const {
    if (auto s = session_.lock()) s->DispatchFlush();
  }

 private:
  void Poke() {
    if (batched_flushes != nullptr) {
      // Only this stream's own memory is touched here; the connection's is left to the I/O
      // thread that runs the flush.
      batched_flushes->push_back({server_id_, shared_from_this()});
    } else {
      ScheduleFlush();
    }
  }

  // What a write touches comes first, next to the reference counts (std::make_shared puts
  // them just before the object), so that a burst of writes to many streams misses the cache
  // as little as it can.
  mutable std::mutex mu_;
  std::string pending_;
  bool closed_ = false;
  bool cancelled_ = false;
  bool flush_posted_ = false;
  const Shared* const server_id_;  // which server, as an identity only; it may be gone
  std::size_t in_flight_ = 0;
  const std::weak_ptr<SessionBase> session_;
  const std::weak_ptr<Shared> server_;
  std::vector<std::function<void()>> on_cancel_;
};

}  // namespace

StreamWriteBatch::StreamWriteBatch() {
  if (batched_flushes != nullptr) return;
  batched_flushes = new HeldFlushes();
  outermost_ = true;
}

StreamWriteBatch::~StreamWriteBatch() {
  if (!outermost_) return;
  std::unique_ptr<HeldFlushes> held(batched_flushes);
  batched_flushes = nullptr;
  // One handler per server flushes its streams in order. A batch almost always holds one
  // server's streams; they go over whole.
  while (!held->empty()) {
    const Shared* id = held->front().server;
    std::shared_ptr<Shared> server = held->front().stream->server();
    HeldFlushes mine;
    if (std::all_of(held->begin(), held->end(),
                    [&](const HeldFlush& f) { return f.server == id; })) {
      mine.swap(*held);
    } else {
      HeldFlushes rest;
      for (auto& f : *held) (f.server == id ? mine : rest).push_back(std::move(f));
      held->swap(rest);
    }
    if (!server || server->stopped) continue;
    net::post(server->ioc, [mine = std::move(mine)] {
      for (const auto& f : mine) f.stream->DispatchFlush();
    });
  }
}

namespace {

std::string EndpointString(const tcp::endpoint& ep) {
  auto a = ep.address();
  std::string host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(ep.port());
}

template <bool kTls>
class Session final : public SessionBase {
  using StreamType =
      std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;
  enum class State { kHandshake, kIdle, kReading, kHandling, kWriting, kStreaming, kClosed };

 public:
  Session(std::shared_ptr<Shared> shared, tcp::socket socket, std::uint64_t id)
      : shared_(std::move(shared)), stream_(MakeStream(std::move(socket))), id_(id) {
    beast::error_code ec;
    auto ep = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
    if (!ec) remote_address_ = EndpointString(ep);
  }

  void Start() {
    auto self = shared_from_this();
    net::dispatch(stream_.get_executor(), [this, self] {
      if constexpr (kTls) {
        state_ = State::kHandshake;
        Lowest().expires_after(shared_->options.request_timeout);
        stream_.async_handshake(ssl::stream_base::server,
                                [this, self](beast::error_code ec) { OnHandshake(ec); });
      } else {
        DoRead();
      }
    });
  }

  void BeginStop() override {
    net::post(stream_.get_executor(), [this, self = shared_from_this()] {
      if (state_ == State::kIdle || state_ == State::kHandshake) Close();
    });
  }

  void ForceClose() override {
    net::post(stream_.get_executor(), [this, self = shared_from_this()] { Close(); });
  }

  void ScheduleFlush() override {
    if (shared_->stopped) return;
    net::post(stream_.get_executor(), [this, self = shared_from_this()] { DoFlush(); });
  }
  void DispatchFlush() override {
    net::dispatch(stream_.get_executor(), [this, self = shared_from_this()] { DoFlush(); });
  }

 private:
  StreamType MakeStream(tcp::socket socket) {
    if constexpr (kTls) {
      return StreamType(std::move(socket), *shared_->tls);
    } else {
      return StreamType(std::move(socket));
    }
  }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void OnHandshake(beast::error_code ec) {
    if (ec) return Close();
    if constexpr (kTls) {
      peer_certificate_ = internal::VerifiedPeerCertificate(stream_.native_handle());
    }
    DoRead();
  }

  void DoRead() {
    if (shared_->stopping) return Close();
    state_ = State::kIdle;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(shared_->options.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(shared_->options.max_body_bytes);
    if (buffer_.size() > 0) return ReadRest();  // a pipelined request is already here
    // The first bytes are awaited under the idle timeout; once they arrive the rest of the
    // request must come within the request timeout. A raw read notices the first byte even
    // when it is not yet a whole head.
    Lowest().expires_after(shared_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [this, self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (ec) return Close();
                              buffer_.commit(n);
                              ReadRest();
                            });
  }

  void ReadRest() {
    state_ = State::kReading;
    Lowest().expires_after(shared_->options.request_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [this, self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return OnReadError(ec);
                               if (parser_->is_done()) return OnRequest();
                               // curl and others wait for this before sending a large body.
                               auto expect = parser_->get()[bhttp::field::expect];
                               if (beast::iequals(expect, "100-continue")) return SendContinue();
                               ReadBody();
                             });
  }

  void SendContinue() {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue, sizeof kContinue - 1),
                     [this, self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return Close();
                       ReadBody();
                     });
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [this, self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return OnReadError(ec);
                        OnRequest();
                      });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      return SendError(431, "request header fields too large (limit " +
                                std::to_string(shared_->options.max_header_bytes) + " bytes)\n");
    }
    if (ec == bhttp::error::body_limit) {
      return SendError(413, "request body too large (limit " +
                                std::to_string(shared_->options.max_body_bytes) + " bytes)\n");
    }
    // A request the parser rejects (bad method, target, header syntax) gets 400; timeouts, EOF
    // and resets just close.
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return SendError(400, "malformed request: " + ec.message() + "\n");
    }
    Close();
  }

  void SendError(int status, std::string body) {
    keep_alive_ = false;
    linger_ = true;
    head_request_ = false;
    state_ = State::kHandling;
    WriteResponse(Response::Text(status, std::move(body)));
  }

  void OnRequest() {
    state_ = State::kHandling;
    Lowest().expires_never();
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    for (const auto& f : msg) req.headers.Add(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    req.remote_address = remote_address_;
    req.peer_certificate = peer_certificate_;
    keep_alive_ = msg.keep_alive();
    head_request_ = msg.method() == bhttp::verb::head;
    parser_.reset();
    const std::uint64_t seq = ++request_seq_;
    auto self = std::static_pointer_cast<Session>(shared_from_this());
    Reply reply = [self, seq](Response r) {
      if (self->shared_->stopped) return;
      net::dispatch(self->stream_.get_executor(), [self, seq, r = std::move(r)]() mutable {
        if (seq != self->request_seq_ || self->state_ != State::kHandling) return;
        self->WriteResponse(std::move(r));
      });
    };
    try {
      shared_->handler(std::move(req), std::move(reply));
    } catch (const std::exception& e) {
      if (state_ == State::kHandling && seq == request_seq_) {
        WriteResponse(Response::Text(500, std::string("internal error: ") + e.what() + "\n"));
      }
    }
  }

  template <class Message>
  void FillHead(Message& m, const Response& r) {
    for (const auto& [k, v] : r.headers.fields()) m.insert(k, v);
    if (m.find(bhttp::field::server) == m.end())
      m.set(bhttp::field::server, shared_->options.server_header);
  }

  void WriteResponse(Response r) {
    if (r.stream) return WriteStreamHead(std::move(r));
    state_ = State::kWriting;
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(r.status));
    FillHead(res_, r);
    res_.keep_alive(keep_alive_ && !shared_->stopping);
    const bool no_body = r.status < 200 || r.status == 204 || r.status == 304;
    if (head_request_) {
      res_.content_length(r.body.size());
    } else if (no_body) {
      res_.erase(bhttp::field::content_length);
    } else {
      res_.body() = std::move(r.body);
      res_.prepare_payload();
    }
    Lowest().expires_after(shared_->options.request_timeout);
    bhttp::async_write(stream_, res_,
                       [this, self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return Close();
                         if (linger_) return LingerClose();
                         if (!res_.keep_alive()) return Close();
                         res_ = {};
                         DoRead();
                       });
  }

  void WriteStreamHead(Response r) {
    state_ = State::kStreaming;
    stream_head_ = {};
    stream_head_.version(11);
    stream_head_.result(static_cast<unsigned>(r.status));
    FillHead(stream_head_, r);
    // A streamed response ends the connection: the client reads to the last chunk and the
    // connection needs no reader for the next request while the stream runs.
    stream_head_.keep_alive(false);
    stream_head_.chunked(true);
    serializer_.emplace(stream_head_);
    stream_impl_ = std::make_shared<StreamImpl>(weak_from_this(), shared_);
    start_stream_ = std::move(r.stream);
    Lowest().expires_after(shared_->options.request_timeout);
    bhttp::async_write_header(stream_, *serializer_,
                              [this, self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return Close();
                                Lowest().expires_never();
                                DetectHangup();
                                auto start = std::move(start_stream_);
                                start(stream_impl_);
                              });
  }

  // After an error answer the peer may still be sending (an oversized body): closing with
  // unread data would reset the connection before it reads the answer, so stop sending, drain
  // briefly, then close.
  void LingerClose() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    Lowest().expires_after(std::chrono::seconds(2));
    Drain();
  }
  void Drain() {
    Lowest().async_read_some(net::buffer(hangup_buf_),
                             [this, self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec || state_ == State::kClosed) return Close();
                               Drain();
                             });
  }

  // While streaming, a pending read notices the peer going away (EOF or reset).
  void DetectHangup() {
    stream_.async_read_some(net::buffer(hangup_buf_),
                            [this, self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return Close();
                              if (state_ == State::kStreaming) DetectHangup();
                            });
  }

  void DoFlush() {
    if (state_ != State::kStreaming || writing_ || !stream_impl_) return;
    bool last = false;
    if (!stream_impl_->Take(&chunk_body_, &last)) return;
    writing_ = true;
    last_chunk_ = last;
    std::size_t n = 0;
    if (!chunk_body_.empty()) {
      char tmp[24];
      int len = std::snprintf(tmp, sizeof tmp, "%zx\r\n", chunk_body_.size());
      chunk_head_.assign(tmp, static_cast<std::size_t>(len));
      n = 3;
    }
    std::size_t count = 0;
    if (n) {
      bufs_[count++] = net::buffer(chunk_head_);
      bufs_[count++] = net::buffer(chunk_body_);
      bufs_[count++] = net::buffer("\r\n", 2);
    }
    if (last) bufs_[count++] = net::buffer("0\r\n\r\n", 5);
    net::async_write(stream_, std::span<const net::const_buffer>(bufs_.data(), count),
                     [this, self = shared_from_this()](beast::error_code ec, std::size_t) {
                       writing_ = false;
                       if (stream_impl_) stream_impl_->Written();
                       if (ec) return Close();
                       if (last_chunk_) {
                         stream_done_ = true;
                         return Close();
                       }
                       DoFlush();
                     });
  }

  void Close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    if (stream_impl_) {
      if (!stream_done_) stream_impl_->Cancel();
      stream_impl_.reset();
    }
    beast::error_code ec;
    auto& sock = Lowest().socket();
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
    shared_->Unregister(id_);
  }

  // Declared first so it is destroyed last: the socket needs the io_context it holds.
  std::shared_ptr<Shared> shared_;
  StreamType stream_;
  const std::uint64_t id_;
  std::string remote_address_;
  std::optional<PeerCertificate> peer_certificate_;
  State state_ = State::kIdle;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
  bool keep_alive_ = true;
  bool head_request_ = false;
  bool linger_ = false;
  std::uint64_t request_seq_ = 0;

  bhttp::response<bhttp::empty_body> stream_head_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> serializer_;
  std::shared_ptr<StreamImpl> stream_impl_;
  std::function<void(std::shared_ptr<Stream>)> start_stream_;
  std::string chunk_head_;
  std::string chunk_body_;
  bool writing_ = false;
  bool last_chunk_ = false;
  bool stream_done_ = false;
  std::array<net::const_buffer, 4> bufs_;
  std::array<char, 512> hangup_buf_;
};

class ServerImpl final : public Server {
 public:
  explicit ServerImpl(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  ~ServerImpl() override { Stop(std::chrono::milliseconds(0)); }

  core::Status Listen() {
    const auto& o = shared_->options;
    beast::error_code ec;
    auto addr = net::ip::make_address(o.address, ec);
    if (ec) {
      tcp::resolver resolver(shared_->ioc);
      auto results = resolver.resolve(o.address, std::to_string(o.port), ec);
      if (ec || results.empty()) {
        return core::InvalidArgument(o.address + ":" + std::to_string(o.port) +
                                     ": cannot resolve listen address: " + ec.message());
      }
      addr = results.begin()->endpoint().address();
    }
    tcp::endpoint ep(addr, o.port);
    const std::string where = (addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string()) +
                              ":" + std::to_string(o.port);
    auto& acc = shared_->acceptor;
    acc.open(ep.protocol(), ec);
    if (ec) return core::Internal(where + ": cannot open socket: " + ec.message());
    acc.set_option(net::socket_base::reuse_address(true), ec);
    acc.bind(ep, ec);
    if (ec == net::error::address_in_use) {
      return core::MakeError(core::Code::kAlreadyExists, where + ": address already in use");
    }
    if (ec) return core::Unavailable(where + ": cannot bind: " + ec.message());
    acc.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return core::Unavailable(where + ": cannot listen: " + ec.message());
    port_ = acc.local_endpoint().port();
    return core::Status::Ok();
  }

  void Run() {
    Accept();
    const int n = std::max(1, shared_->options.io_threads);
    for (int i = 0; i < n; ++i) {
      threads_.emplace_back([s = shared_] { s->ioc.run(); });
    }
  }

  std::uint16_t port() const override { return port_; }

  int open_connections() const override {
    std::lock_guard lock(shared_->mu);
    return shared_->open;
  }

  void Stop(std::chrono::milliseconds grace) override {
    std::lock_guard stop_lock(stop_mu_);
    if (shared_->stopped) return;
    shared_->stopping = true;
    net::post(shared_->ioc, [s = shared_] {
      beast::error_code ec;
      s->acceptor.close(ec);
    });
    for (auto& s : shared_->Sessions()) s->BeginStop();
    const auto deadline = std::chrono::steady_clock::now() + grace;
    if (!shared_->WaitNoneOpen(deadline)) {
      for (auto& s : shared_->Sessions()) s->ForceClose();
      shared_->WaitNoneOpen(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    }
    shared_->stopped = true;
    work_.reset();
    shared_->ioc.stop();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    accept_retry_.cancel();
    // Handlers posted while the threads wound down hold connections (and through them this
    // io_context); run them out so nothing is left in a reference cycle.
    for (int i = 0; i < 10; ++i) {
      shared_->ioc.restart();
      if (shared_->ioc.poll() == 0) break;
    }
  }

 private:
  void Accept() {
    shared_->acceptor.async_accept(net::make_strand(shared_->ioc),
                                   [this, s = shared_](beast::error_code ec, tcp::socket sock) {
                                     if (ec == net::error::operation_aborted || s->stopping) return;
                                     if (!ec) OnAccept(std::move(sock));
                                     if (!s->acceptor.is_open()) return;
                                     if (ec) return AcceptLater();  // e.g. out of descriptors
                                     Accept();
                                   });
  }

  // Retries accepting after a pause instead of spinning while the error lasts.
  void AcceptLater() {
    accept_retry_.expires_after(std::chrono::milliseconds(50));
    accept_retry_.async_wait([this, s = shared_](beast::error_code ec) {
      if (ec || s->stopping) return;
      Accept();
    });
  }

  void OnAccept(tcp::socket sock) {
    beast::error_code ec;
    if (open_connections() >= shared_->options.max_connections) {
      sock.close(ec);
      return;
    }
    sock.set_option(tcp::no_delay(true), ec);
    const std::uint64_t id = shared_->next_id++;
    if (shared_->tls) {
      auto s = std::make_shared<Session<true>>(shared_, std::move(sock), id);
      shared_->Register(id, s);
      s->Start();
    } else {
      auto s = std::make_shared<Session<false>>(shared_, std::move(sock), id);
      shared_->Register(id, s);
      s->Start();
    }
  }

  std::shared_ptr<Shared> shared_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_{
      shared_->ioc.get_executor()};
  net::steady_timer accept_retry_{shared_->ioc};
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
  std::mutex stop_mu_;
};

}  // namespace

core::Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, Handler handler) {
  internal::RaiseOpenFileLimit();
  auto shared = std::make_shared<Shared>(std::move(options), std::move(handler));
  if (shared->options.tls) {
    shared->tls.emplace(ssl::context::tls_server);
    auto st = internal::ConfigureServerTls(shared->tls->native_handle(), *shared->options.tls);
    if (!st.ok()) return std::move(st).error();
  }
  auto server = std::make_unique<ServerImpl>(shared);
  auto st = server->Listen();
  if (!st.ok()) {
    server->Stop(std::chrono::milliseconds(0));
    return std::move(st).error();
  }
  server->Run();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace gpuscale::http
