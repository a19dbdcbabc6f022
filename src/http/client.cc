// The blocking client: a thin wrapper that waits on the asynchronous client, so both share one
// connection pool implementation.
#include "http/client.h"

#include <future>

namespace gpuscale::http {
namespace {

class ClientImpl final : public Client {
 public:
  explicit ClientImpl(ClientOptions options) : async_(AsyncClient::Create(std::move(options), 1)) {}

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

 private:
  std::unique_ptr<AsyncClient> async_;
};

}  // namespace

std::unique_ptr<Client> Client::Create(ClientOptions options) {
  return std::make_unique<ClientImpl>(std::move(options));
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
