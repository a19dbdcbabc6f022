// The continuous-batching timing model of a vLLM V1 engine, driven in virtual time. Pure: no
// clock, no I/O, no threads; deterministic for the same calls. Shared by the real-time server
// (`gpuscale engine`) and the discrete-event simulator.
//
// Driving it:
//   engine.Add(request, now);              // a request arrives (joins the waiting queue)
//   if (engine.HasWork()) {
//     const StepResult& r = engine.Step(now);  // plans one step starting at `now`
//     // the step occupies the GPU until r.end(); its tokens and finishes happen at r.end().
//     // Requests added or aborted before r.end() are seen by the next Step call.
//   }
// A server runs Step on a timer and delivers r.tokens at r.end(); a simulator pushes an event
// at r.end() and calls Step again there. Step costs O(running + admitted sequences) and does not
// allocate once its buffers have grown.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/rng.h"
#include "engine/profile.h"

namespace gpuscale::engine {

using core::Duration;
using core::Timestamp;
using RequestId = std::uint64_t;

// Scheduler limits (vLLM's names). Zero means "the profile's default".
struct EngineOptions {
  int max_num_seqs = 0;                // sequences in the running set
  int max_num_batched_tokens = 0;      // tokens scheduled per step (prefill chunks + decodes)
  int block_size = 16;                 // tokens per KV block
  std::int64_t num_gpu_blocks = 0;     // KV blocks; 0: computed from the profile's memory
  int max_model_len = 0;               // prompt + output limit
  bool enable_chunked_prefill = true;  // off: a prompt must fit the token budget whole
};

// The limits an Engine actually runs with (EngineOptions with defaults filled in).
struct EngineLimits {
  int max_num_seqs = 0;
  int max_num_batched_tokens = 0;
  int block_size = 0;
  std::int64_t num_gpu_blocks = 0;
  int max_model_len = 0;
  bool enable_chunked_prefill = true;
};
EngineLimits ResolveLimits(const Profile& profile, const EngineOptions& options);

enum class FinishReason { kStop, kLength, kAbort };
std::string_view FinishReasonName(FinishReason reason);  // "stop", "length", "abort"

struct RequestSpec {
  RequestId id = 0;
  int prompt_tokens = 1;
  int output_tokens = 1;  // tokens this request will generate (see OutputLength)
  // Why it ends after output_tokens: kLength (hit max_tokens) or kStop (EOS).
  FinishReason finish_reason = FinishReason::kLength;
};

// A request that emitted `count` new tokens at the end of the step.
struct TokenEvent {
  RequestId id = 0;
  int count = 1;
  bool first = false;  // the request's first output token
  // Since the request's previous token, or since its arrival for the first (TTFT).
  Duration interval{0};
};

// A request that left the engine, with its lifecycle timestamps (vLLM's QUEUED, SCHEDULED,
// first NEW_TOKENS and last NEW_TOKENS).
struct FinishedRequest {
  RequestId id = 0;
  FinishReason reason = FinishReason::kStop;
  int prompt_tokens = 0;
  int output_tokens = 0;  // generated before finishing (or aborting)
  Timestamp arrival;
  std::optional<Timestamp> scheduled;  // most recent time it entered the running set
  std::optional<Timestamp> first_token;
  Timestamp finished;
  int preemptions = 0;
};

// Activity during a step, as fractions of its duration.
struct StepActivity {
  double sm = 0;
  double tensor = 0;
  double dram = 0;
};

struct StepResult {
  Timestamp start;
  Duration duration{0};
  Timestamp end() const { return start + duration; }
  int num_scheduled_seqs = 0;
  int prefill_tokens = 0;  // prompt (or recomputed) tokens processed this step
  int decode_tokens = 0;
  std::int64_t context_tokens = 0;
  StepActivity activity;
  std::vector<TokenEvent> tokens;         // at end()
  std::vector<FinishedRequest> finished;  // at end()
  std::vector<RequestId> preempted;       // moved back to waiting by this step
  std::vector<RequestId> started;         // entered the running set by this step
};

// Cumulative counters and current gauges.
struct EngineStats {
  int num_running = 0;
  int num_waiting = 0;
  std::int64_t used_blocks = 0;
  std::int64_t total_blocks = 0;
  double kv_usage = 0;                        // used_blocks / total_blocks
  std::uint64_t prompt_tokens_total = 0;      // prompt tokens of requests that got a first token
  std::uint64_t generation_tokens_total = 0;  // output tokens emitted
  std::uint64_t preemptions_total = 0;
  std::uint64_t steps_total = 0;
  Duration busy_total{0};  // sum of step durations
};

// One engine replica. Thread-compatible: callers serialise all calls.
class Engine {
 public:
  Engine(Profile profile, EngineOptions options);

