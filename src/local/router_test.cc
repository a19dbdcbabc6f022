#include "local/router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

namespace gpuscale::local {
namespace {

using std::chrono::milliseconds;

// A replica stand-in: a real HTTP server that names itself, and can stream slowly.
struct Upstream {
  std::unique_ptr<http::Server> server;
  std::atomic<int> hits{0};
  std::atomic<bool> cancelled{false};
  std::shared_ptr<Replica> replica;
};

std::unique_ptr<Upstream> StartUpstream(const std::string& name, int index) {
  auto u = std::make_unique<Upstream>();
  Upstream* self = u.get();
  auto server = http::Server::Start(
      {.address = "127.0.0.1", .port = 0}, [self, name](http::Request req, http::Reply reply) {
        ++self->hits;
        if (req.Path() == "/stream") {
          reply(http::Response::EventStream([self](std::shared_ptr<http::Stream> s) {
            s->OnCancel([self] { self->cancelled = true; });
            std::thread([s] {
              for (int i = 0; i < 3 && !s->cancelled(); ++i) {
                s->Write(http::SseEvent("token" + std::to_string(i)));
                std::this_thread::sleep_for(milliseconds(30));
              }
              s->Write(http::SseEvent("[DONE]"));
              s->Close();
            }).detach();
          }));
          return;
        }
        if (req.Path() == "/endless") {
          // Tokens every 10 ms until the client leaves (bounded: 1000 tokens).
          reply(http::Response::EventStream([self](std::shared_ptr<http::Stream> s) {
            s->OnCancel([self] { self->cancelled = true; });
            std::thread([s] {
              for (int i = 0; i < 1000 && !s->cancelled(); ++i) {
                s->Write(http::SseEvent("token"));
                std::this_thread::sleep_for(milliseconds(10));
              }
              s->Close();
            }).detach();
          }));
          return;
        }
        reply(http::Response::Text(200, name + " " + req.body));
      });
  EXPECT_TRUE(server.ok());
  u->server = std::move(server).value();
  u->replica = std::make_shared<Replica>();
  u->replica->index = index;
  u->replica->pod = name;
  u->replica->port = u->server->port();
  u->replica->phase = Phase::kReady;
  return u;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = StartUpstream("replica-a", 0);
    b_ = StartUpstream("replica-b", 1);
    table_.Add(a_->replica);
    table_.Add(b_->replica);
    proxy_ = http::AsyncClient::Create();
    auto router = Router::Start({.address = "127.0.0.1", .port = 0}, table_, *proxy_);
    ASSERT_TRUE(router.ok()) << router.error().ToString();
    router_ = std::move(router).value();
    client_ = http::Client::Create();
  }
  std::string Url(std::string_view path) {
    return "http://127.0.0.1:" + std::to_string(router_->port()) + std::string(path);
  }

  ReplicaTable table_;
  std::unique_ptr<Upstream> a_, b_;
  std::unique_ptr<http::AsyncClient> proxy_;
  std::unique_ptr<Router> router_;
  std::unique_ptr<http::Client> client_;
};

TEST_F(RouterTest, ForwardsMethodBodyAndAnswer) {
  auto r = client_->Post(Url("/v1/chat/completions"), "hello", "application/json");
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->body == "replica-a hello" || r->body == "replica-b hello") << r->body;
  EXPECT_EQ(router_->stats().requests, 1u);
}

TEST_F(RouterTest, OnlyReadyReplicasGetTraffic) {
  a_->replica->phase = Phase::kStarting;
  for (int i = 0; i < 6; ++i) {
    auto r = client_->Get(Url("/x"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body, "replica-b ");
  }
  b_->replica->phase = Phase::kDraining;
  auto r = client_->Get(Url("/x"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("no ready replica"), std::string::npos);
  EXPECT_EQ(router_->stats().no_replica, 1u);
  EXPECT_EQ(a_->hits.load(), 0);
}

TEST_F(RouterTest, LeastOutstandingPrefersTheIdleReplica) {
  a_->replica->outstanding = 5;  // busy with other requests
  for (int i = 0; i < 4; ++i) {
    auto r = client_->Get(Url("/x"));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body, "replica-b ");
  }
  EXPECT_EQ(b_->replica->outstanding.load(), 0);  // released after each answer
  EXPECT_EQ(b_->replica->served.load(), 4u);
}

TEST_F(RouterTest, StreamsPiecesAsTheyArriveAndMeasuresTtft) {
  std::promise<void> done;
  std::atomic<int> pieces{0};
  std::string body;
  std::mutex mu;
  http::Url url = *http::ParseUrl(Url("/stream"));
  http::AsyncCallbacks cb;
  cb.on_data = [&](std::string_view d) {
    std::lock_guard lock(mu);
    body.append(d);
    ++pieces;
    return true;
  };
  cb.on_done = [&](core::Result<http::Response> r) {
    EXPECT_TRUE(r.ok());
    done.set_value();
  };
  proxy_->Send(url, http::Request{}, cb);
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(body, "data: token0\n\ndata: token1\n\ndata: token2\n\ndata: [DONE]\n\n");
  EXPECT_GE(pieces.load(), 2);  // not buffered into one piece
  auto ttfts = router_->RecentTtfts(milliseconds(60000));
  ASSERT_EQ(ttfts.size(), 1u);
  EXPECT_LT(ttfts[0], 5.0);
}

// The router notices a client that left when the replica's next token arrives, and stops the
// replica's stream then (which frees its KV cache in the engine).
TEST_F(RouterTest, AClientThatLeavesCancelsTheReplicaStream) {
  auto client = http::AsyncClient::Create();
  std::promise<void> done;
  http::AsyncCallbacks cb;
  cb.on_data = [](std::string_view) { return false; };  // leave after the first piece
  cb.on_done = [&](core::Result<http::Response>) { done.set_value(); };
  client->Send(*http::ParseUrl(Url("/endless")), http::Request{}, cb);
  ASSERT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!(a_->cancelled || b_->cancelled) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  EXPECT_TRUE(a_->cancelled || b_->cancelled);
}

TEST_F(RouterTest, APortInUseIsAClearError) {
  auto again = Router::Start({.address = "127.0.0.1", .port = router_->port()}, table_, *proxy_);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("address already in use"), std::string::npos)
      << again.error().message;
}

}  // namespace
}  // namespace gpuscale::local
