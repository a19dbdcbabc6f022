// gpuscale's Server and clients on loopback: requests per second for small GETs over kept-alive
// connections (blocking Client one at a time; AsyncClient with 1, 16, 64 in flight), and SSE
// events per second across 5000 concurrent streams. The load generator's comparison with wrk
// lives with the load generator.
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "http/client.h"
#include "http/server.h"

namespace gpuscale::http {
namespace {

std::unique_ptr<Server> SmallServer(int threads) {
  ServerOptions o;
  o.io_threads = threads;
  auto s = Server::Start(o, Sync([](const Request&) { return Response::Text(200, "ok\n"); }));
  if (!s.ok()) std::abort();
  return std::move(*s);
}

// One blocking request at a time over one kept-alive connection.
void BM_BlockingClientSerial(benchmark::State& state) {
  auto server = SmallServer(1);
  auto client = Client::Create();
  const std::string url = "http://127.0.0.1:" + std::to_string(server->port()) + "/small";
  for (auto _ : state) {
    auto r = client->Get(url);
    if (!r.ok() || r->status != 200) state.SkipWithError("request failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_BlockingClientSerial)->UseRealTime()->MinTime(2.0);

// `concurrency` requests kept in flight by the AsyncClient (one I/O thread), server on one
// I/O thread: the load generator's shape.
void BM_AsyncClientConcurrent(benchmark::State& state) {
  const int concurrency = static_cast<int>(state.range(0));
  auto server = SmallServer(1);
  ClientOptions o;
  o.max_idle_per_host = concurrency;
  auto client = AsyncClient::Create(o, 1);
  Url url;
  url.scheme = "http";
  url.host = "127.0.0.1";
  url.port = server->port();
  url.target = "/small";
  std::mutex mu;
  std::condition_variable cv;
  std::int64_t completed = 0;
  std::atomic<std::int64_t> errors{0};
  std::function<void()> issue;
  std::atomic<bool> running{true};
  issue = [&] {
    AsyncCallbacks cb;
    cb.on_done = [&](core::Result<Response> r) {
      if (!r.ok()) ++errors;
      {
        std::lock_guard lock(mu);
        ++completed;
      }
      cv.notify_one();
      if (running) issue();
    };
    client->Send(url, {}, std::move(cb));
  };
  for (int i = 0; i < concurrency; ++i) issue();
  std::int64_t target = 0;
  for (auto _ : state) {
    target += 1000;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return completed >= target; });
  }
  running = false;
  state.SetItemsProcessed(target);
  state.counters["errors"] = static_cast<double>(errors.load());
  client.reset();
}
BENCHMARK(BM_AsyncClientConcurrent)->Arg(1)->Arg(16)->Arg(64)->UseRealTime()->MinTime(2.0);

// `streams` concurrent SSE responses from one server I/O thread to one client I/O thread. Each
// iteration writes one event to every stream and waits until the client has all of them: the
// engine emulator's shape (many long-lived streams, small writes).
void BM_ConcurrentSseStreams(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::mutex mu;
  std::vector<std::shared_ptr<Stream>> streams;
  auto server = Server::Start({}, Sync([&](const Request&) {
                                return Response::EventStream([&](std::shared_ptr<Stream> s) {
                                  std::lock_guard lock(mu);
                                  streams.push_back(std::move(s));
                                });
                              }));
  if (!server.ok()) std::abort();
  auto client = AsyncClient::Create({}, 1);
  Url url;
  url.scheme = "http";
  url.host = "127.0.0.1";
  url.port = (*server)->port();
  url.target = "/v1/completions";
  const std::string event = SseEvent("tok");
  std::atomic<std::int64_t> bytes{0};
  std::atomic<int> finished{0}, failed{0};
  for (int i = 0; i < n; ++i) {
    AsyncCallbacks cb;
    cb.on_data = [&](std::string_view d) {
      bytes += static_cast<std::int64_t>(d.size());
      return true;
    };
    cb.on_done = [&](core::Result<Response> r) {
      if (!r.ok()) ++failed;
      ++finished;
    };
    client->Send(url, {}, std::move(cb), std::chrono::seconds(120));
  }
  auto wait = [](const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return pred();
  };
  if (!wait([&] {
        std::lock_guard lock(mu);
        return static_cast<int>(streams.size()) == n;
      })) {
    state.SkipWithError("streams did not open");
    return;
  }
  std::int64_t expected = 0;
  for (auto _ : state) {
    for (auto& s : streams) s->Write(event);
    expected += static_cast<std::int64_t>(n * event.size());
    if (!wait([&] { return bytes.load() >= expected; })) state.SkipWithError("events lost");
  }
  for (auto& s : streams) s->Close();
  wait([&] { return finished.load() == n; });
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["streams"] = n;
  state.counters["failed"] = failed.load();
}
BENCHMARK(BM_ConcurrentSseStreams)->Arg(5000)->Iterations(50)->UseRealTime();

}  // namespace
}  // namespace gpuscale::http

BENCHMARK_MAIN();
