#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "http/client.h"
#include "http/test_support.h"

namespace gpuscale::http {
namespace {

using testing::RawConn;
using testing::WaitFor;
using namespace std::chrono_literals;

std::unique_ptr<Server> StartOrDie(ServerOptions o, Handler h) {
  auto s = Server::Start(std::move(o), std::move(h));
  EXPECT_TRUE(s.ok()) << s.error().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

std::string Url(const Server& s, std::string_view path = "/") {
  return "http://127.0.0.1:" + std::to_string(s.port()) + std::string(path);
}

Handler Echo() {
  return Sync([](const Request& r) {
    auto resp = Response::Text(200, r.method + " " + r.Path() + " " + r.body);
    resp.headers.Set("X-Remote", r.remote_address);
    return resp;
  });
}

TEST(ServerTest, ServesAndReusesKeptAliveConnections) {
  auto server = StartOrDie({}, Echo());
  ASSERT_NE(server, nullptr);
  EXPECT_NE(server->port(), 0);
  auto client = Client::Create();
  auto a = client->Get(Url(*server, "/a"));
  ASSERT_TRUE(a.ok()) << a.error().ToString();
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "GET /a ");
  EXPECT_EQ(a->headers.Get("Server"), "gpuscale");
  auto b = client->Post(Url(*server, "/b"), "payload");
  ASSERT_TRUE(b.ok()) << b.error().ToString();
  EXPECT_EQ(b->body, "POST /b payload");
  // Same client port: the second request went over the first connection.
  EXPECT_EQ(a->headers.Get("X-Remote"), b->headers.Get("X-Remote"));
  EXPECT_EQ(server->open_connections(), 1);
}

// Repeated header fields travel both ways as sent: the aggregator's X-Remote-Group carries one
// group per field, and a proxy that kept only one would lose the rest.
TEST(ServerTest, RepeatedHeaderFieldsSurviveClientAndServer) {
  auto server = StartOrDie({}, Sync([](const Request& r) {
                             std::string groups;
                             for (auto g : r.headers.GetAll("X-Remote-Group")) {
                               groups += std::string(g) + ";";
                             }
                             return Response::Text(200, groups);
                           }));
  ASSERT_NE(server, nullptr);
  auto client = Client::Create();
  Request request;
  request.headers.Add("X-Remote-Group", "system:masters");
  request.headers.Add("X-Remote-Group", "system:authenticated");
  request.headers.Set("User-Agent", "custom-agent");
  auto r = client->Send(Url(*server, "/"), std::move(request));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "system:masters;system:authenticated;");
}

TEST(ServerTest, HeadHasNoBody) {
  auto server = StartOrDie({}, Echo());
  RawConn c(server->port());
  ASSERT_TRUE(c.Send("HEAD /x HTTP/1.1\r\nHost: t\r\n\r\nGET /y HTTP/1.1\r\nHost: t\r\n\r\n"));
  std::string got = c.ReadUntil("GET /y ");
  EXPECT_NE(got.find("Content-Length: 8\r\n"), std::string::npos) << got;  // "HEAD /x "
  EXPECT_EQ(got.find("HEAD /x"), std::string::npos) << got;
  EXPECT_NE(got.find("GET /y "), std::string::npos) << got;
}

TEST(ServerTest, PortInUseIsAlreadyExists) {
  auto first = StartOrDie({}, Echo());
  ServerOptions o;
  o.port = first->port();
  auto second = Server::Start(o, Echo());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, core::Code::kAlreadyExists);
  EXPECT_EQ(second.error().message,
            "127.0.0.1:" + std::to_string(first->port()) + ": address already in use");
}

TEST(ServerTest, HalfHeadIsCutOffAtRequestTimeout) {
  ServerOptions o;
  o.request_timeout = 200ms;
  auto server = StartOrDie(o, Echo());
  RawConn c(server->port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n"));
  auto t0 = std::chrono::steady_clock::now();
  bool closed = false;
  std::string got = c.ReadUntil("", &closed, 10s);
  auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(closed);
  EXPECT_EQ(got, "");
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 5s);
}

