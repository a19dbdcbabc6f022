#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include "http/client.h"
#include "http/server.h"
#include "http/test_support.h"

namespace gpuscale::http {
namespace {

using testing::WaitFor;
using namespace std::chrono_literals;

Url LocalUrl(std::uint16_t port, std::string target = "/") {
  Url u;
  u.scheme = "http";
  u.host = "127.0.0.1";
  u.port = port;
  u.target = std::move(target);
  return u;
}

TEST(AsyncClientTest, SseRoundTripDeliversPieces) {
  std::atomic<int> received{0};
  std::vector<std::thread> producers;
  std::mutex mu;
  auto server = Server::Start({}, Sync([&](const Request&) {
                                return Response::EventStream([&](std::shared_ptr<Stream> s) {
                                  std::lock_guard lock(mu);
                                  producers.emplace_back([s, &received] {
                                    for (int i = 0; i < 5; ++i) {
                                      s->Write(SseEvent("{\"i\":" + std::to_string(i) + "}"));
                                      // Next event only after the client has seen this one, so
                                      // pieces stay apart.
                                      WaitFor([&] { return received.load() > i; });
                                    }
                                    s->Write(SseEvent("[DONE]"));
                                    s->Close();
                                  });
                                });
                              }));
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  auto client = AsyncClient::Create();
  std::promise<core::Result<Response>> done;
  std::string assembled;
  std::vector<std::string> pieces;
  int status = 0;
  std::string content_type;
  AsyncCallbacks cb;
  cb.on_headers = [&](const Response& head) {
    status = head.status;
    content_type = std::string(head.headers.Get("Content-Type").value_or(""));
  };
  cb.on_data = [&](std::string_view d) {
    pieces.emplace_back(d);
    assembled += d;
    received = static_cast<int>(pieces.size());
    return true;
  };
  cb.on_done = [&](core::Result<Response> r) { done.set_value(std::move(r)); };
  Request req;
  req.method = "POST";
  req.body = "{\"stream\":true}";
  client->Send(LocalUrl((*server)->port(), "/v1/completions"), req, cb);
  auto result = done.get_future().get();
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(content_type, "text/event-stream");
  EXPECT_EQ(assembled,
            "data: {\"i\":0}\n\ndata: {\"i\":1}\n\ndata: {\"i\":2}\n\ndata: {\"i\":3}\n\n"
            "data: {\"i\":4}\n\ndata: [DONE]\n\n");
  EXPECT_GE(pieces.size(), 5u);
  EXPECT_EQ(result->body, "");  // on_data took the body
  EXPECT_EQ(client->in_flight(), 0);
  (*server)->Stop();
  for (auto& t : producers) t.join();
}

TEST(AsyncClientTest, ManyConcurrentRequestsShareAPool) {
  auto server =
      Server::Start({}, Sync([](const Request& r) { return Response::Text(200, r.Path()); }));
  ASSERT_TRUE(server.ok());
  ClientOptions o;
  o.max_idle_per_host = 8;
  auto client = AsyncClient::Create(o, 2);
  constexpr int kN = 400;
  std::atomic<int> ok{0}, done{0};
  for (int i = 0; i < kN; ++i) {
    AsyncCallbacks cb;
    cb.on_done = [&, i](core::Result<Response> r) {
      if (r.ok() && r->body == "/r" + std::to_string(i)) ++ok;
      ++done;
    };
    client->Send(LocalUrl((*server)->port(), "/r" + std::to_string(i)), {}, cb);
  }
  ASSERT_TRUE(WaitFor([&] { return done.load() == kN; }, 30s));
  EXPECT_EQ(ok.load(), kN);
  EXPECT_LE((*server)->open_connections(), kN);
}

TEST(AsyncClientTest, DestructionCancelsInFlight) {
  std::mutex mu;
  std::vector<Reply> held;
  auto server = Server::Start({}, [&](Request, Reply reply) {
    std::lock_guard lock(mu);
    held.push_back(std::move(reply));
  });
  ASSERT_TRUE(server.ok());
  auto client = AsyncClient::Create();
  std::atomic<int> cancelled{0};
  for (int i = 0; i < 3; ++i) {
    AsyncCallbacks cb;
    cb.on_done = [&](core::Result<Response> r) {
      if (!r.ok() && r.error().code == core::Code::kCancelled) ++cancelled;
    };
    client->Send(LocalUrl((*server)->port()), {}, cb);
  }
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return held.size() == 3;
  }));
  EXPECT_EQ(client->in_flight(), 3);
  client.reset();
  EXPECT_EQ(cancelled.load(), 3);
}

