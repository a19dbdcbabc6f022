#include "engine/profile.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace gpuscale::engine {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
constexpr double kMiB = 1024.0 * 1024.0;

// Bandwidths and dense BF16 tensor throughput of the GPUs (reference §5.1; the L4's 242 TFLOPS
// is quoted with sparsity, so dense is half).
constexpr double kL4Bandwidth = 300e9;
constexpr double kL4DenseFlops = 121e12;
constexpr double kH100Bandwidth = 3.35e12;
constexpr double kH100DenseFlops = 989e12;
// Model FLOP utilisation assumed for prefill (first-principles rule of reference §5.1).
constexpr double kPrefillMfu = 0.5;

constexpr ActivityWeights kComputeActivity{0.9, 0.7, 0.3};
constexpr ActivityWeights kMemoryActivity{0.5, 0.1, 0.9};
constexpr ActivityWeights kOverheadActivity{0.1, 0.0, 0.05};

// gemma-3-1b-it: "Model loading took 1.9134 GB" (vLLM prints GiB), vLLM issue #14696;
// KV per token from its config.json: 26 layers x 1 KV head x head_dim 256 x 2 (K,V) x 2 bytes.
constexpr double kGemmaWeights = 1.9134 * kGiB;
constexpr double kGemmaParams = 1.0e9;
constexpr double kGemmaKvPerToken = 26.0 * 1 * 256 * 2 * 2;
// Llama-3.1-8B: 8.03e9 parameters in bf16 (reference §5.1: "8B bf16 (16 GB)"); KV per token
// 32 layers x 8 KV heads x 128 x 2 x 2 = 128 KiB (reference §5.1).
constexpr double kLlamaParams = 8.03e9;
constexpr double kLlamaWeights = kLlamaParams * 2;
constexpr double kLlamaKvPerToken = 32.0 * 8 * 128 * 2 * 2;

Profile Common() {
  Profile p;
  p.gpu_memory_utilization = 0.9;
  p.activation_reserve_bytes = 1.0 * kGiB;
  p.compute_activity = kComputeActivity;
  p.memory_activity = kMemoryActivity;
  p.overhead_activity = kOverheadActivity;
  return p;
}

Profile GemmaL4() {
  Profile p = Common();
  p.name = "gemma-3-1b-it-l4";
  p.model = "google/gemma-3-1b-it";
  p.gpu_name = "NVIDIA L4";
  p.gpu_architecture = "ada";
  p.gpu_memory_mib = 23034;
  p.gpu_power_idle_w = 16;
  p.gpu_power_max_w = 72;
  p.weight_bytes = kGemmaWeights;
  p.kv_bytes_per_token = kGemmaKvPerToken;
  p.step_overhead_s = 4e-3;
  p.weight_read_s = kGemmaWeights / kL4Bandwidth;
  p.prefill_per_token_s = 2 * kGemmaParams / (kL4DenseFlops * kPrefillMfu);
  p.decode_per_seq_s = 60e-6;
  p.kv_read_per_token_s = kGemmaKvPerToken / kL4Bandwidth;
  p.max_model_len = 32768;
  p.default_max_num_seqs = 256;
  p.default_max_num_batched_tokens = 2048;
  p.source =
      "Derived (no measured vLLM L4 benchmark exists; reference §5.2). Weights 1.9134 GiB "
      "(vLLM #14696) read at the L4's 300 GB/s = 6.8 ms per step (reference §5.1: ~6.5 ms "
      "floor); step overhead 4 ms (reference §5.1: 3-6 ms per step); prefill 2 x 1.0e9 FLOP "
      "per token at 50% of 121 dense TFLOPS = 33 us/token (reference §5.1 rule); decode 60 us "
      "per sequence (33 us compute + sampling); KV 26,624 B/token (config.json: 26 layers, 1 "
      "KV head, head_dim 256, bf16) read at 300 GB/s; defaults max_num_seqs 256, "
      "max_num_batched_tokens 2048 for GPUs under 70 GiB (reference §1.3).";
  return p;
}

