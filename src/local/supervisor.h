// Starts, watches and stops the engine replicas of a local deployment, like a ReplicaSet plus a
// kubelet: each replica is a child process on its own port and GPU, probed for readiness,
// restarted when it crashes, drained before it stops. Driven by Tick() from one thread;
// SetDesired and Snapshot are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "local/process.h"
#include "local/replicas.h"

namespace gpuscale::local {

struct SupervisorOptions {
  // Command template run for each replica. Placeholders: {port} {gpu} {index} {pod} {emu_dir}.
  // CUDA_VISIBLE_DEVICES={gpu} and GPUSCALE_EMU_DIR are set in its environment too.
  std::string command;
  std::string emu_dir;  // emulated GPU state directory ("" when running on real GPUs)
  std::string log_dir;  // replica logs: <log_dir>/<pod>.log
  std::string pod_prefix = "vllm-gemma-deployment";
  int max_replicas = 5;                             // GPUs available: one per replica
  std::chrono::milliseconds drain_timeout{10000};   // in-flight requests get this long
  std::chrono::milliseconds stop_grace{5000};       // SIGTERM → SIGKILL
  std::chrono::milliseconds restart_backoff{1000};  // doubles per crash, up to 30 s
  int failure_threshold = 3;  // consecutive failed probes before a ready replica is NotReady
};

// One event in a replica's life, for the event log.
struct ReplicaEvent {
  core::Timestamp time;
  std::string kind;  // Started, Ready, NotReady, Crashed, Restarted, Draining, Stopped, Failed
  std::string pod;
  std::string message;
};

class Supervisor {
 public:
  // Health check of one replica: true when it answers (the real one GETs /health).
  using Probe = std::function<bool(const Replica&)>;
  // Returns a free port for a new replica.
  using PortPicker = std::function<std::uint16_t()>;

  // `clock` and `table` must outlive the supervisor.
  Supervisor(SupervisorOptions options, const core::Clock& clock, ReplicaTable& table, Probe probe,
             PortPicker ports);
  ~Supervisor();

  // The number of replicas to run, clamped to [0, max_replicas]. Thread-safe.
  void SetDesired(int replicas);
  int desired() const;

  // Reaps exits, restarts crashed replicas after their backoff, probes readiness, finishes
  // drains, and starts or drains replicas to reach the desired count. Returns the events.
  std::vector<ReplicaEvent> Tick();

  // Replicas that exist (not Stopping), ordered by index. Thread-safe.
  std::vector<ReplicaView> Snapshot() const;
  int crashes() const;

  // Stops every replica: SIGTERM, then SIGKILL after stop_grace; blocks until all are reaped.
  void Shutdown();

 private:
  struct Managed {
    std::shared_ptr<Replica> replica;
    std::optional<ChildProcess> process;
    int restarts = 0;
    int failed_probes = 0;
    core::Timestamp created;
    core::Timestamp ready_since;
    core::Timestamp drain_started;
    core::Timestamp stop_sent;
    core::Timestamp restart_at;
  };

  core::Result<ChildProcess> Launch(const Replica& replica) const;
  void StartNew(std::vector<ReplicaEvent>* events);
  int FreeGpu() const;
  void BeginDrain(Managed& m, std::vector<ReplicaEvent>* events);

  SupervisorOptions options_;
  const core::Clock& clock_;
  ReplicaTable& table_;
  Probe probe_;
  PortPicker ports_;
  mutable std::mutex mu_;  // guards everything below
  int desired_ = 0;
  int next_index_ = 0;
  int crashes_ = 0;
  std::map<int, Managed> managed_;  // by replica index
};

// Expands {port} {gpu} {index} {pod} {emu_dir} in `command_template`.
std::string ExpandCommand(const std::string& command_template, const Replica& replica,
                          const std::string& emu_dir);

}  // namespace gpuscale::local
