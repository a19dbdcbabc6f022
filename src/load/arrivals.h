// Arrival processes: generators of scheduled send times (offsets from the start of a run), for
// open-loop load. Pure: they never read a clock, so the simulator replays them in virtual time.
// Each owns its random generator; not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/rng.h"
#include "load/trace.h"

namespace gpuscale::load {

// One scheduled request.
struct Arrival {
  core::Duration offset{};  // when to send it, since the start of the run
  int prompt_tokens = -1;   // from a trace; -1: the request options decide
  int output_tokens = -1;   // from a trace; -1: the request options decide
};

class ArrivalProcess {
 public:
  virtual ~ArrivalProcess() = default;
  // The next arrival (offsets never decrease), or nullopt when the process has ended.
  virtual std::optional<Arrival> Next() = 0;
};

// A piece of a rate-over-time profile: the rate moves linearly from start_rate to end_rate
// (requests per second) over `duration`.
struct RateSegment {
  core::Duration duration{};
  double start_rate = 0;
  double end_rate = 0;
};

// Arrivals following a piecewise-linear rate profile; after the last segment its end rate holds
// for ever (a zero end rate ends the process). Deterministic arrivals land where the cumulative
// rate crosses 0, 1, 2, ... (the first at offset 0); Poisson arrivals are a non-homogeneous
// Poisson process with that rate (time-rescaled unit exponentials).
std::unique_ptr<ArrivalProcess> MakeProfileArrivals(std::vector<RateSegment> segments, bool poisson,
                                                    core::Rng rng);

// A fixed interval of 1/rate, first arrival at 0.
std::unique_ptr<ArrivalProcess> MakeConstantArrivals(double rate);
// Poisson arrivals: exponential gaps with mean 1/rate.
std::unique_ptr<ArrivalProcess> MakePoissonArrivals(double rate, core::Rng rng);
// Gamma-distributed gaps with mean 1/rate and shape `burstiness` (1 = Poisson, < 1 burstier,
// > 1 more regular), as `vllm bench serve --burstiness` defines it.
std::unique_ptr<ArrivalProcess> MakeGammaArrivals(double rate, double burstiness, core::Rng rng);
// A linear ramp from `from_rate` to `to_rate` over `duration`, then `to_rate`.
std::unique_ptr<ArrivalProcess> MakeRampArrivals(double from_rate, double to_rate,
                                                 core::Duration duration, bool poisson,
                                                 core::Rng rng);
struct RateStep {
  double rate = 0;
  core::Duration duration{};
};
// Constant rates one after another; the last holds after its duration.
std::unique_ptr<ArrivalProcess> MakeStepArrivals(const std::vector<RateStep>& steps, bool poisson,
                                                 core::Rng rng);

struct TraceReplayOptions {
  // Trace time is multiplied by this: 0.5 replays twice as fast, 2 twice as slowly.
  double time_scale = 1.0;
  // Requests per trace row, keeping the trace's timing: 2 sends each row twice at its time;
  // 0.5 keeps each row with probability 0.5; 2.5 sends two or three copies (mean 2.5).
  double rate_scale = 1.0;
};
// Replays `trace` (which must outlive the process) with its token counts.
std::unique_ptr<ArrivalProcess> MakeTraceArrivals(const Trace& trace, TraceReplayOptions options,
                                                  core::Rng rng);

// Parses "RATE:DURATION[,RATE:DURATION...]" ("1:30s,5:1m") for --steps.
core::Result<std::vector<RateStep>> ParseSteps(std::string_view text);

}  // namespace gpuscale::load