  const Profile& profile() const { return profile_; }
  const EngineLimits& limits() const { return limits_; }

  // Queues a request that arrived at `now`. InvalidArgument when prompt/output are < 1, the
  // id is in use, prompt + output exceeds max_model_len, or it could never fit the KV cache.
  core::Status Add(const RequestSpec& request, Timestamp now);
  // Removes a waiting or running request and frees its blocks; returns its record (reason
  // kAbort), or nullopt if the id is unknown (already finished).
  std::optional<FinishedRequest> Abort(RequestId id, Timestamp now);

  // True when a step would do work (something is waiting or running).
  bool HasWork() const { return !running_.empty() || !waiting_.empty(); }
  // Schedules and runs one step starting at `now` (see the file comment). The result stays valid
  // until the next Step call.
  const StepResult& Step(Timestamp now);
  // The duration a step with this shape takes under the profile.
  Duration StepTime(int prefill_tokens, int decode_seqs, std::int64_t context_tokens) const;

  EngineStats stats() const;
  std::int64_t used_blocks() const { return used_blocks_; }
  // Bytes of GPU memory in use: weights plus allocated KV blocks.
  double memory_used_bytes() const;

 private:
  struct Seq {
    RequestSpec spec;
    Timestamp arrival;
    std::optional<Timestamp> scheduled;
    std::optional<Timestamp> first_token;
    Timestamp last_token;
    int num_output = 0;    // tokens generated so far
    int num_computed = 0;  // tokens whose KV is in the cache
    std::int64_t blocks = 0;
    int preemptions = 0;
    int scheduled_now = 0;  // tokens scheduled in the current step
    bool running = false;
  };

  std::int64_t BlocksFor(std::int64_t tokens) const;
  // Grows `seq`'s allocation to hold `tokens`; false if the free pool is too small.
  bool Allocate(Seq& seq, std::int64_t tokens);
  void Free(Seq& seq);
  void Preempt(std::size_t running_index, Timestamp now);
  FinishedRequest Record(const Seq& seq, FinishReason reason, Timestamp when) const;

  Profile profile_;
  EngineLimits limits_;
  std::unordered_map<RequestId, Seq> seqs_;
  std::vector<RequestId> running_;  // FCFS order; the last one is preempted first
  std::deque<RequestId> waiting_;   // FCFS; preempted requests go to the front
  std::vector<RequestId> scratch_;
  std::int64_t used_blocks_ = 0;
  StepResult result_;
  EngineStats counters_;
};

// How many tokens a request generates when the client leaves EOS to the model.
struct OutputLengthDist {
  enum class Kind { kFixed, kUniform, kNormal, kLogNormal, kExponential };
  Kind kind = Kind::kNormal;
  double a = 40;  // fixed: n; uniform: lo; normal: mean; lognormal: mu; exponential: mean
  double b = 20;  // uniform: hi; normal: stddev; lognormal: sigma
  std::string ToString() const;
};
// Parses "fixed:N", "uniform:LO:HI", "normal:MEAN:STDDEV", "lognormal:MU:SIGMA",
// "exponential:MEAN". Errors name the flag text.
core::Result<OutputLengthDist> ParseOutputLengthDist(std::string_view text);

// The output length and finish reason of one request, as vLLM would end it:
// - ignore_eos with max_tokens: max_tokens tokens, "length";
// - otherwise an EOS position drawn from `dist` (at least 1); if it exceeds the limit
//   (max_tokens, or max_model_len - prompt when max_tokens is absent) the request ends there
//   with "length", else with "stop".
struct OutputLength {
  int tokens = 1;
  FinishReason reason = FinishReason::kStop;
};
OutputLength ChooseOutputLength(const OutputLengthDist& dist, core::Rng& rng,
                                std::optional<int> max_tokens, bool ignore_eos, int limit);

}  // namespace gpuscale::engine
