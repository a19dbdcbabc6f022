// `gpuscale engine`'s server: the OpenAI-compatible HTTP API of vLLM 0.10 over the timing model.
// A step loop runs on a Scheduler: each step is planned by the model, and its tokens are
// written to the clients' streams when the step's virtual duration has passed. It also exports
// vllm:* metrics and, optionally, drives an emulated GPU's counters (src/gpu/emu_state.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "engine/model.h"
#include "engine/profile.h"

namespace gpuscale::engine {

struct EngineServerOptions {
  std::string host = "0.0.0.0";   // listen address (vLLM's --host)
  std::uint16_t port = 8000;      // 0 picks a free port (vLLM's --port default is 8000)
  int io_threads = 2;             // HTTP I/O threads
  std::string served_model_name;  // the model id clients send; empty: the profile's model
  EngineOptions engine;           // scheduler limits (defaults from the profile)
  // EOS position when a request leaves it to the model: lognormal fitted to the Azure 2023
  // conversation trace's GeneratedTokens (p50 129, p90 424; reference §6.1).
  OutputLengthDist output_len_dist{OutputLengthDist::Kind::kLogNormal, 4.86, 0.93};
  std::uint64_t seed = 0;           // output lengths and ids
  std::string engine_label = "0";   // the `engine` label of vllm:* metrics
  std::string emu_dir;              // emulated-GPU state directory; empty: no emulated GPU
  int gpu_index = 0;                // which emulated GPU this engine drives
  std::int64_t created_unix_s = 0;  // "created" of responses/models; 0: the clock's now
};

// Token delivery lateness: when a token was handed to its stream versus the model's time.
struct TimingErrorStats {
  std::uint64_t tokens = 0;
  Duration p50{0};
  Duration p99{0};
  Duration max{0};
};

class EngineServer {
 public:
  // Binds and serves at once (callers apply any start-up delay before). `scheduler` runs the
  // step loop and must outlive the server; its clock is the server's time. Errors: the
  // profile/options are unusable (kInvalidArgument), the port is taken (kAlreadyExists), the
  // emulated GPU cannot be opened.
  static core::Result<std::unique_ptr<EngineServer>> Start(const Profile& profile,
                                                           EngineServerOptions options,
                                                           core::Scheduler& scheduler);
  ~EngineServer();
  EngineServer(const EngineServer&) = delete;
  EngineServer& operator=(const EngineServer&) = delete;

  std::uint16_t port() const;
  // Stops accepting connections, lets in-flight requests finish for up to `grace`, then
  // cancels the rest (their KV blocks are freed) and stops the step loop. Idempotent.
  void Shutdown(std::chrono::milliseconds grace);

  EngineStats stats() const;
  int active_requests() const;  // requests accepted and not yet answered
  TimingErrorStats timing_error() const;
  // The /metrics text, as a scrape would return it.
  std::string RenderMetrics() const;

  struct Core;  // shared with the step loop's tasks and stream callbacks

 private:
  EngineServer() = default;
  std::shared_ptr<Core> core_;
};

}  // namespace gpuscale::engine