TEST(ServerTest, IdleConnectionClosesAtIdleTimeout) {
  ServerOptions o;
  o.idle_timeout = 150ms;
  auto server = StartOrDie(o, Echo());
  RawConn c(server->port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool closed = false;
  std::string got = c.ReadUntil("GET / ", &closed);
  ASSERT_FALSE(closed);
  c.ReadUntil("", &closed, 10s);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(WaitFor([&] { return server->open_connections() == 0; }));
}

TEST(ServerTest, LimitsAnswer413And431) {
  ServerOptions o;
  o.max_body_bytes = 1024;
  o.max_header_bytes = 4096;
  auto server = StartOrDie(o, Echo());
  auto client = Client::Create();
  auto ok = client->Post(Url(*server), std::string(1000, 'x'));
  ASSERT_TRUE(ok.ok()) << ok.error().ToString();
  EXPECT_EQ(ok->status, 200);
  auto big = client->Post(Url(*server), std::string(2048, 'x'));
  ASSERT_TRUE(big.ok()) << big.error().ToString();
  EXPECT_EQ(big->status, 413);
  Headers h;
  h.Set("X-Big", std::string(8000, 'h'));
  auto fat = client->Get(Url(*server), h);
  ASSERT_TRUE(fat.ok()) << fat.error().ToString();
  EXPECT_EQ(fat->status, 431);
  // The limits close the offending connections; the server still serves.
  auto after = client->Get(Url(*server));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->status, 200);
}

TEST(ServerTest, ExpectContinueGetsInterimAnswer) {
  auto server = StartOrDie({}, Echo());
  RawConn c(server->port());
  ASSERT_TRUE(
      c.Send("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
             "Expect: 100-continue\r\n\r\n"));
  std::string interim = c.ReadUntil("\r\n\r\n");
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.Send("hello"));
  EXPECT_NE(c.ReadUntil("POST /up hello").find("200 OK"), std::string::npos);
}

TEST(ServerTest, MalformedRequestIs400) {
  auto server = StartOrDie({}, Echo());
  RawConn c(server->port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nBad Header\r\n\r\n"));
  std::string got = c.ReadUntil("\r\n\r\n");
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
}

TEST(ServerTest, AsyncReplyFromAnotherThread) {
  std::vector<std::thread> threads;
  std::mutex mu;
  auto server = StartOrDie({}, [&](Request r, Reply reply) {
    std::lock_guard lock(mu);
    threads.emplace_back([r = std::move(r), reply = std::move(reply)] {
      reply(Response::Text(202, "later " + r.Path()));
    });
  });
  auto client = Client::Create();
  for (int i = 0; i < 3; ++i) {
    auto res = client->Get(Url(*server, "/p" + std::to_string(i)));
    ASSERT_TRUE(res.ok()) << res.error().ToString();
    EXPECT_EQ(res->status, 202);
    EXPECT_EQ(res->body, "later /p" + std::to_string(i));
  }
  server->Stop();
  for (auto& t : threads) t.join();
}

TEST(ServerTest, HandlerExceptionIs500) {
  auto server = StartOrDie({}, [](Request, Reply) { throw std::runtime_error("boom"); });
  auto res = Client::Create()->Get(Url(*server));
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 500);
  EXPECT_NE(res->body.find("boom"), std::string::npos);
}

