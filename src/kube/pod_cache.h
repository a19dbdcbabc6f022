// A watch-backed cache of pod metadata (namespace, name, labels) for all namespaces: one LIST,
// then a WATCH from its resourceVersion, relisting after errors with backoff. `*` lookups read
// it instead of listing pods on every request.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/result.h"
#include "kube/client.h"

namespace gpuscale::kube {

// Applies list results and watch events; the part of the cache that has no I/O. Thread-safe.
class PodStore {
 public:
  void Replace(const ObjectList& list);
  void Apply(const WatchEvent& event);
  // Names of pods in `namespace_` ("" = all) whose labels satisfy `match`, sorted by name.
  std::vector<std::string> List(
      std::string_view namespace_,
      const std::function<bool(const std::map<std::string, std::string>&)>& match) const;
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::map<std::string, std::string>> pods_;
};

class PodCache {
 public:
  explicit PodCache(Client& client) : client_(client) {}
  ~PodCache() { Stop(); }
  // Starts the list/watch thread.
  void Start();
  void Stop();
  // Waits until the first LIST has landed, up to `timeout`.
  bool WaitSynced(std::chrono::milliseconds timeout);
  // True once the first LIST has landed.
  bool synced() const;
  // Waits up to `wait_for_sync` for the first LIST, then kUnavailable if it has not landed.
  core::Result<std::vector<std::string>> List(
      std::string_view namespace_,
      const std::function<bool(const std::map<std::string, std::string>&)>& match,
      std::chrono::milliseconds wait_for_sync = std::chrono::milliseconds(0)) const;
  const PodStore& store() const { return store_; }

 private:
  void Run();
  Client& client_;
  PodStore store_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool synced_ = false;  // guarded by mu_
};

}  // namespace gpuscale::kube
