#include "engine/sweep.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>

namespace gpuscale::engine {
namespace {

SweepPoint Sweep(const Profile& p, int c, EngineOptions o = {}) {
  SweepOptions s;
  s.concurrency = c;
  return RunClosedLoop(p, o, s);
}

// TTFT and inter-token latency of gemma-3-1b-it on an L4 at 1, 8, 32 and 128 closed-loop
// clients (256-token prompts, 128 output tokens), against the ranges of
// /work/shared/reference/llm-autoscaling.md. No measured vLLM L4 benchmark exists (§5.2), so
// the ranges are derived, each bound named:
//   c=1   ITL in [9.5, 12.5] ms: weight-read floor ~6.5 ms (§5.1, derived) + 3-6 ms step
//         overhead (§5.1). TTFT in [9.5 ms, 130 ms]: a prefill step is at least a decode step;
//         130 ms is the top of the sim's 1-3B/L40S TTFT range (§5.2, a faster GPU).
//   c=8   throughput >= 6.6x c=1 and ITL <= 8/6.6 = 1.21x c=1: "batching almost free up to
//         c=8 (6.6x)" (§5.2, measured, 8B/A100).
//   c=32  ITL <= 1.74x c=1: Mistral-7B/RTX 4090 went from c=4 to c=32 at 975/210 = 4.6x the
//         throughput for 8x the clients, i.e. 1.74x the per-stream ITL (§5.2, measured); a
//         1B model on a larger-batch GPU class degrades no faster. TTFT < 277 ms, that
//         measurement's c=32 TTFT p50.
//   c=128 ITL <= 3x c=1: "decode can change 2-3x with KV occupancy" (§5.2, sim docs).
//         TTFT < 840 ms, the Mistral-7B c=48 TTFT p50 (§5.2, measured), a heavier setup.
TEST(EngineSweep, GemmaOnL4LatencyTableIsInsideTheReferenceRanges) {
  auto profile = FindProfile("gemma-3-1b-it-l4");
  ASSERT_TRUE(profile.ok());
  std::map<int, SweepPoint> t;
  for (int c : {1, 8, 32, 128}) {
    t[c] = Sweep(*profile, c);
    std::printf("gemma-3-1b-it-l4 c=%-3d TTFT %6.1f ms  ITL %5.1f ms  %6.0f tok/s\n", c,
                t[c].ttft_mean_s * 1e3, t[c].itl_mean_s * 1e3, t[c].output_tokens_per_s);
    EXPECT_GT(t[c].requests, 10) << c;
  }
  const double itl1 = t[1].itl_mean_s;
  EXPECT_GE(itl1, 9.5e-3);
  EXPECT_LE(itl1, 12.5e-3);
  EXPECT_GE(t[1].ttft_mean_s, 9.5e-3);
  EXPECT_LE(t[1].ttft_mean_s, 130e-3);

  EXPECT_GE(t[8].output_tokens_per_s, 6.6 * t[1].output_tokens_per_s);
  EXPECT_LE(t[8].itl_mean_s, 1.21 * itl1);

  EXPECT_LE(t[32].itl_mean_s, 1.74 * itl1);
  EXPECT_LT(t[32].ttft_mean_s, 277e-3);

  EXPECT_LE(t[128].itl_mean_s, 3.0 * itl1);
  EXPECT_LT(t[128].ttft_mean_s, 840e-3);

  // More clients never lower throughput or latency.
  EXPECT_LT(t[1].itl_mean_s, t[8].itl_mean_s);
  EXPECT_LT(t[8].itl_mean_s, t[32].itl_mean_s);
  EXPECT_LT(t[32].itl_mean_s, t[128].itl_mean_s);
  EXPECT_LT(t[32].output_tokens_per_s, t[128].output_tokens_per_s);
}

// The 8B/H100 profile against the concurrency sweep it was fitted to (§5.2: TPOT 6.5 ms at
// c=1, 10.9 ms at c=16, measured), within 10%.
TEST(EngineSweep, LlamaOnH100TracksTheMeasuredSweepUpToTheKnee) {
  auto profile = FindProfile("llama-3.1-8b-instruct-h100");
  ASSERT_TRUE(profile.ok());
  EXPECT_NEAR(Sweep(*profile, 1).itl_mean_s, 6.5e-3, 0.65e-3);
  EXPECT_NEAR(Sweep(*profile, 16).itl_mean_s, 10.9e-3, 1.09e-3);
}

// With a cache too small for the clients' contexts, the engine preempts and runs the cache full.
TEST(EngineSweep, SmallCacheCausesPreemption) {
  auto profile = FindProfile("gemma-3-1b-it-l4");
  ASSERT_TRUE(profile.ok());
  EngineOptions o;
  o.num_gpu_blocks = 32 * 20;  // 20 blocks (320 tokens) per client on average; each needs 24
  SweepPoint p = Sweep(*profile, 32, o);
  EXPECT_GT(p.preemptions, 0u);
  EXPECT_GT(p.kv_usage_max, 0.95);
  EXPECT_GT(p.requests, 0);
  SweepPoint roomy = Sweep(*profile, 32);
  EXPECT_EQ(roomy.preemptions, 0u);
  EXPECT_GT(roomy.output_tokens_per_s, p.output_tokens_per_s);
}

TEST(EngineSweep, Deterministic) {
  auto profile = FindProfile("gemma-3-1b-it-h100");
  ASSERT_TRUE(profile.ok());
  SweepPoint a = Sweep(*profile, 16);
  SweepPoint b = Sweep(*profile, 16);
  EXPECT_EQ(a.ttft_mean_s, b.ttft_mean_s);
  EXPECT_EQ(a.itl_mean_s, b.itl_mean_s);
  EXPECT_EQ(a.requests, b.requests);
}

}  // namespace
}  // namespace gpuscale::engine
