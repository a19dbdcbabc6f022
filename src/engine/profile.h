// Hardware/model profiles for the continuous-batching timing model: what one engine step costs
// on a given GPU for a given model, and how much KV cache fits. Pure data; each built-in profile
// carries the source of its numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace gpuscale::engine {

// Fractions (0..1) of a step's time during which SMs, tensor cores and DRAM are active, for one
// kind of work. The emulated GPU weights busy time by these (DCGM PROF fields).
struct ActivityWeights {
  double sm = 0;
  double tensor = 0;
  double dram = 0;
};

// Step time = step_overhead_s + weight_read_s
//           + prefill_tokens * prefill_per_token_s + decode_seqs * decode_per_seq_s
//           + context_tokens * kv_read_per_token_s
// where context_tokens sums, over the scheduled sequences, the tokens whose KV the step reads.
struct Profile {
  std::string name;                  // CLI name, e.g. "gemma-3-1b-it-l4"
  std::string model;                 // served model id, e.g. "google/gemma-3-1b-it"
  std::string gpu_name;              // NVML name, e.g. "NVIDIA L4"
  std::string gpu_architecture;      // ampere | ada | hopper (emulated NVML)
  std::uint64_t gpu_memory_mib = 0;  // total device memory
  double gpu_power_idle_w = 0;
  double gpu_power_max_w = 0;

  double weight_bytes = 0;              // model weights resident on the GPU
  double kv_bytes_per_token = 0;        // 2 * layers * kv_heads * head_dim * dtype bytes
  double activation_reserve_bytes = 0;  // peak activations + CUDA graphs, not usable for KV
  double gpu_memory_utilization = 0.9;  // vLLM's --gpu-memory-utilization default

  double step_overhead_s = 0;      // launch, scheduling, sampling: paid by every step
  double weight_read_s = 0;        // one pass over the weights (memory-bound floor of a step)
  double prefill_per_token_s = 0;  // compute per prompt token
  double decode_per_seq_s = 0;     // compute per decoding sequence
  double kv_read_per_token_s = 0;  // attention KV read per context token

  int max_model_len = 0;
  int default_max_num_seqs = 0;  // vLLM 0.10 defaults for this GPU class
  int default_max_num_batched_tokens = 0;

  ActivityWeights compute_activity;   // prefill/decode compute time
  ActivityWeights memory_activity;    // weight and KV reads
  ActivityWeights overhead_activity;  // fixed per-step overhead

  std::string source;  // where every number above comes from
};

// KV blocks that fit for `block_size`-token blocks: (memory * utilization - weights - reserve)
// / (kv_bytes_per_token * block_size), at least 0.
std::int64_t KvBlocks(const Profile& profile, int block_size);

// The built-in profiles, in a fixed order.
const std::vector<Profile>& BuiltinProfiles();
// A built-in profile by name. NotFound lists the known names.
core::Result<Profile> FindProfile(std::string_view name);

}  // namespace gpuscale::engine