TEST(AsyncClientTest, OnDataFalseAborts) {
  auto server = Server::Start(
      {}, Sync([](const Request&) { return Response::Text(200, std::string(100000, 'z')); }));
  ASSERT_TRUE(server.ok());
  auto client = AsyncClient::Create();
  std::promise<core::Result<Response>> done;
  AsyncCallbacks cb;
  cb.on_data = [](std::string_view) { return false; };
  cb.on_done = [&](core::Result<Response> r) { done.set_value(std::move(r)); };
  client->Send(LocalUrl((*server)->port()), {}, cb);
  auto r = done.get_future().get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kCancelled);
}

TEST(ClientTest, TimeoutIsDeadlineExceeded) {
  std::mutex mu;
  std::vector<Reply> held;
  auto server = Server::Start({}, [&](Request, Reply reply) {
    std::lock_guard lock(mu);
    held.push_back(std::move(reply));
  });
  ASSERT_TRUE(server.ok());
  auto client = Client::Create();
  Request req;
  auto t0 = std::chrono::steady_clock::now();
  auto r = client->Send("http://127.0.0.1:" + std::to_string((*server)->port()) + "/", req, 200ms);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kDeadlineExceeded) << r.error().ToString();
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 5s);
}

TEST(ClientTest, ConnectionRefusedIsUnavailable) {
  auto client = Client::Create();
  auto port = testing::UnusedPort();
  auto r = client->Get("http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kUnavailable) << r.error().ToString();
  EXPECT_NE(r.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos);
}

TEST(ClientTest, BadUrlIsInvalidArgument) {
  auto r = Client::Create()->Get("127.0.0.1:80/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kInvalidArgument);
}

TEST(ClientTest, LargeBodyIsResourceExhausted) {
  auto server = Server::Start(
      {}, Sync([](const Request&) { return Response::Text(200, std::string(4096, 'b')); }));
  ASSERT_TRUE(server.ok());
  ClientOptions o;
  o.max_body_bytes = 1024;
  auto r = Client::Create(o)->Get("http://127.0.0.1:" + std::to_string((*server)->port()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kResourceExhausted) << r.error().ToString();
}

// A body of `n` bytes that shows where each byte belongs.
std::string NumberedBody(std::size_t n) {
  std::string body;
  for (int i = 0; body.size() < n; ++i) body += std::to_string(i) + ",";
  body.resize(n);
  return body;
}

TEST(ClientTest, SendStreamingHandsA2xxBodyOverInPieces) {
  const std::string body = NumberedBody(3 * 1024 * 1024);
  auto server = Server::Start({}, Sync([&](const Request&) { return Response::Text(200, body); }));
  ASSERT_TRUE(server.ok());
  ClientOptions o;
  o.max_body_bytes = 1024;      // not for streamed bodies
  o.max_queued_body_bytes = 1;  // the I/O thread waits for each piece to be taken
  auto client = Client::Create(o);
  std::string got;
  int pieces = 0;
  Request req;
  auto r = client->SendStreaming("http://127.0.0.1:" + std::to_string((*server)->port()), req,
                                 [&](std::string_view piece) {
                                   got += piece;
                                   ++pieces;
                                   return core::Status::Ok();
                                 });
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");
  EXPECT_TRUE(got == body) << got.size() << " bytes of " << body.size();
  EXPECT_GT(pieces, 1);
}

TEST(ClientTest, SendStreamingReturnsOtherAnswersWhole) {
  auto server =
      Server::Start({}, Sync([](const Request& r) {
                      return Response::Text(r.target == "/big" ? 502 : 422,
                                            std::string(r.target == "/big" ? 4096 : 10, 'e'));
                    }));
  ASSERT_TRUE(server.ok());
  ClientOptions o;
  o.max_body_bytes = 1024;
  auto client = Client::Create(o);
  const std::string base = "http://127.0.0.1:" + std::to_string((*server)->port());
  bool called = false;
  auto sink = [&](std::string_view) {
    called = true;
    return core::Status::Ok();
  };
  auto r = client->SendStreaming(base + "/small", {}, sink);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 422);
  EXPECT_EQ(r->body, "eeeeeeeeee");
  auto big = client->SendStreaming(base + "/big", {}, sink);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, core::Code::kResourceExhausted) << big.error().ToString();
  EXPECT_FALSE(called);
}

TEST(ClientTest, SendStreamingEndsWithTheSinksError) {
  const std::string body = NumberedBody(2 * 1024 * 1024);
  auto server = Server::Start({}, Sync([&](const Request&) { return Response::Text(200, body); }));
  ASSERT_TRUE(server.ok());
  ClientOptions o;
  o.max_queued_body_bytes = 1;
  auto client = Client::Create(o);
  const std::string url = "http://127.0.0.1:" + std::to_string((*server)->port());
  int pieces = 0;
  auto r = client->SendStreaming(url, {}, [&](std::string_view) {
    ++pieces;
    return core::Status(core::DataLoss("not what I expected"));
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), (core::Error{core::Code::kDataLoss, "not what I expected"}));
  EXPECT_EQ(pieces, 1);
  // The client goes on working.
  auto again = client->Get(url);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(again->body == body);
}

TEST(ClientTest, RetriesAConnectionTheServerClosedWhileIdle) {
  ServerOptions so;
  so.idle_timeout = 100ms;
  auto server = Server::Start(so, Sync([](const Request& r) {
                                auto resp = Response::Text(200, "ok");
                                resp.headers.Set("X-Remote", r.remote_address);
                                return resp;
                              }));
  ASSERT_TRUE(server.ok());
  auto client = Client::Create();
  const std::string url = "http://127.0.0.1:" + std::to_string((*server)->port()) + "/";
  auto a = client->Get(url);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(WaitFor([&] { return (*server)->open_connections() == 0; }));
  auto b = client->Get(url);
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  EXPECT_EQ(b->body, "ok");
  EXPECT_NE(a->headers.Get("X-Remote"), b->headers.Get("X-Remote"));
}

// The bytes an AsyncClient writes for `req`, read by a raw listener that answers 200.
std::string CaptureRequest(Request req) {
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(lfd, 1), 0);
  socklen_t len = sizeof a;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
  auto client = AsyncClient::Create();
  std::promise<core::Result<Response>> done;
  AsyncCallbacks cb;
  cb.on_done = [&](core::Result<Response> r) { done.set_value(std::move(r)); };
  client->Send(LocalUrl(ntohs(a.sin_port), "/v1/x"), std::move(req), std::move(cb));
  int fd = ::accept(lfd, nullptr, nullptr);
  std::string got;
  char buf[4096];
  while (true) {
    std::size_t end = got.find("\r\n\r\n");
    if (end != std::string::npos) {
      std::size_t cl = got.find("Content-Length: ");
      std::size_t body = cl == std::string::npos ? 0 : std::stoul(got.substr(cl + 16));
      if (got.size() >= end + 4 + body) break;
    }
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  ::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL);
  EXPECT_TRUE(done.get_future().get().ok());
  ::close(fd);
  ::close(lfd);
  return got;
}

