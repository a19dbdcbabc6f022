// Helpers shared by the sim tests: a fixed arrival list and a profile whose every step takes a
// round 100 ms, so expected times can be worked out by hand.
#pragma once

#include <string>
#include <vector>

#include "engine/profile.h"
#include "hpa/spec.h"
#include "load/arrivals.h"
#include "sim/simulator.h"

namespace gpuscale::sim::testing {

class ListArrivals : public load::ArrivalProcess {
 public:
  explicit ListArrivals(std::vector<load::Arrival> list) : list_(std::move(list)) {}
  std::optional<load::Arrival> Next() override {
    if (next_ >= list_.size()) return std::nullopt;
    return list_[next_++];
  }

 private:
  std::vector<load::Arrival> list_;
  std::size_t next_ = 0;
};

inline load::Arrival At(double s, int prompt = 1, int output = 1) {
  return load::Arrival{std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(s)),
                       prompt, output};
}

// Every step costs 100 ms whatever it holds; one sequence per step.
inline Options FlatOptions() {
  Options o;
  o.profile = *engine::FindProfile("gemma-3-1b-it-l4");
  o.profile.step_overhead_s = 0.1;
  o.profile.weight_read_s = 0;
  o.profile.prefill_per_token_s = 0;
  o.profile.decode_per_seq_s = 0;
  o.profile.kv_read_per_token_s = 0;
  o.engine.max_num_seqs = 1;
  o.scheduling = {DurationDist::Kind::kFixed, 2, 0};
  o.image_pull = {DurationDist::Kind::kFixed, 10, 0};
  o.model_load = {DurationDist::Kind::kFixed, 20, 0};
  o.readiness = {DurationDist::Kind::kFixed, 3, 0};
  return o;
}

inline hpa::HpaSpec TestHpa(const std::string& name) {
  return *hpa::LoadHpaSpecFile(std::string(GPUSCALE_SIM_TESTDATA) + "/" + name);
}

}  // namespace gpuscale::sim::testing
