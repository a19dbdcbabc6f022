#include "local/supervisor.h"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <set>
#include <thread>

namespace gpuscale::local {

namespace {
void ReplaceAll(std::string* s, std::string_view from, const std::string& to) {
  for (size_t pos = 0; (pos = s->find(from, pos)) != std::string::npos; pos += to.size()) {
    s->replace(pos, from.size(), to);
  }
}
}  // namespace

std::string ExpandCommand(const std::string& command_template, const Replica& replica,
                          const std::string& emu_dir) {
  std::string s = command_template;
  ReplaceAll(&s, "{port}", std::to_string(replica.port));
  ReplaceAll(&s, "{gpu}", std::to_string(replica.gpu));
  ReplaceAll(&s, "{index}", std::to_string(replica.index));
  ReplaceAll(&s, "{pod}", replica.pod);
  ReplaceAll(&s, "{emu_dir}", emu_dir);
  return s;
}

Supervisor::Supervisor(SupervisorOptions options, const core::Clock& clock, ReplicaTable& table,
                       Probe probe, PortPicker ports)
    : options_(std::move(options)),
      clock_(clock),
      table_(table),
      probe_(std::move(probe)),
      ports_(std::move(ports)) {}

Supervisor::~Supervisor() { Shutdown(); }

void Supervisor::SetDesired(int replicas) {
  std::lock_guard lock(mu_);
  desired_ = std::clamp(replicas, 0, options_.max_replicas);
}

int Supervisor::desired() const {
  std::lock_guard lock(mu_);
  return desired_;
}

int Supervisor::crashes() const {
  std::lock_guard lock(mu_);
  return crashes_;
}

core::Result<ChildProcess> Supervisor::Launch(const Replica& replica) const {
  GPUSCALE_ASSIGN_OR_RETURN(
      std::vector<std::string> argv,
      SplitCommandLine(ExpandCommand(options_.command, replica, options_.emu_dir)));
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.env.emplace_back("CUDA_VISIBLE_DEVICES", std::to_string(replica.gpu));
  if (!options_.emu_dir.empty()) spec.env.emplace_back("GPUSCALE_EMU_DIR", options_.emu_dir);
  if (!options_.log_dir.empty()) spec.log_path = options_.log_dir + "/" + replica.pod + ".log";
  return ChildProcess::Spawn(spec);
}

int Supervisor::FreeGpu() const {
  std::set<int> used;
  for (const auto& [i, m] : managed_) used.insert(m.replica->gpu);
  for (int g = 0; g < options_.max_replicas; ++g) {
    if (!used.contains(g)) return g;
  }
  return -1;
}

void Supervisor::StartNew(std::vector<ReplicaEvent>* events) {
  int gpu = FreeGpu();
  if (gpu < 0) return;
  auto replica = std::make_shared<Replica>();
  replica->index = next_index_++;
  replica->pod = fmt::format("{}-{}", options_.pod_prefix, replica->index);
  replica->gpu = gpu;
  replica->port = ports_();
  Managed m;
  m.replica = replica;
  m.created = clock_.Now();
  auto process = Launch(*replica);
  if (!process.ok()) {
    events->push_back({clock_.Now(), "Failed", replica->pod, process.error().message});
    ++crashes_;
    replica->phase = Phase::kCrashed;
    m.restart_at = clock_.Now() + options_.restart_backoff;
  } else {
    m.process.emplace(std::move(process).value());
    events->push_back(
        {clock_.Now(), "Started", replica->pod,
         fmt::format("port {} gpu {} pid {}", replica->port, replica->gpu, m.process->pid())});
  }
  table_.Add(replica);
  managed_.emplace(replica->index, std::move(m));
}

void Supervisor::BeginDrain(Managed& m, std::vector<ReplicaEvent>* events) {
  m.replica->phase = Phase::kDraining;
  m.drain_started = clock_.Now();
  events->push_back({clock_.Now(), "Draining", m.replica->pod,
                     fmt::format("{} requests in flight", m.replica->outstanding.load())});
}

std::vector<ReplicaEvent> Supervisor::Tick() {
  std::vector<ReplicaEvent> events;
  std::lock_guard lock(mu_);
  core::Timestamp now = clock_.Now();

  for (auto it = managed_.begin(); it != managed_.end();) {
    Managed& m = it->second;
    Replica& r = *m.replica;
    Phase phase = r.phase.load();
    // Exits.
    if (m.process && !m.process->running()) {
      int status = *m.process->Poll();
      m.process.reset();
      if (phase == Phase::kStopping || phase == Phase::kDraining) {
        events.push_back({now, "Stopped", r.pod, fmt::format("exit status {}", status)});
        table_.Remove(r.index);
        it = managed_.erase(it);
        continue;
      }
      ++crashes_;
      r.phase = Phase::kCrashed;
      auto backoff = options_.restart_backoff * (1 << std::min(m.restarts, 5));
      m.restart_at = now + std::min<core::Duration>(backoff, std::chrono::seconds(30));
      events.push_back({now, "Crashed", r.pod, fmt::format("exit status {}", status)});
    }
    phase = r.phase.load();
    if (phase == Phase::kCrashed && now >= m.restart_at) {
      auto process = Launch(r);
      ++m.restarts;
      if (process.ok()) {
        m.process.emplace(std::move(process).value());
        r.phase = Phase::kStarting;
        m.failed_probes = 0;
        events.push_back({now, "Restarted", r.pod, fmt::format("restart {}", m.restarts)});
      } else {
        m.restart_at = now + options_.restart_backoff;
        events.push_back({now, "Failed", r.pod, process.error().message});
      }
    }
    // Readiness.
    phase = r.phase.load();
    if (m.process &&
        (phase == Phase::kStarting || phase == Phase::kReady || phase == Phase::kNotReady)) {
      bool healthy = probe_(r);
      if (healthy) {
        m.failed_probes = 0;
        if (phase != Phase::kReady) {
          r.phase = Phase::kReady;
          m.ready_since = now;
          events.push_back({now, "Ready", r.pod, ""});
        }
      } else if (phase == Phase::kReady && ++m.failed_probes >= options_.failure_threshold) {
        r.phase = Phase::kNotReady;
        events.push_back(
            {now, "NotReady", r.pod, fmt::format("{} failed health checks", m.failed_probes)});
      }
    }
    // Drains.
    if (r.phase.load() == Phase::kDraining && m.process &&
        (r.outstanding.load() == 0 || now - m.drain_started >= options_.drain_timeout)) {
      m.process->Signal(SIGTERM);
      m.stop_sent = now;
      r.phase = Phase::kStopping;
    }
    if (r.phase.load() == Phase::kStopping && m.process &&
        now - m.stop_sent >= options_.stop_grace) {
      m.process->Signal(SIGKILL);
    }
    if ((r.phase.load() == Phase::kDraining || r.phase.load() == Phase::kStopping) && !m.process) {
      events.push_back({now, "Stopped", r.pod, ""});
      table_.Remove(r.index);
      it = managed_.erase(it);
      continue;
    }
    ++it;
  }

  // Reconcile the count. Replicas on their way out do not count.
  std::vector<int> active;
  for (auto& [i, m] : managed_) {
    Phase p = m.replica->phase.load();
    if (p != Phase::kDraining && p != Phase::kStopping) active.push_back(i);
  }
  int have = static_cast<int>(active.size());
  for (; have < desired_; ++have) StartNew(&events);
  if (have > desired_) {
    // Like a ReplicaSet: remove unready replicas first, then the newest.
    std::sort(active.begin(), active.end(), [&](int a, int b) {
      bool ready_a = managed_[a].replica->phase.load() == Phase::kReady;
      bool ready_b = managed_[b].replica->phase.load() == Phase::kReady;
      if (ready_a != ready_b) return !ready_a;
      return a > b;
    });
    for (int k = 0; k < have - desired_; ++k) BeginDrain(managed_[active[k]], &events);
  }
  return events;
}

std::vector<ReplicaView> Supervisor::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<ReplicaView> out;
  for (const auto& [i, m] : managed_) {
    const Replica& r = *m.replica;
    out.push_back({r.index, r.pod, r.port, r.gpu, r.phase.load(), r.outstanding.load(),
                   r.served.load(), m.restarts, m.created, m.ready_since});
  }
  return out;
}

void Supervisor::Shutdown() {
  std::lock_guard lock(mu_);
  desired_ = 0;
  for (auto& [i, m] : managed_) {
    m.replica->phase = Phase::kStopping;
    if (m.process) m.process->Signal(SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + options_.stop_grace;
  for (auto& [i, m] : managed_) {
    if (!m.process) continue;
    while (m.process->running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // bounded by stop_grace
    }
    m.process.reset();  // SIGKILLs and reaps a child still running
    table_.Remove(i);
  }
  managed_.clear();
}

}  // namespace gpuscale::local
