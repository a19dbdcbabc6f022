#include "local/supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <set>
#include <thread>

namespace gpuscale::local {
namespace {

using std::chrono::milliseconds;

// Replicas are real child processes (`sleep`); readiness is a seam the test controls.
class SupervisorTest : public ::testing::Test {
 protected:
  SupervisorTest() {
    options_.command = "sleep 60";
    options_.max_replicas = 3;
    options_.restart_backoff = milliseconds(0);
    options_.drain_timeout = milliseconds(60000);
    options_.stop_grace = milliseconds(2000);
    options_.failure_threshold = 2;
  }
  void Make() {
    supervisor_ = std::make_unique<Supervisor>(
        options_, clock_, table_, [this](const Replica& r) { return !unhealthy_.contains(r.pod); },
        [this] { return static_cast<std::uint16_t>(next_port_++); });
  }
  std::vector<std::string> Kinds(const std::vector<ReplicaEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.kind + ":" + e.pod);
    return out;
  }
  // Ticks until `pred` holds (child exits are asynchronous), at most 5 s.
  template <typename Pred>
  std::vector<ReplicaEvent> TickUntil(Pred pred) {
    std::vector<ReplicaEvent> all;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      clock_.Advance(milliseconds(100));
      auto events = supervisor_->Tick();
      all.insert(all.end(), events.begin(), events.end());
      if (pred()) break;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return all;
  }

  SupervisorOptions options_;
  core::ManualClock clock_{core::Timestamp(std::chrono::seconds(1000))};
  ReplicaTable table_;
  std::set<std::string> unhealthy_;
  int next_port_ = 20000;
  std::unique_ptr<Supervisor> supervisor_;
};

TEST_F(SupervisorTest, StartsReplicasOnDistinctPortsAndGpusThenReady) {
  Make();
  supervisor_->SetDesired(2);
  auto events = supervisor_->Tick();
  EXPECT_EQ(Kinds(events), (std::vector<std::string>{"Started:vllm-gemma-deployment-0",
                                                     "Started:vllm-gemma-deployment-1"}));
  auto snap = supervisor_->Snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_NE(snap[0].port, snap[1].port);
  EXPECT_NE(snap[0].gpu, snap[1].gpu);
  EXPECT_EQ(snap[0].phase, Phase::kStarting);
  EXPECT_EQ(table_.PickLeastOutstanding(), nullptr);  // nothing ready yet: no traffic
  events = supervisor_->Tick();
  EXPECT_EQ(Kinds(events), (std::vector<std::string>{"Ready:vllm-gemma-deployment-0",
                                                     "Ready:vllm-gemma-deployment-1"}));
  ASSERT_NE(table_.PickLeastOutstanding(), nullptr);
}

TEST_F(SupervisorTest, DesiredIsClampedToTheGpusAvailable) {
  Make();
  supervisor_->SetDesired(10);
  EXPECT_EQ(supervisor_->desired(), 3);
  supervisor_->Tick();
  EXPECT_EQ(supervisor_->Snapshot().size(), 3u);
}

TEST_F(SupervisorTest, UnreadyReplicaGetsNoTrafficAndRecovers) {
  Make();
  supervisor_->SetDesired(2);
  supervisor_->Tick();
  supervisor_->Tick();
  unhealthy_.insert("vllm-gemma-deployment-0");
  supervisor_->Tick();  // one failed probe: below the threshold, still ready
  EXPECT_EQ(supervisor_->Snapshot()[0].phase, Phase::kReady);
  auto events = supervisor_->Tick();
  EXPECT_EQ(Kinds(events), (std::vector<std::string>{"NotReady:vllm-gemma-deployment-0"}));
  for (int i = 0; i < 5; ++i) {
    auto picked = table_.PickLeastOutstanding();
    ASSERT_NE(picked, nullptr);
    EXPECT_EQ(picked->pod, "vllm-gemma-deployment-1");
    ++picked->outstanding;  // would otherwise prefer the idle replica 0
  }
  unhealthy_.clear();
  events = supervisor_->Tick();
  EXPECT_EQ(Kinds(events), (std::vector<std::string>{"Ready:vllm-gemma-deployment-0"}));
}

TEST_F(SupervisorTest, CrashedReplicaIsRestartedAndCounted) {
  Make();
  supervisor_->SetDesired(1);
  supervisor_->Tick();
  supervisor_->Tick();
  ASSERT_NE(table_.Find(0), nullptr);
  std::string cmd = "pkill -TERM -P " + std::to_string(::getpid()) + " -x sleep";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto events = TickUntil([&] {
    return supervisor_->crashes() == 1 && supervisor_->Snapshot()[0].phase == Phase::kReady;
  });
  auto kinds = Kinds(events);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "Crashed:vllm-gemma-deployment-0"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "Restarted:vllm-gemma-deployment-0"),
            kinds.end());
  EXPECT_EQ(supervisor_->crashes(), 1);
  EXPECT_EQ(supervisor_->Snapshot()[0].restarts, 1);
  EXPECT_EQ(supervisor_->Snapshot()[0].phase, Phase::kReady);
}

