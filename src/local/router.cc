#include "local/router.h"

#include <mutex>
#include <optional>

#include "core/json_escape.h"

namespace gpuscale::local {

namespace {

bool IsHopByHop(std::string_view name) {
  auto eq = [&](std::string_view other) {
    if (name.size() != other.size()) return false;
    for (size_t i = 0; i < name.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(name[i])) != other[i]) return false;
    }
    return true;
  };
  return eq("connection") || eq("keep-alive") || eq("transfer-encoding") || eq("content-length") ||
         eq("te") || eq("trailer") || eq("upgrade") || eq("proxy-connection");
}

http::Response ErrorResponse(int status, std::string_view message) {
  // The OpenAI error shape vLLM uses, so clients parse it like any other error.
  std::string body =
      "{\"error\":{\"message\":" + core::JsonString(message) +
      ",\"type\":\"ServiceUnavailable\",\"param\":null,\"code\":" + std::to_string(status) + "}}";
  return http::Response::Json(status, std::move(body));
}

// What one proxied request shares between the client's callbacks and the response stream.
struct ProxyState {
  std::mutex mu;
  http::Reply reply;
  bool replied = false;
  std::shared_ptr<http::Stream> stream;
  std::string buffered;  // body bytes that arrived before the stream was handed over
  bool upstream_done = false;
  bool cancelled = false;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  bool first_byte_seen = false;
};

}  // namespace

core::Result<std::unique_ptr<Router>> Router::Start(RouterOptions options, ReplicaTable& table,
                                                    http::AsyncClient& client) {
  std::unique_ptr<Router> router(new Router(table, client, options.upstream_timeout));
  http::ServerOptions server_options;
  server_options.address = options.address;
  server_options.port = options.port;
  server_options.io_threads = options.io_threads;
  server_options.idle_timeout = std::chrono::seconds(300);
  server_options.server_header = "gpuscale-router";
  Router* self = router.get();
  GPUSCALE_ASSIGN_OR_RETURN(
      router->server_,
      http::Server::Start(server_options, [self](http::Request request, http::Reply reply) {
        self->Handle(std::move(request), std::move(reply));
      }));
  return router;
}

Router::~Router() { Stop(std::chrono::milliseconds(0)); }

void Router::Stop(std::chrono::milliseconds grace) {
  if (server_) server_->Stop(grace);
}

RouterStats Router::stats() const {
  return {requests_.load(), no_replica_.load(), upstream_errors_.load()};
}

void Router::RecordTtft(double seconds) {
  std::lock_guard lock(ttft_mu_);
  ttfts_.emplace_back(std::chrono::steady_clock::now(), seconds);
  while (ttfts_.size() > 100000) ttfts_.pop_front();
}

std::vector<double> Router::RecentTtfts(std::chrono::milliseconds window) const {
  auto since = std::chrono::steady_clock::now() - window;
  std::lock_guard lock(ttft_mu_);
  std::vector<double> out;
  for (auto it = ttfts_.rbegin(); it != ttfts_.rend() && it->first >= since; ++it) {
    out.push_back(it->second);
  }
  return out;
}

void Router::Handle(http::Request request, http::Reply reply) {
  ++requests_;
  std::shared_ptr<Replica> replica = table_.PickLeastOutstanding();
  if (!replica) {
    ++no_replica_;
    reply(ErrorResponse(503, "no ready replica"));
    return;
  }
  ++replica->outstanding;
  auto state = std::make_shared<ProxyState>();
  state->reply = std::move(reply);

  http::Url url;
  url.scheme = "http";
  url.host = replica->host;
  url.port = replica->port;
  url.target = request.target;
  http::Request upstream;
  upstream.method = request.method;
  upstream.target = request.target;
  for (const auto& [name, value] : request.headers.fields()) {
    if (!IsHopByHop(name) && name != "Host" && name != "host") upstream.headers.Add(name, value);
  }
  upstream.headers.Add("X-Forwarded-For", request.remote_address);
  upstream.body = std::move(request.body);

  http::AsyncCallbacks callbacks;
  callbacks.on_headers = [state](const http::Response& head) {
    http::Response response;
    response.status = head.status;
    for (const auto& [name, value] : head.headers.fields()) {
      if (!IsHopByHop(name)) response.headers.Add(name, value);
    }
    response.stream = [state](std::shared_ptr<http::Stream> stream) {
      {
        std::lock_guard held(state->mu);
        state->stream = stream;
        if (!state->buffered.empty()) stream->Write(std::move(state->buffered));
        state->buffered.clear();
        if (state->upstream_done) stream->Close();
      }
      // Outside the lock: OnCancel runs the callback at once if the client has already gone.
      std::weak_ptr<ProxyState> weak = state;
      stream->OnCancel([weak] {
        if (auto s = weak.lock()) {
          std::lock_guard held(s->mu);
          s->cancelled = true;
        }
      });
    };
    http::Reply pending_reply;
    {
      std::lock_guard held(state->mu);
      state->replied = true;
      pending_reply = std::move(state->reply);
    }
    pending_reply(std::move(response));
  };
  callbacks.on_data = [this, state](std::string_view data) {
    std::lock_guard lock(state->mu);
    if (!state->first_byte_seen && !data.empty()) {
      state->first_byte_seen = true;
      RecordTtft(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - state->start).count());
    }
    if (state->cancelled) return false;  // the client left: stop the replica's work too
    if (state->stream) return state->stream->Write(std::string(data));
    state->buffered.append(data);
    return true;
  };
  callbacks.on_done = [this, state, replica](core::Result<http::Response> result) {
    --replica->outstanding;
    ++replica->served;
    http::Reply pending_reply;
    {
      std::lock_guard held(state->mu);
      state->upstream_done = true;
      if (!result.ok()) ++upstream_errors_;
      if (!state->replied) {
        state->replied = true;
        pending_reply = std::move(state->reply);
      } else if (state->stream) {
        state->stream->Close();
      }
    }
    if (pending_reply) {
      pending_reply(result.ok() ? std::move(result).value()
                                : ErrorResponse(502, "replica failed: " + result.error().message));
    }
  };
  client_.Send(url, std::move(upstream), std::move(callbacks), timeout_);
}

}  // namespace gpuscale::local
