#include "local/replicas.h"

#include <algorithm>

namespace gpuscale::local {

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kStarting:
      return "Starting";
    case Phase::kReady:
      return "Ready";
    case Phase::kNotReady:
      return "NotReady";
    case Phase::kDraining:
      return "Draining";
    case Phase::kStopping:
      return "Stopping";
    case Phase::kCrashed:
      return "Crashed";
  }
  return "Unknown";
}

void ReplicaTable::Add(std::shared_ptr<Replica> replica) {
  std::lock_guard lock(mu_);
  replicas_.push_back(std::move(replica));
  std::sort(replicas_.begin(), replicas_.end(),
            [](const auto& a, const auto& b) { return a->index < b->index; });
}

void ReplicaTable::Remove(int index) {
  std::lock_guard lock(mu_);
  std::erase_if(replicas_, [index](const auto& r) { return r->index == index; });
}

std::shared_ptr<Replica> ReplicaTable::PickLeastOutstanding() const {
  std::lock_guard lock(mu_);
  std::shared_ptr<Replica> best;
  int best_load = 0;
  std::size_t best_at = 0;
  const std::size_t n = replicas_.size();
  // Start after the last pick, so equally loaded replicas take turns as behind a Service.
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t i = (next_ + k) % n;
    const auto& r = replicas_[i];
    if (r->phase.load() != Phase::kReady) continue;
    int load = r->outstanding.load();
    if (!best || load < best_load) {
      best = r;
      best_load = load;
      best_at = i;
    }
  }
  if (best) next_ = best_at + 1;
  return best;
}

std::vector<std::shared_ptr<Replica>> ReplicaTable::All() const {
  std::lock_guard lock(mu_);
  return replicas_;
}

std::shared_ptr<Replica> ReplicaTable::Find(int index) const {
  std::lock_guard lock(mu_);
  for (const auto& r : replicas_) {
    if (r->index == index) return r;
  }
  return nullptr;
}

}  // namespace gpuscale::local