TEST(ServerTest, ConnectionLimitClosesExtraConnections) {
  ServerOptions o;
  o.max_connections = 2;
  auto server = StartOrDie(o, Echo());
  RawConn a(server->port()), b(server->port());
  ASSERT_TRUE(WaitFor([&] { return server->open_connections() == 2; }));
  RawConn c(server->port());
  bool closed = false;
  c.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string got = c.ReadUntil("", &closed, 10s);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got, "");
  a.Close();
  ASSERT_TRUE(WaitFor([&] { return server->open_connections() == 1; }));
  RawConn d(server->port());
  ASSERT_TRUE(d.Send("GET /d HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(d.ReadUntil("GET /d ").find("200 OK"), std::string::npos);
}

TEST(ServerTest, PeerHangupCancelsAndFreesStream) {
  std::weak_ptr<Stream> weak;
  std::atomic<bool> cancelled{false};
  std::atomic<bool> started{false};
  auto server = StartOrDie({}, Sync([&](const Request&) {
                             return Response::EventStream([&](std::shared_ptr<Stream> s) {
                               weak = s;
                               s->OnCancel([&] { cancelled = true; });
                               EXPECT_TRUE(s->Write(SseEvent("hello")));
                               started = true;
                             });
                           }));
  {
    RawConn c(server->port());
    ASSERT_TRUE(c.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string got = c.ReadUntil("data: hello\n\n");
    EXPECT_NE(got.find("Transfer-Encoding: chunked"), std::string::npos) << got;
    EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos) << got;
    ASSERT_TRUE(started);
  }
  ASSERT_TRUE(WaitFor([&] { return cancelled.load(); }));
  EXPECT_TRUE(WaitFor([&] { return weak.expired(); }));
  EXPECT_TRUE(WaitFor([&] { return server->open_connections() == 0; }));
}

TEST(ServerTest, StreamWritesAfterCloseFailAndBodyIsChunked) {
  auto server = StartOrDie({}, Sync([](const Request&) {
                             Response r;
                             r.headers.Set("Content-Type", "text/plain");
                             r.stream = [](std::shared_ptr<Stream> s) {
                               EXPECT_TRUE(s->Write("abc"));
                               EXPECT_TRUE(s->Write("def"));
                               s->Close();
                               s->Close();
                               EXPECT_FALSE(s->Write("late"));
                               EXPECT_FALSE(s->cancelled());
                             };
                             return r;
                           }));
  auto res = Client::Create()->Get(Url(*server));
  ASSERT_TRUE(res.ok()) << res.error().ToString();
  EXPECT_EQ(res->body, "abcdef");
  EXPECT_EQ(res->headers.Get("Transfer-Encoding"), "chunked");
}

TEST(ServerTest, StreamWriteBatchHoldsFlushesUntilItEnds) {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<Stream>> by_path;
  auto server =
      StartOrDie({.io_threads = 2}, Sync([&](const Request& r) {
                   return Response::EventStream([&, path = r.Path()](std::shared_ptr<Stream> s) {
                     std::lock_guard lock(mu);
                     by_path[path] = std::move(s);
                   });
                 }));
  std::vector<std::unique_ptr<RawConn>> conns;
  for (int i = 0; i < 3; ++i) {
    conns.push_back(std::make_unique<RawConn>(server->port()));
    ASSERT_TRUE(
        conns.back()->Send("GET /events/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    // The head arrives before the stream is handed over.
    EXPECT_NE(conns.back()->ReadUntil("\r\n\r\n").find("200 OK"), std::string::npos);
  }
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return by_path.size() == 3;
  }));
  std::vector<std::shared_ptr<Stream>> streams;  // streams[i] serves conns[i]
  {
    std::lock_guard lock(mu);
    for (int i = 0; i < 3; ++i) streams.push_back(by_path.at("/events/" + std::to_string(i)));
  }
  {
    StreamWriteBatch outer;
    {
      StreamWriteBatch inner;  // nested: the outer scope hands over
      for (int i = 0; i < 3; ++i) EXPECT_TRUE(streams[i]->Write(SseEvent("one")));
    }
    EXPECT_TRUE(streams[0]->Write(SseEvent("two")));
    streams[2]->Close();
    for (auto& c : conns) {
      EXPECT_EQ(c->ReadUntil("data:", nullptr, 200ms), "") << "written before the batch ended";
    }
  }
  EXPECT_NE(conns[0]->ReadUntil("data: two\n\n").find("data: one\n\n"), std::string::npos);
  EXPECT_NE(conns[1]->ReadUntil("data: one\n\n").find("data: one"), std::string::npos);
  bool closed = false;
  std::string last = conns[2]->ReadUntil("0\r\n\r\n", &closed);
  EXPECT_NE(last.find("data: one\n\n"), std::string::npos) << last;
  EXPECT_NE(last.find("0\r\n\r\n"), std::string::npos) << last;
  // Without a batch, a write goes out at once.
  EXPECT_TRUE(streams[1]->Write(SseEvent("three")));
  EXPECT_NE(conns[1]->ReadUntil("data: three\n\n").find("three"), std::string::npos);
}

// Starts a server whose every request streams; `*out` receives the stream of the first.
std::unique_ptr<Server> StartStreamServer(std::shared_ptr<Stream>* out, std::mutex* mu) {
  return StartOrDie({}, Sync([out, mu](const Request&) {
                      return Response::EventStream([out, mu](std::shared_ptr<Stream> s) {
                        std::lock_guard lock(*mu);
                        *out = std::move(s);
                      });
                    }));
}