Profile GemmaH100() {
  Profile p = Common();
  p.name = "gemma-3-1b-it-h100";
  p.model = "google/gemma-3-1b-it";
  p.gpu_name = "NVIDIA H100 80GB HBM3";
  p.gpu_architecture = "hopper";
  p.gpu_memory_mib = 81559;
  p.gpu_power_idle_w = 70;
  p.gpu_power_max_w = 700;
  p.weight_bytes = kGemmaWeights;
  p.kv_bytes_per_token = kGemmaKvPerToken;
  p.step_overhead_s = 4.5e-3;
  p.weight_read_s = kGemmaWeights / kH100Bandwidth;
  p.prefill_per_token_s = 2 * kGemmaParams / (kH100DenseFlops * kPrefillMfu);
  p.decode_per_seq_s = 30e-6;
  p.kv_read_per_token_s = kGemmaKvPerToken / kH100Bandwidth;
  p.max_model_len = 32768;
  p.default_max_num_seqs = 1024;
  p.default_max_num_batched_tokens = 8192;
  p.source =
      "Overhead-bound (reference §5.1: weights well under 1 ms at 3.35 TB/s, CUDA-graph launch "
      "plus sampling 3-6 ms per step): step overhead 4.5 ms + 0.6 ms weight read gives ITL "
      "~5.1 ms at batch 1, inside llm-d-inference-sim's 1-3B/H100 ITL range 5-8 ms (reference "
      "§5.2). Prefill 2 x 1.0e9 FLOP at 50% of 989 dense TFLOPS = 4 us/token (reference §5.1 "
      "rule; the sim's 30-60 ms TTFT table is slower than the measured 8B/H100 TTFT p50 of "
      "14 ms, reference §5.2, so the rule is kept). Defaults 1024/8192 for H100 (§1.3).";
  return p;
}

Profile LlamaH100() {
  Profile p = Common();
  p.name = "llama-3.1-8b-instruct-h100";
  p.model = "meta-llama/Llama-3.1-8B-Instruct";
  p.gpu_name = "NVIDIA H100 80GB HBM3";
  p.gpu_architecture = "hopper";
  p.gpu_memory_mib = 81559;
  p.gpu_power_idle_w = 70;
  p.gpu_power_max_w = 700;
  p.weight_bytes = kLlamaWeights;
  p.kv_bytes_per_token = kLlamaKvPerToken;
  p.activation_reserve_bytes = 2.0 * kGiB;
  p.weight_read_s = kLlamaWeights / kH100Bandwidth;
  p.step_overhead_s = 1.6e-3;
  p.prefill_per_token_s = 2 * kLlamaParams / (kH100DenseFlops * kPrefillMfu);
  p.decode_per_seq_s = 240e-6;
  p.kv_read_per_token_s = kLlamaKvPerToken / kH100Bandwidth;
  p.max_model_len = 131072;
  p.default_max_num_seqs = 1024;
  p.default_max_num_batched_tokens = 8192;
  p.source =
      "Fitted to the measured Llama-3.1-8B/1xH100 concurrency sweep (reference §5.2, "
      "yobitelcomm 'concurrency sweep'): batch-1 TPOT 6.5 ms = 4.8 ms weight read (16 GB at "
      "3.35 TB/s) + 1.6 ms overhead; 240 us per decoding sequence fits TPOT 10.9 ms at 16 "
      "concurrent (the measured knee; beyond it the model is optimistic: 64 concurrent measured "
      "46.9 ms). Prefill 2 x 8.03e9 FLOP at 50% of 989 dense TFLOPS = 32 us/token (§5.1). KV "
      "128 KiB/token (§5.1). Defaults 1024/8192 for H100 (§1.3).";
  return p;
}

}  // namespace

std::int64_t KvBlocks(const Profile& profile, int block_size) {
  if (block_size <= 0 || profile.kv_bytes_per_token <= 0) return 0;
  double usable = profile.gpu_memory_mib * kMiB * profile.gpu_memory_utilization -
                  profile.weight_bytes - profile.activation_reserve_bytes;
  double blocks = std::floor(usable / (profile.kv_bytes_per_token * block_size));
  return std::max<std::int64_t>(0, static_cast<std::int64_t>(blocks));
}

const std::vector<Profile>& BuiltinProfiles() {
  static const std::vector<Profile> profiles = {GemmaL4(), GemmaH100(), LlamaH100()};
  return profiles;
}

core::Result<Profile> FindProfile(std::string_view name) {
  std::string known;
  for (const Profile& p : BuiltinProfiles()) {
    if (p.name == name) return p;
    if (!known.empty()) known += ", ";
    known += p.name;
  }
  return core::NotFound(fmt::format("unknown profile '{}' (known: {})", name, known));
}

}  // namespace gpuscale::engine
