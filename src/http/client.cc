// The blocking client: a thin wrapper that waits on the asynchronous client, so both share one
// connection pool implementation.
#include "http/client.h"

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>

namespace gpuscale::http {
namespace {

class ClientImpl final : public Client {
 public:
  explicit ClientImpl(ClientOptions options)
      : max_body_bytes_(options.max_body_bytes),
        max_queued_body_bytes_(options.max_queued_body_bytes),
        async_(AsyncClient::Create(std::move(options), 1)) {}

  core::Result<Response> Send(std::string_view url, Request request,
                              std::optional<std::chrono::milliseconds> timeout) override {
    GPUSCALE_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
    std::promise<core::Result<Response>> promise;
    auto future = promise.get_future();
    AsyncCallbacks cb;
    cb.on_done = [&promise](core::Result<Response> r) { promise.set_value(std::move(r)); };
    async_->Send(parsed, std::move(request), std::move(cb), timeout);
    return future.get();
  }

  core::Result<Response> SendStreaming(std::string_view url, Request request,
                                       const BodySink& on_body,
                                       std::optional<std::chrono::milliseconds> timeout) override {
    GPUSCALE_ASSIGN_OR_RETURN(Url parsed, ParseUrl(url));
    // Pieces go from the I/O thread to this one through a queue; the I/O thread waits while
    // more than max_queued_body_bytes_ are queued, which stops reading the connection.
    struct Shared {
      std::mutex mu;
      std::condition_variable cv;
      std::deque<std::string> pieces;              // guarded by mu
      std::size_t queued = 0;                      // bytes in `pieces`; guarded by mu
      bool stop = false;                           // the sink failed; guarded by mu
      std::optional<core::Result<Response>> done;  // guarded by mu
      // I/O thread only until `done`:
      bool streaming = false;  // a 2xx answer: the body goes to the sink
      bool too_large = false;  // another answer's body passed max_body_bytes
      std::string kept;        // another answer's body
    };
    auto shared = std::make_shared<Shared>();
    AsyncCallbacks cb;
    cb.on_headers = [shared](const Response& head) {
      shared->streaming = head.status >= 200 && head.status < 300;
    };
    cb.on_data = [shared, max_body = max_body_bytes_,
                  max_queued = max_queued_body_bytes_](std::string_view data) {
      if (!shared->streaming) {
        if (shared->kept.size() + data.size() > max_body) {
          shared->too_large = true;
          return false;
        }
        shared->kept.append(data);
        return true;
      }
      std::unique_lock lock(shared->mu);
      shared->cv.wait(lock, [&] { return shared->queued < max_queued || shared->stop; });
      if (shared->stop) return false;
      shared->pieces.emplace_back(data);
      shared->queued += data.size();
      shared->cv.notify_all();
      return true;
    };
    cb.on_done = [shared](core::Result<Response> r) {
      std::lock_guard lock(shared->mu);
      shared->done = std::move(r);
      shared->cv.notify_all();
    };
    const std::string host_port = parsed.host + ":" + std::to_string(parsed.port);
    async_->Send(parsed, std::move(request), std::move(cb), timeout);

    core::Status sunk;
    std::unique_lock lock(shared->mu);
    for (;;) {
      shared->cv.wait(lock, [&] { return !shared->pieces.empty() || shared->done; });
      if (shared->pieces.empty()) break;  // done, and every piece taken
      std::string piece = std::move(shared->pieces.front());
      shared->pieces.pop_front();
      shared->queued -= piece.size();
      shared->cv.notify_all();
      if (!sunk.ok()) continue;  // drop what was queued before the I/O thread saw `stop`
      lock.unlock();
      sunk = on_body(piece);
      lock.lock();
      if (!sunk.ok()) {
        shared->stop = true;
        shared->cv.notify_all();
      }
    }
    core::Result<Response> result = std::move(*shared->done);
    if (!sunk.ok()) return sunk.error();
    if (shared->too_large) {
      return core::ResourceExhausted("read response body from " + host_port +
                                     ": body larger than " + std::to_string(max_body_bytes_) +
                                     " bytes");
    }
    if (result.ok() && !shared->streaming) result->body = std::move(shared->kept);
    return result;
  }

 private:
  const std::size_t max_body_bytes_;
  const std::size_t max_queued_body_bytes_;
  std::unique_ptr<AsyncClient> async_;
};

}  // namespace

std::unique_ptr<Client> Client::Create(ClientOptions options) {
  return std::make_unique<ClientImpl>(std::move(options));
}

core::Result<Response> Client::SendStreaming(std::string_view url, Request request,
                                             const BodySink& on_body,
                                             std::optional<std::chrono::milliseconds> timeout) {
  GPUSCALE_ASSIGN_OR_RETURN(Response response, Send(url, std::move(request), timeout));
  if (response.status >= 200 && response.status < 300) {
    std::string body = std::move(response.body);
    response.body.clear();
    if (!body.empty()) GPUSCALE_RETURN_IF_ERROR(on_body(body));
  }
  return response;
}

core::Result<Response> Client::Get(std::string_view url, Headers headers) {
  Request r;
  r.method = "GET";
  r.headers = std::move(headers);
  return Send(url, std::move(r));
}

core::Result<Response> Client::Post(std::string_view url, std::string body,
                                    std::string content_type) {
  Request r;
  r.method = "POST";
  r.headers.Set("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return Send(url, std::move(r));
}

}  // namespace gpuscale::http