std::shared_ptr<Stream> OpenStream(RawConn* conn, std::shared_ptr<Stream>* slot, std::mutex* mu) {
  EXPECT_TRUE(conn->Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_NE(conn->ReadUntil("\r\n\r\n").find("200 OK"), std::string::npos);
  EXPECT_TRUE(WaitFor([&] {
    std::lock_guard lock(*mu);
    return *slot != nullptr;
  }));
  std::lock_guard lock(*mu);
  return *slot;
}

TEST(ServerTest, WriteBufferQueuesTheBytesAndHandsBackABufferToReuse) {
  std::mutex mu;
  std::shared_ptr<Stream> slot;
  auto server = StartStreamServer(&slot, &mu);
  RawConn conn(server->port());
  std::shared_ptr<Stream> s = OpenStream(&conn, &slot, &mu);
  ASSERT_NE(s, nullptr);
  std::string buffer;
  // Longer than std::string's in-place capacity, so that a reused buffer shows.
  for (const char* word : {"the-first-of-three", "the-second-of-three", "the-third-of-three"}) {
    buffer += SseEvent(word);
    ASSERT_TRUE(s->WriteBuffer(&buffer));
    EXPECT_TRUE(buffer.empty());
    EXPECT_NE(conn.ReadUntil(SseEvent(word)).find(SseEvent(word)), std::string::npos) << word;
    ASSERT_TRUE(WaitFor([&] { return s->pending_bytes() == 0; }));
  }
  // The buffer comes back with room for the next write.
  EXPECT_GE(buffer.capacity(), SseEvent("the-first-of-three").size());
  s->Close();
  buffer = "late";
  EXPECT_FALSE(s->WriteBuffer(&buffer));
  EXPECT_TRUE(buffer.empty());
}

TEST(ServerTest, StreamWriteBatchSpansServersAndOutlivesOne) {
  std::mutex mu_a, mu_b;
  std::shared_ptr<Stream> slot_a, slot_b;
  auto a = StartStreamServer(&slot_a, &mu_a);
  auto b = StartStreamServer(&slot_b, &mu_b);
  RawConn conn_a(a->port()), conn_b(b->port());
  std::shared_ptr<Stream> sa = OpenStream(&conn_a, &slot_a, &mu_a);
  std::shared_ptr<Stream> sb = OpenStream(&conn_b, &slot_b, &mu_b);
  ASSERT_TRUE(sa && sb);
  {
    StreamWriteBatch batch;
    EXPECT_TRUE(sa->Write(SseEvent("a1")));
    EXPECT_TRUE(sb->Write(SseEvent("b1")));
    EXPECT_TRUE(sa->Write(SseEvent("a2")));
  }
  EXPECT_NE(conn_a.ReadUntil(SseEvent("a2")).find(SseEvent("a1")), std::string::npos);
  EXPECT_NE(conn_b.ReadUntil(SseEvent("b1")).find(SseEvent("b1")), std::string::npos);
  {
    StreamWriteBatch batch;
    EXPECT_TRUE(sb->Write(SseEvent("b2")));  // held by the batch, then b goes away
    EXPECT_TRUE(sa->Write(SseEvent("a3")));
    b.reset();
  }
  // The batch's hand-over skipped the server that was gone; the other got its write.
  EXPECT_NE(conn_a.ReadUntil(SseEvent("a3")).find(SseEvent("a3")), std::string::npos);
  bool closed = false;
  conn_b.ReadUntil("", &closed, 5s);
  EXPECT_TRUE(closed);
}

TEST(ServerTest, GracefulStopFinishesSlowRequestAndCancelsStreamAfterGrace) {
  std::mutex mu;
  std::optional<Reply> slow_reply;
  std::atomic<bool> stream_cancelled{false};
  std::shared_ptr<Stream> held;
  auto server = StartOrDie({}, [&](Request r, Reply reply) {
    if (r.Path() == "/slow") {
      std::lock_guard lock(mu);
      slow_reply = std::move(reply);
      return;
    }
    reply(Response::EventStream([&](std::shared_ptr<Stream> s) {
      s->OnCancel([&] { stream_cancelled = true; });
      s->Write(SseEvent("tick"));
      std::lock_guard lock(mu);
      held = s;
    }));
  });
  const std::uint16_t port = server->port();
  RawConn stream_conn(port);
  ASSERT_TRUE(stream_conn.Send("GET /events HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_NE(stream_conn.ReadUntil("data: tick").find("tick"), std::string::npos);

  RawConn slow_conn(port);
  ASSERT_TRUE(slow_conn.Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return slow_reply.has_value();
  }));

  std::thread replier([&] {
    // Once the server stops accepting, answer the in-flight request.
    WaitFor([&] { return !RawConn(port).connected(); });
    std::lock_guard lock(mu);
    (*slow_reply)(Response::Text(200, "finished"));
  });
  const auto grace = 400ms;
  auto t0 = std::chrono::steady_clock::now();
  server->Stop(grace);
  auto took = std::chrono::steady_clock::now() - t0;
  replier.join();

  bool closed = false;
  std::string slow = slow_conn.ReadUntil("finished", &closed);
  EXPECT_NE(slow.find("200 OK"), std::string::npos) << slow;
  EXPECT_NE(slow.find("Connection: close"), std::string::npos) << slow;
  EXPECT_TRUE(stream_cancelled);
  EXPECT_GE(took, grace - 50ms);
  EXPECT_LT(took, grace + 3s);
  EXPECT_EQ(server->open_connections(), 0);
  std::lock_guard lock(mu);
  EXPECT_FALSE(held->Write("after stop"));
  EXPECT_TRUE(held->cancelled());
}

TEST(ServerTest, StopWithoutWorkIsQuickAndIdempotent) {
  auto server = StartOrDie({}, Echo());
  RawConn idle(server->port());
  ASSERT_TRUE(WaitFor([&] { return server->open_connections() == 1; }));
  auto t0 = std::chrono::steady_clock::now();
  server->Stop(5s);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  server->Stop();
}

}  // namespace
}  // namespace gpuscale::http
