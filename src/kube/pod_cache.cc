#include "kube/pod_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace gpuscale::kube {

void PodStore::Replace(const ObjectList& list) {
  std::lock_guard lock(mu_);
  pods_.clear();
  for (const auto& m : list.items) pods_[{m.namespace_, m.name}] = m.labels;
}

void PodStore::Apply(const WatchEvent& e) {
  std::lock_guard lock(mu_);
  const auto key = std::make_pair(e.object.namespace_, e.object.name);
  if (e.type == "ADDED" || e.type == "MODIFIED") {
    pods_[key] = e.object.labels;
  } else if (e.type == "DELETED") {
    pods_.erase(key);
  }
}

std::vector<std::string> PodStore::List(
    std::string_view namespace_,
    const std::function<bool(const std::map<std::string, std::string>&)>& match) const {
  std::vector<std::string> out;
  std::lock_guard lock(mu_);
  for (const auto& [key, labels] : pods_) {
    if (!namespace_.empty() && key.first != namespace_) continue;
    if (match(labels)) out.push_back(key.second);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::size_t PodStore::size() const {
  std::lock_guard lock(mu_);
  return pods_.size();
}

void PodCache::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void PodCache::Stop() {
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool PodCache::WaitSynced(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return synced_; });
}

bool PodCache::synced() const {
  std::lock_guard lock(mu_);
  return synced_;
}

core::Result<std::vector<std::string>> PodCache::List(
    std::string_view namespace_,
    const std::function<bool(const std::map<std::string, std::string>&)>& match,
    std::chrono::milliseconds wait_for_sync) const {
  {
    std::unique_lock lock(mu_);
    if (!synced_) cv_.wait_for(lock, wait_for_sync, [&] { return synced_; });
    if (!synced_)
      return core::Unavailable("the pod cache has not synced with the Kubernetes API yet");
  }
  return store_.List(namespace_, match);
}

void PodCache::Run() {
  std::chrono::milliseconds backoff(500);
  while (!stop_) {
    auto body = client_.Get("/api/v1/pods");
    core::Status st;
    if (body.ok()) {
      auto list = DecodeObjectList(*body);
      if (list.ok()) {
        store_.Replace(*list);
        {
          std::lock_guard lock(mu_);
          synced_ = true;
        }
        cv_.notify_all();
        backoff = std::chrono::milliseconds(500);
        std::string rv = list->resource_version;
        // Watch until the stream ends or fails, then relist.
        st = client_.Watch(
            "/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=" +
                rv,
            [&](std::string_view line) {
              auto e = DecodeWatchEvent(line);
              if (!e.ok()) {
                spdlog::warn("pod watch: {}", e.error().message);
                return false;
              }
              if (e->type == "ERROR") return false;  // e.g. 410 Gone: relist
              store_.Apply(*e);
              return true;
            },
            [&] { return stop_.load(); });
      } else {
        st = list.error();
      }
    } else {
      st = body.error();
    }
    if (stop_) break;
    if (!st.ok()) {
      spdlog::warn("pod cache: {}; retrying in {} ms", st.error().ToString(), backoff.count());
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, backoff, [&] { return stop_.load(); });
      backoff = std::min(backoff * 2, std::chrono::milliseconds(30000));
    }
  }
}

}  // namespace gpuscale::kube