TEST(AsyncClientTest, WritesTheRequestAsGiven) {
  Request post;
  post.method = "POST";
  post.headers.Add("Content-Type", "application/json");
  post.headers.Add("X-Remote-Group", "a");
  post.headers.Add("X-Remote-Group", "b");
  post.body = R"({"k":1})";
  std::string got = CaptureRequest(post);
  std::size_t host = got.find("Host: 127.0.0.1:");
  ASSERT_NE(host, std::string::npos) << got;
  std::string port_suffix = got.substr(host + 16, got.find("\r\n", host) - host - 16);
  EXPECT_EQ(got, "POST /v1/x HTTP/1.1\r\nHost: 127.0.0.1:" + port_suffix +
                     "\r\nUser-Agent: gpuscale\r\nContent-Type: application/json\r\n"
                     "X-Remote-Group: a\r\nX-Remote-Group: b\r\nContent-Length: 7\r\n\r\n"
                     R"({"k":1})");

  Request get;
  get.headers.Add("Accept", "text/plain");
  got = CaptureRequest(get);
  EXPECT_EQ(got.substr(0, 20), "GET /v1/x HTTP/1.1\r\n");
  EXPECT_NE(got.find("\r\nAccept: text/plain\r\n\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("Content-Length"), std::string::npos) << got;

  // A caller's Host and Content-Length replace the client's.
  Request own;
  own.method = "PUT";
  own.headers.Add("host", "example.test");
  own.headers.Add("Content-Length", "99");
  own.body = "xy";
  got = CaptureRequest(own);
  EXPECT_NE(got.find("\r\nhost: example.test\r\n"), std::string::npos) << got;
  EXPECT_EQ(got.find("Host: 127.0.0.1"), std::string::npos) << got;
  EXPECT_NE(got.find("Content-Length: 2\r\n\r\nxy"), std::string::npos) << got;
  EXPECT_EQ(got.find("99"), std::string::npos) << got;
}

}  // namespace
}  // namespace gpuscale::http
