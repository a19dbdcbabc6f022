#include "kube/pod_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "http/server.h"

namespace gpuscale::kube {
namespace {

auto All() {
  return [](const std::map<std::string, std::string>&) { return true; };
}

TEST(KubePodStore, AppliesListAndEvents) {
  PodStore s;
  ObjectList l;
  l.items = {{"a", "p1", "", {{"app", "web"}}}, {"b", "p2", "", {}}};
  s.Replace(l);
  s.Apply(WatchEvent{"ADDED", {"a", "p3", "", {{"app", "web"}}}, 0});
  s.Apply(WatchEvent{"DELETED", {"a", "p1", "", {}}, 0});
  auto web = [](const std::map<std::string, std::string>& m) {
    auto it = m.find("app");
    return it != m.end() && it->second == "web";
  };
  EXPECT_EQ(s.List("a", web), (std::vector<std::string>{"p3"}));
  EXPECT_EQ(s.List("", All()), (std::vector<std::string>{"p2", "p3"}));
}

// A fake kube-apiserver over real HTTP: one LIST, then a watch stream whose events the test
// pushes.
// A lookup right after start waits for the first LIST instead of failing (the adapter found
// answering 500 to the first `*` lookups while 1,000 pods were being listed).
TEST(KubePodCache, ListWaitsForTheFirstList) {
  std::atomic<bool> answer{false};
  auto server =
      http::Server::Start(http::ServerOptions{}, [&](http::Request req, http::Reply reply) {
        if (req.QueryParam("watch")) {
          http::Response r;
          r.stream = [](std::shared_ptr<http::Stream>) {};  // a watch that stays open, silent
          reply(std::move(r));
          return;
        }
        while (!answer) std::this_thread::yield();
        reply(http::Response::Json(
            200, R"({"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[)"
                 R"({"metadata":{"namespace":"ns","name":"web-1"}}]})"));
      });
  ASSERT_TRUE(server.ok()) << server.error().message;
  RestConfig rc;
  rc.server = "http://127.0.0.1:" + std::to_string((*server)->port());
  auto client = Client::Create(rc);
  ASSERT_TRUE(client.ok());
  PodCache cache(**client);
  cache.Start();
  EXPECT_FALSE(cache.synced());
  EXPECT_EQ(cache.List("ns", All()).error().code, core::Code::kUnavailable);
  std::thread release([&] { answer = true; });
  auto names = cache.List("ns", All(), std::chrono::seconds(10));
  release.join();
  ASSERT_TRUE(names.ok()) << names.error().message;
  EXPECT_EQ(*names, (std::vector<std::string>{"web-1"}));
  EXPECT_TRUE(cache.synced());
  cache.Stop();
}

TEST(KubePodCache, ListsThenFollowsTheWatch) {
  std::mutex mu;
  std::shared_ptr<http::Stream> watch;
  std::vector<std::string> targets;
  auto server =
      http::Server::Start(http::ServerOptions{}, [&](http::Request req, http::Reply reply) {
        {
          std::lock_guard lock(mu);
          targets.push_back(req.target);
        }
        if (req.QueryParam("watch")) {
          http::Response r;
          r.headers.Set("Content-Type", "application/json");
          r.stream = [&](std::shared_ptr<http::Stream> s) {
            std::lock_guard lock(mu);
            watch = s;
          };
          reply(std::move(r));
          return;
        }
        reply(http::Response::Json(
            200, R"({"kind":"PodList","metadata":{"resourceVersion":"7"},"items":[)"
                 R"({"metadata":{"namespace":"ns","name":"web-1","labels":{"app":"web"}}}]})"));
      });
  ASSERT_TRUE(server.ok()) << server.error().message;
  RestConfig rc;
  rc.server = "http://127.0.0.1:" + std::to_string((*server)->port());
  auto client = Client::Create(rc);
  ASSERT_TRUE(client.ok());
  PodCache cache(**client);
  EXPECT_EQ(cache.List("ns", All()).error().code, core::Code::kUnavailable);
  cache.Start();
  ASSERT_TRUE(cache.WaitSynced(std::chrono::seconds(10)));
  EXPECT_EQ(*cache.List("ns", All()), (std::vector<std::string>{"web-1"}));
  // Wait for the watch to open, then push an event.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::shared_ptr<http::Stream> w;
  while (!w && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
    std::lock_guard lock(mu);
    w = watch;
  }
  ASSERT_TRUE(w);
  w->Write(R"({"type":"ADDED","object":{"metadata":{"namespace":"ns","name":"web-2"}}})"
           "\n");
  std::vector<std::string> names;
  while (std::chrono::steady_clock::now() < deadline) {
    names = *cache.List("ns", All());
    if (names.size() == 2) break;
    std::this_thread::yield();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"web-1", "web-2"}));
  {
    std::lock_guard lock(mu);
    ASSERT_GE(targets.size(), 2u);
    EXPECT_EQ(targets[0], "/api/v1/pods");
    EXPECT_NE(targets[1].find("resourceVersion=7"), std::string::npos);
  }
  auto t0 = std::chrono::steady_clock::now();
  cache.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  (*server)->Stop(std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace gpuscale::kube
