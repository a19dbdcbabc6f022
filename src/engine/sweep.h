// Closed-loop concurrency sweeps over the timing model in virtual time: N clients each keep one
// request in flight. Used by tests, docs and benchmarks to read TTFT/ITL off a profile.
#pragma once

#include "engine/model.h"

namespace gpuscale::engine {

struct SweepOptions {
  int concurrency = 1;
  int prompt_tokens = 256;
  int output_tokens = 128;                      // ignore_eos: every request generates this
  Duration warmup = std::chrono::seconds(10);   // requests arriving earlier are not measured
  Duration measure = std::chrono::seconds(60);  // virtual time measured after warm-up
};

struct SweepPoint {
  int concurrency = 0;
  int requests = 0;        // measured requests that finished
  double ttft_mean_s = 0;  // arrival to first token
  double itl_mean_s = 0;   // mean gap between consecutive tokens of one request
  double output_tokens_per_s = 0;
  double kv_usage_max = 0;
  std::uint64_t preemptions = 0;
};

// Runs the loop on a fresh Engine. Deterministic.
SweepPoint RunClosedLoop(const Profile& profile, const EngineOptions& options,
                         const SweepOptions& sweep);

}  // namespace gpuscale::engine
