// `gpuscale engine`: vLLM's OpenAI-server flags (where they exist) plus the emulator's own,
// mapped onto engine::RunOptions.
#include <cstdio>

#include "apps/gpuscale/commands.h"
#include "core/duration.h"
#include "engine/run.h"

namespace gpuscale::app {

void RegisterEngine(CLI::App& app, core::LogOptions& log, CommandSet& commands) {
  struct Flags {
    engine::RunOptions run;
    std::string startup_delay = "0s";
    std::string drain_timeout = "5s";
    std::string output_len_dist = "lognormal:4.86:0.93";
    std::uint64_t seed = 0;
    int tensor_parallel_size = 1;
    bool list_profiles = false;
    bool chunked_prefill = true;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "engine",
      "A vLLM-compatible emulator: OpenAI API, vllm:* metrics and continuous-batching timing, "
      "with an emulated GPU (no GPU needed)");
  auto& r = flags->run;
  auto& s = r.server;
  sub->add_option("--profile", r.profile,
                  "Timing profile (model on GPU): gemma-3-1b-it-l4, gemma-3-1b-it-h100, "
                  "llama-3.1-8b-instruct-h100")
      ->capture_default_str();
  sub->add_flag("--list-profiles", flags->list_profiles, "Print the profiles and their sources");
  sub->add_option("--model", r.model, "Model id (default: the profile's model)");
  sub->add_option("--served-model-name", s.served_model_name,
                  "Name clients use in \"model\" (default: --model)");
  sub->add_option("--host", s.host, "Address to listen on")->capture_default_str();
  sub->add_option("--port", s.port, "Port to listen on")->capture_default_str();
  sub->add_option("--max-num-seqs", s.engine.max_num_seqs,
                  "Sequences per step (default: vLLM's default for the profile's GPU)");
  sub->add_option("--max-num-batched-tokens", s.engine.max_num_batched_tokens,
                  "Token budget per step (default: vLLM's default for the profile's GPU)");
  sub->add_option("--block-size", s.engine.block_size, "Tokens per KV-cache block")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  sub->add_option("--num-gpu-blocks-override", s.engine.num_gpu_blocks,
                  "KV-cache blocks (default: from the GPU memory in the profile)");
  sub->add_option("--max-model-len", s.engine.max_model_len,
                  "Context length (default: the model's)");
  sub->add_flag("--enable-chunked-prefill,!--no-enable-chunked-prefill", flags->chunked_prefill,
                "Split long prompts across steps (vLLM V1 default: on)");
  sub->add_option("--tensor-parallel-size", flags->tensor_parallel_size,
                  "Accepted for vLLM compatibility; must be 1")
      ->check(CLI::Range(1, 1));
  sub->add_option("--seed", flags->seed,
                  "Seed for output lengths and ids (default: random, "
                  "logged)");
  sub->add_option("--output-len-dist", flags->output_len_dist,
                  "EOS position when a request does not set ignore_eos: fixed:N, uniform:LO:HI, "
                  "normal:MEAN:SD, lognormal:MU:SIGMA, exponential:MEAN")
      ->capture_default_str();
  sub->add_option("--startup-delay", flags->startup_delay,
                  "Model-load time before the port opens (Go duration, e.g. 45s)")
      ->capture_default_str();
  sub->add_option("--drain-timeout", flags->drain_timeout,
                  "On SIGTERM, time in-flight requests get to finish (Go duration)")
      ->capture_default_str();
  sub->add_option("--emu-dir", s.emu_dir,
                  "Emulated-GPU state directory to drive (read by libgpuscale-nvml-emu.so)")
      ->envname("GPUSCALE_EMU_DIR");
  sub->add_option("--gpu-index", s.gpu_index, "Which emulated GPU this engine uses")
      ->check(CLI::Range(0, 1023))
      ->capture_default_str();
  sub->add_option("--engine-label", s.engine_label,
                  "Value of the `engine` label on vllm:* "
                  "metrics")
      ->capture_default_str();
  sub->add_option("--io-threads", s.io_threads, "HTTP I/O threads")->capture_default_str();

  commands.Add(sub, [flags, sub, &log] {
    if (!SetUpLogging(log)) return 2;
    if (flags->list_profiles) {
      for (const engine::Profile& p : engine::BuiltinProfiles()) {
        std::printf("%s\n  model %s on %s\n  source: %s\n", p.name.c_str(), p.model.c_str(),
                    p.gpu_name.c_str(), p.source.c_str());
      }
      return 0;
    }
    engine::RunOptions run = flags->run;
    auto fail = [](std::string_view flag, const core::Error& e) {
      std::fprintf(stderr, "gpuscale engine: %.*s: %s\n", static_cast<int>(flag.size()),
                   flag.data(), e.message.c_str());
      return 2;
    };
    auto delay = core::ParseDuration(flags->startup_delay);
    if (!delay.ok()) return fail("--startup-delay", delay.error());
    auto drain = core::ParseDuration(flags->drain_timeout);
    if (!drain.ok()) return fail("--drain-timeout", drain.error());
    auto dist = engine::ParseOutputLengthDist(flags->output_len_dist);
    if (!dist.ok()) return fail("--output-len-dist", dist.error());
    run.startup_delay = *delay;
    run.drain_timeout = *drain;
    run.server.output_len_dist = *dist;
    run.server.engine.enable_chunked_prefill = flags->chunked_prefill;
    run.seed_given = sub->count("--seed") > 0;
    run.server.seed = flags->seed;
    return engine::RunEngine(std::move(run));
  });
}

}  // namespace gpuscale::app
