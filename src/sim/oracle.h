// The hindsight oracle: for each interval of the simulated load, the fewest replicas that would
// have met the SLO had they all been ready at once (no start-up, no metrics delay), and what
// that costs in GPU-hours. A lower bound to judge an HPA against.
#pragma once

#include <vector>

#include "core/result.h"
#include "sim/simulator.h"

namespace gpuscale::sim {

struct OracleInterval {
  double start_s = 0;
  int requests = 0;
  int replicas = 0;  // fewest meeting options.slo_target (at least 1)
};

struct OracleResult {
  std::vector<OracleInterval> intervals;
  double gpu_hours = 0;  // sum of replicas * interval length
};

// Each interval (options.oracle_interval long) is played alone on fresh engines, requests spread
// round-robin by arrival order, so intervals are independent and the search is exact per
// interval: the smallest n in 1..max_replicas whose attainment reaches options.slo_target
// (max_replicas when none does). Attainment is assumed not to fall as n grows (binary search).
// `requests` need arrival_s, prompt_tokens and output_tokens, in arrival order.
core::Result<OracleResult> ComputeOracle(const Options& options,
                                         const std::vector<RequestRecord>& requests,
                                         int max_replicas = 1024);

// Fraction of `requests` meeting the SLO on `replicas` always-ready engines (round-robin).
double FixedPoolAttainment(const Options& options, const std::vector<RequestRecord>& requests,
                           int replicas);

}  // namespace gpuscale::sim