TEST_F(SupervisorTest, ScaleDownDrainsNewestFirstAndWaitsForInFlight) {
  Make();
  supervisor_->SetDesired(3);
  supervisor_->Tick();
  supervisor_->Tick();
  auto newest = table_.Find(2);
  ++newest->outstanding;  // one request in flight
  supervisor_->SetDesired(2);
  auto events = supervisor_->Tick();
  EXPECT_EQ(Kinds(events), (std::vector<std::string>{"Draining:vllm-gemma-deployment-2"}));
  EXPECT_EQ(newest->phase.load(), Phase::kDraining);
  // Draining: no new requests go to it.
  for (int i = 0; i < 4; ++i) {
    auto picked = table_.PickLeastOutstanding();
    EXPECT_NE(picked->index, 2);
    ++picked->outstanding;
  }
  supervisor_->Tick();
  EXPECT_EQ(newest->phase.load(), Phase::kDraining);  // still waiting for its request
  --newest->outstanding;
  events = TickUntil([&] { return supervisor_->Snapshot().size() == 2; });
  EXPECT_EQ(Kinds(events).back(), "Stopped:vllm-gemma-deployment-2");
  EXPECT_EQ(table_.Find(2), nullptr);
  EXPECT_EQ(supervisor_->crashes(), 0);  // a drained replica's exit is not a crash
}

TEST_F(SupervisorTest, ScaleDownPrefersUnreadyReplicas) {
  Make();
  supervisor_->SetDesired(3);
  supervisor_->Tick();
  supervisor_->Tick();
  unhealthy_.insert("vllm-gemma-deployment-0");
  supervisor_->Tick();
  supervisor_->Tick();
  supervisor_->SetDesired(2);
  auto events = supervisor_->Tick();
  EXPECT_EQ(Kinds(events), (std::vector<std::string>{"Draining:vllm-gemma-deployment-0"}));
}

TEST_F(SupervisorTest, ACommandThatCannotRunIsReportedAndRetried) {
  options_.command = "/no/such/engine --port {port}";
  Make();
  supervisor_->SetDesired(1);
  auto events = supervisor_->Tick();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "Failed");
  EXPECT_EQ(events[0].message, "cannot run '/no/such/engine': No such file or directory");
  EXPECT_GE(supervisor_->crashes(), 1);
}

TEST_F(SupervisorTest, ShutdownStopsEverything) {
  Make();
  supervisor_->SetDesired(3);
  supervisor_->Tick();
  supervisor_->Shutdown();
  EXPECT_TRUE(supervisor_->Snapshot().empty());
  EXPECT_TRUE(table_.All().empty());
  std::string cmd = "pgrep -P " + std::to_string(::getpid()) + " -x sleep >/dev/null";
  EXPECT_NE(std::system(cmd.c_str()), 0);  // no child left
}

TEST(ExpandCommandTest, Placeholders) {
  Replica r;
  r.index = 4;
  r.pod = "p-4";
  r.port = 9001;
  r.gpu = 2;
  EXPECT_EQ(ExpandCommand("x --port {port} --gpu {gpu} {index} {pod} {emu_dir}", r, "/e"),
            "x --port 9001 --gpu 2 4 p-4 /e");
}

}  // namespace
}  // namespace gpuscale::local
