#include "engine/run.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <ctime>

#include "core/rng.h"

namespace gpuscale::engine {
namespace {

// Waits for SIGTERM/SIGINT (blocked in this thread) up to `timeout` (negative: forever).
// Returns the signal, or 0 on timeout.
int WaitForSignal(const sigset_t& set, Duration timeout) {
  while (true) {
    int sig = 0;
    if (timeout < Duration(0)) {
      if (sigwait(&set, &sig) == 0) return sig;
      continue;
    }
    timespec ts{};
    ts.tv_sec = static_cast<time_t>(timeout.count() / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout.count() % 1'000'000'000);
    sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0) return sig;
    if (errno == EAGAIN) return 0;
    // EINTR: another signal interrupted the wait; the remaining time is not tracked closely.
  }
}

}  // namespace

int RunEngine(RunOptions options) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto profile = FindProfile(options.profile);
  if (!profile.ok()) {
    spdlog::error("{}", profile.error().message);
    return 1;
  }
  if (!options.model.empty() && options.model != profile->model) {
    // Serving another model under this profile's timing is allowed: the name is what clients
    // see; the profile decides the timing.
    spdlog::warn("--model {} differs from profile {}'s model {}; timing follows the profile",
                 options.model, profile->name, profile->model);
  }
  if (options.server.served_model_name.empty()) {
    options.server.served_model_name = options.model.empty() ? profile->model : options.model;
  }
  if (!options.seed_given) options.server.seed = core::Rng::RandomSeed();
  EngineLimits limits = ResolveLimits(*profile, options.server.engine);
  spdlog::info(
      "gpuscale engine: profile {} ({} on {}), model {}, seed {}, max_num_seqs {}, "
      "max_num_batched_tokens {}, block_size {}, num_gpu_blocks {} ({} tokens), "
      "max_model_len {}, output length {}",
      profile->name, profile->model, profile->gpu_name, options.server.served_model_name,
      options.server.seed, limits.max_num_seqs, limits.max_num_batched_tokens, limits.block_size,
      limits.num_gpu_blocks, limits.num_gpu_blocks * limits.block_size, limits.max_model_len,
      options.server.output_len_dist.ToString());

  if (options.startup_delay > Duration(0)) {
    spdlog::info("loading model: listening in {:.3f} s", core::ToSeconds(options.startup_delay));
    if (int sig = WaitForSignal(set, options.startup_delay); sig != 0) {
      spdlog::info("signal {} during start-up; exiting", sig);
      return 0;
    }
  }

  core::ThreadScheduler scheduler;
  auto server = EngineServer::Start(*profile, options.server, scheduler);
  if (!server.ok()) {
    spdlog::error("{}", server.error().ToString());
    return 1;
  }
  spdlog::info("serving on http://{}:{} (Application startup complete.)", options.server.host,
               (*server)->port());
  int sig = WaitForSignal(set, Duration(-1));
  spdlog::info("signal {}: draining {} in-flight request(s) for up to {:.1f} s", sig,
               (*server)->active_requests(), core::ToSeconds(options.drain_timeout));
  (*server)->Shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(options.drain_timeout));
  spdlog::info("stopped");
  return 0;
}

}  // namespace gpuscale::engine
