#include "local/replicas.h"

#include <gtest/gtest.h>

#include <map>

namespace gpuscale::local {
namespace {

std::shared_ptr<Replica> Ready(int index) {
  auto r = std::make_shared<Replica>();
  r->index = index;
  r->pod = "pod-" + std::to_string(index);
  r->phase = Phase::kReady;
  return r;
}

TEST(ReplicaTableTest, EquallyLoadedReplicasTakeTurns) {
  ReplicaTable table;
  for (int i = 0; i < 3; ++i) table.Add(Ready(i));
  std::map<std::string, int> picks;
  for (int i = 0; i < 9; ++i) ++picks[table.PickLeastOutstanding()->pod];
  EXPECT_EQ(picks, (std::map<std::string, int>{{"pod-0", 3}, {"pod-1", 3}, {"pod-2", 3}}));
}

TEST(ReplicaTableTest, FewestOutstandingWinsAndUnreadyIsSkipped) {
  ReplicaTable table;
  for (int i = 0; i < 3; ++i) table.Add(Ready(i));
  table.Find(0)->outstanding = 2;
  table.Find(1)->phase = Phase::kNotReady;
  table.Find(2)->outstanding = 1;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(table.PickLeastOutstanding()->pod, "pod-2");
  table.Find(2)->phase = Phase::kDraining;
  EXPECT_EQ(table.PickLeastOutstanding()->pod, "pod-0");
  table.Find(0)->phase = Phase::kStarting;
  EXPECT_EQ(table.PickLeastOutstanding(), nullptr);
}

}  // namespace
}  // namespace gpuscale::local
