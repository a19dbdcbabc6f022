// The replicas of a local deployment as the router and the controller see them. The supervisor
// writes it; the router reads it on every request. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"

namespace gpuscale::local {

enum class Phase {
  kStarting,  // process running, not yet answering its health check (model loading)
  kReady,     // answering; receives traffic
  kNotReady,  // was ready, now failing its health check; receives no traffic
  kDraining,  // being removed: no new traffic, waiting for in-flight requests
  kStopping,  // SIGTERM sent, waiting for exit
  kCrashed,   // exited unexpectedly; waiting to restart
};
std::string_view PhaseName(Phase phase);

// One replica's routing state. Shared by the table and requests in flight.
struct Replica {
  int index = 0;
  std::string pod;                 // e.g. "vllm-gemma-deployment-0"
  std::string host = "127.0.0.1";  // where it listens (a pod IP on loopback in the e2e tests)
  std::uint16_t port = 0;
  int gpu = 0;
  std::atomic<Phase> phase{Phase::kStarting};
  std::atomic<int> outstanding{0};  // requests the router has in flight to it
  std::atomic<std::uint64_t> served{0};
};

// A consistent copy of one replica, for views and the controller.
struct ReplicaView {
  int index = 0;
  std::string pod;
  std::uint16_t port = 0;
  int gpu = 0;
  Phase phase = Phase::kStarting;
  int outstanding = 0;
  std::uint64_t served = 0;
  int restarts = 0;
  core::Timestamp created;      // when the replica (its pod) was created
  core::Timestamp ready_since;  // last transition to ready (zero if never)
};

class ReplicaTable {
 public:
  void Add(std::shared_ptr<Replica> replica);
  void Remove(int index);
  // The ready replica with the fewest outstanding requests, or null. Ties go round-robin.
  std::shared_ptr<Replica> PickLeastOutstanding() const;
  std::vector<std::shared_ptr<Replica>> All() const;
  std::shared_ptr<Replica> Find(int index) const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Replica>> replicas_;
  mutable std::size_t next_ = 0;  // where the next pick starts looking
};

}  // namespace gpuscale::local
