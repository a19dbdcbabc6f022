// The load runner: sends OpenAI-style requests to one or more targets on http::AsyncClient,
// open loop (an ArrivalProcess decides when) or closed loop (fixed concurrency), and records
// each request's TTFT, inter-token latencies, end-to-end latency, tokens and outcome.
//
// Open-loop sends run on the calling thread with a precise timer (sleep, then spin for the last
// fraction of a millisecond) at their scheduled time whatever the responses do, so slow answers
// never hold sends back (no coordinated omission); each record keeps scheduled and actual times.
// Every run is bounded: by its duration and request count, and always by kHardMaxRequests and
// kHardMaxDuration.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/client.h"
#include "load/arrivals.h"
#include "load/openai.h"
#include "load/report.h"
#include "load/stats.h"

namespace gpuscale::load {

// The caps that hold even when a caller asks for an unbounded run.
inline constexpr std::int64_t kHardMaxRequests = 10'000'000;
inline constexpr core::Duration kHardMaxDuration = std::chrono::hours(24);

struct RequestOptions {
  Api api = Api::kChat;
  std::string model = "google/gemma-3-1b-it";  // the seed's model
  bool stream = true;
  // Fixed message content. Empty: a synthetic prompt of `prompt_tokens` words (or the trace's).
  std::string prompt;
  int prompt_tokens = 128;
  MaxTokensSpec max_tokens;
  bool ignore_eos = false;
  std::chrono::milliseconds timeout{60000};  // per request, connect to last byte
  // Base URLs ("http://127.0.0.1:8081": the API path is appended) or full URLs with a path.
  // Requests go to them in turn.
  std::vector<std::string> targets = {"http://127.0.0.1:8081"};
};

struct RunOptions {
  RequestOptions request;
  core::Duration duration = std::chrono::seconds(60);  // no send starts after this
  std::int64_t max_requests = kHardMaxRequests;
  // Closed loop when > 0 (and no arrival process is given): this many requests always in flight.
  int concurrency = 0;
  // After the last send, how long to wait for answers still in flight; they are then counted as
  // cancelled. Negative: the request timeout plus one second.
  core::Duration drain = core::Duration(-1);
  core::Duration progress_interval = std::chrono::seconds(1);
  std::uint64_t seed = 1;  // prompts and max_tokens draws
  // Open loop: the sending thread runs at the lowest real-time priority (SCHED_FIFO) while it
  // sends, where the process may (root or CAP_SYS_NICE). On a busy machine the scheduler wakes
  // an ordinary thread milliseconds late, and that lateness is the send lag. It takes a whole
  // core from other work when the rate is more than the thread can keep up with.
  bool realtime_sends = false;
  // Optional external stop flag (e.g. set by a signal handler), polled like Stop(). Not owned.
  const std::atomic<bool>* stop = nullptr;
};

// A snapshot for live progress.
struct Progress {
  double elapsed_s = 0;
  std::int64_t sent = 0, succeeded = 0, failed = 0, in_flight = 0;
  std::int64_t output_tokens = 0;
};

struct RunResult {
  std::vector<RequestRecord> records;  // in send order
  double duration_s = 0;               // start to the last answer (or the drain deadline)
  double started_unix_s = 0;
  std::vector<std::string> targets;  // resolved URLs
  bool realtime_sends = false;       // the open-loop sends ran at real-time priority
  // CPU time the hypervisor gave to others during the run (steal, all CPUs together), where
  // /proc/stat tells; on a virtual machine it delays sends whatever the sending thread's priority.
  std::optional<double> cpu_steal_s;
};

// The steal time in /proc/stat's aggregate "cpu" line, in clock ticks; nullopt if the text has
// no such line or it has fewer than 8 numbers (kernels before 2.6.11).
std::optional<std::uint64_t> ParseCpuStealTicks(std::string_view proc_stat);

class Runner {
 public:
  using ProgressFn = std::function<void(const Progress&)>;
  // Called once per finished request, serialised (never two at once), on a client I/O thread.
  using RequestFn = std::function<void(const RequestRecord&)>;

  // `client` must outlive the runner. `clock` stamps the report's start time only; intervals
  // are measured on the steady clock.
  Runner(http::AsyncClient& client, const core::Clock& clock, RunOptions options);

  // Runs on the calling thread until the arrivals end, the bounds are reached or Stop() is
  // called, then waits for in-flight answers (up to the drain time). `arrivals` null: closed
  // loop with options.concurrency. kInvalidArgument for bad targets or options.
  core::Result<RunResult> Run(ArrivalProcess* arrivals, const ProgressFn& on_progress = {},
                              const RequestFn& on_request = {});
  // Stops sending; the run then drains and returns. Thread-safe, async-signal-safe.
  void Stop() { stop_.store(true); }

 private:
  bool Stopped() const {
    return stop_.load() || (options_.stop != nullptr && options_.stop->load());
  }
  http::AsyncClient& client_;
  const core::Clock& clock_;
  RunOptions options_;
  std::atomic<bool> stop_{false};
};

// Runs one open-loop stage per rate (constant or Poisson arrivals), each for options.duration,
// and returns each stage's summary. `slo` feeds goodput. `all` (optional) receives every record,
// with times shifted so the stages follow one another.
core::Result<std::vector<SweepPoint>> RunSweep(http::AsyncClient& client, const core::Clock& clock,
                                               const RunOptions& options,
                                               const std::vector<double>& rates, bool poisson,
                                               const Slo& slo, RunResult* all = nullptr,
                                               const Runner::ProgressFn& on_progress = {},
                                               const std::atomic<bool>* stop = nullptr);

// Parses a sweep spec "FROM:TO:STEPS" (STEPS rates evenly spaced, inclusive) or a list
// "1,2,5,10".
core::Result<std::vector<double>> ParseSweep(std::string_view text);

}  // namespace gpuscale::load
