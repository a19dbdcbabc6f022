#include "engine/model.h"

#include <gtest/gtest.h>

#include <chrono>

namespace gpuscale::engine {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

// A profile with round numbers so step times can be checked exactly.
Profile TestProfile() {
  Profile p;
  p.name = "test";
  p.model = "test-model";
  p.weight_bytes = 1000;
  p.kv_bytes_per_token = 10;
  p.step_overhead_s = 1e-3;
  p.weight_read_s = 1e-3;
  p.prefill_per_token_s = 1e-6;
  p.decode_per_seq_s = 10e-6;
  p.kv_read_per_token_s = 1e-9;
  p.max_model_len = 4096;
  p.default_max_num_seqs = 8;
  p.default_max_num_batched_tokens = 512;
  p.compute_activity = {1, 1, 0};
  p.memory_activity = {0, 0, 1};
  p.overhead_activity = {0, 0, 0};
  return p;
}

EngineOptions Opts(int seqs, int tokens, std::int64_t blocks, int block_size = 16) {
  EngineOptions o;
  o.max_num_seqs = seqs;
  o.max_num_batched_tokens = tokens;
  o.num_gpu_blocks = blocks;
  o.block_size = block_size;
  return o;
}

RequestSpec Req(RequestId id, int prompt, int output) {
  return RequestSpec{id, prompt, output, FinishReason::kLength};
}

TEST(EngineModel, BatchesPrefillsThenDecodesTogether) {
  Engine e(TestProfile(), Opts(8, 512, 1000));
  Timestamp t{};
  for (RequestId id = 1; id <= 3; ++id) ASSERT_TRUE(e.Add(Req(id, 100, 3), t).ok());
  const StepResult& s1 = e.Step(t);
  EXPECT_EQ(s1.num_scheduled_seqs, 3);
  EXPECT_EQ(s1.prefill_tokens, 300);
  EXPECT_EQ(s1.decode_tokens, 0);
  EXPECT_EQ(s1.started.size(), 3u);
  ASSERT_EQ(s1.tokens.size(), 3u);  // the prefill step samples each first token
  EXPECT_TRUE(s1.tokens[0].first);
  // overhead 1 ms + weights 1 ms + 300 prefill tokens x 1 us + 300 context tokens x 1 ns.
  EXPECT_EQ(s1.duration, microseconds(2300) + std::chrono::nanoseconds(300));
  t = s1.end();
  const StepResult& s2 = e.Step(t);
  EXPECT_EQ(s2.num_scheduled_seqs, 3);
  EXPECT_EQ(s2.decode_tokens, 3);
  EXPECT_EQ(s2.prefill_tokens, 0);
  EXPECT_EQ(s2.context_tokens, 3 * 101);
  EXPECT_EQ(s2.duration, microseconds(2030) + std::chrono::nanoseconds(303));
  ASSERT_EQ(s2.tokens.size(), 3u);
  EXPECT_FALSE(s2.tokens[0].first);
  t = s2.end();
  const StepResult& s3 = e.Step(t);
  EXPECT_EQ(s3.finished.size(), 3u);
  EXPECT_EQ(s3.finished[0].output_tokens, 3);
  EXPECT_EQ(s3.finished[0].reason, FinishReason::kLength);
  EXPECT_FALSE(e.HasWork());
  EXPECT_EQ(e.used_blocks(), 0);
  EngineStats st = e.stats();
  EXPECT_EQ(st.generation_tokens_total, 9u);
  EXPECT_EQ(st.prompt_tokens_total, 300u);
  EXPECT_EQ(st.steps_total, 3u);
}

TEST(EngineModel, MaxNumSeqsBoundsTheRunningSetAndQueuesTheRest) {
  Engine e(TestProfile(), Opts(2, 512, 1000));
  Timestamp t{};
  for (RequestId id = 1; id <= 5; ++id) ASSERT_TRUE(e.Add(Req(id, 10, 2), t).ok());
  EXPECT_EQ(e.stats().num_waiting, 5);
  const StepResult& s = e.Step(t);
  EXPECT_EQ(s.num_scheduled_seqs, 2);
  EXPECT_EQ(e.stats().num_running, 2);
  EXPECT_EQ(e.stats().num_waiting, 3);
  // FCFS: requests 1 and 2 finish first, then 3 and 4 are admitted.
  t = e.Step(s.end()).end();
  EXPECT_EQ(e.stats().num_running, 0);
  const StepResult& s3 = e.Step(t);
  ASSERT_EQ(s3.started.size(), 2u);
  EXPECT_EQ(s3.started[0], 3u);
  EXPECT_EQ(s3.started[1], 4u);
}

TEST(EngineModel, TokenBudgetChunksLongPrefillsAndSharesTheRemainder) {
  Engine e(TestProfile(), Opts(8, 100, 1000));
  Timestamp t{};
  ASSERT_TRUE(e.Add(Req(1, 250, 5), t).ok());
  ASSERT_TRUE(e.Add(Req(2, 30, 5), t).ok());
  const StepResult& s1 = e.Step(t);
  EXPECT_EQ(s1.prefill_tokens, 100);  // request 1 takes the whole budget
  EXPECT_EQ(s1.num_scheduled_seqs, 1);
  EXPECT_TRUE(s1.tokens.empty());
  t = s1.end();
  const StepResult& s2 = e.Step(t);
  EXPECT_EQ(s2.prefill_tokens, 100);
  EXPECT_TRUE(s2.tokens.empty());
  t = s2.end();
  const StepResult& s3 = e.Step(t);
  // 50 remaining tokens of request 1, then 30 of request 2 fit the 100-token budget.
  EXPECT_EQ(s3.prefill_tokens, 80);
  EXPECT_EQ(s3.num_scheduled_seqs, 2);
  ASSERT_EQ(s3.tokens.size(), 2u);
  EXPECT_EQ(s3.tokens[0].id, 1u);
  EXPECT_EQ(s3.tokens[1].id, 2u);
  t = s3.end();
  const StepResult& s4 = e.Step(t);
  EXPECT_EQ(s4.decode_tokens, 2);
}

TEST(EngineModel, DecodesAreScheduledBeforeNewPrefillsWithinTheBudget) {
  Engine e(TestProfile(), Opts(8, 64, 1000));
  Timestamp t{};
  ASSERT_TRUE(e.Add(Req(1, 10, 10), t).ok());
  t = e.Step(t).end();
  ASSERT_TRUE(e.Add(Req(2, 200, 10), t).ok());
  const StepResult& s = e.Step(t);
  EXPECT_EQ(s.decode_tokens, 1);
  EXPECT_EQ(s.prefill_tokens, 63);  // the decode took one token of the 64-token budget
}

TEST(EngineModel, WithoutChunkedPrefillAPromptWaitsForAWholeBudget) {
  EngineOptions o = Opts(8, 100, 1000);
  o.enable_chunked_prefill = false;
  Engine e(TestProfile(), o);
  Timestamp t{};
  EXPECT_EQ(e.Add(Req(9, 150, 1), t).error().code, core::Code::kInvalidArgument);
  ASSERT_TRUE(e.Add(Req(1, 70, 2), t).ok());
  ASSERT_TRUE(e.Add(Req(2, 70, 2), t).ok());
  const StepResult& s = e.Step(t);
  EXPECT_EQ(s.prefill_tokens, 70);
  EXPECT_EQ(e.stats().num_waiting, 1);
}

TEST(EngineModel, KvPressurePreemptsTheNewestRunningRequestAndRecomputesIt) {
  // 4 blocks of 16 tokens = 64 tokens. Two requests of 16 prompt + 40 output each need 4
  // blocks apiece at the end, so they cannot both finish resident.
  Engine e(TestProfile(), Opts(8, 512, 4));
  Timestamp t{};
  ASSERT_TRUE(e.Add(Req(1, 16, 40), t).ok());
  ASSERT_TRUE(e.Add(Req(2, 16, 40), t).ok());
  std::uint64_t preempted_2 = 0;
  int steps = 0;
  std::vector<RequestId> finish_order;
  int recompute_prefill = 0;
  while (e.HasWork() && steps < 1000) {
    const StepResult& s = e.Step(t);
    for (RequestId id : s.preempted) {
      EXPECT_EQ(id, 2u);  // the later (lower-priority) request is the victim
      ++preempted_2;
      EXPECT_EQ(e.stats().num_waiting, 1);
    }
    EXPECT_LE(e.used_blocks(), 4);
    if (steps > 1 && s.prefill_tokens > 0) recompute_prefill = s.prefill_tokens;
    for (const FinishedRequest& f : s.finished) {
      finish_order.push_back(f.id);
      EXPECT_EQ(f.output_tokens, 40);
      if (f.id == 2) {
        EXPECT_GE(f.preemptions, 1);
      }
    }
    t = s.end();
    ++steps;
  }
  EXPECT_GE(preempted_2, 1u);
  EXPECT_EQ(e.stats().preemptions_total, preempted_2);
  ASSERT_EQ(finish_order.size(), 2u);
  EXPECT_EQ(finish_order[0], 1u);
  // Recompute rebuilds the prompt plus the tokens generated before preemption.
  EXPECT_GT(recompute_prefill, 16);
  EXPECT_EQ(e.stats().generation_tokens_total, 80u);
  EXPECT_EQ(e.used_blocks(), 0);
}

TEST(EngineModel, AdmissionWaitsForFreeBlocks) {
  Engine e(TestProfile(), Opts(8, 512, 4));
  Timestamp t{};
  ASSERT_TRUE(e.Add(Req(1, 48, 2), t).ok());  // 3 blocks for the prompt
  ASSERT_TRUE(e.Add(Req(2, 20, 2), t).ok());  // needs 2 blocks: only 1 left
  const StepResult& s = e.Step(t);
  EXPECT_EQ(s.num_scheduled_seqs, 1);
  EngineStats st = e.stats();
  EXPECT_EQ(st.num_waiting, 1);
  EXPECT_DOUBLE_EQ(st.kv_usage, 0.75);
  // Request 1 finishes after its second token; request 2 is then admitted.
  t = e.Step(s.end()).end();
  const StepResult& s3 = e.Step(t);
  ASSERT_EQ(s3.started.size(), 1u);
  EXPECT_EQ(s3.started[0], 2u);
}

TEST(EngineModel, RejectsRequestsThatCanNeverRun) {
  Engine e(TestProfile(), Opts(8, 512, 4));
  Timestamp t{};
  EXPECT_EQ(e.Add(Req(1, 60, 10), t).error().code, core::Code::kResourceExhausted);
  EXPECT_EQ(e.Add(Req(2, 0, 10), t).error().code, core::Code::kInvalidArgument);
  EXPECT_EQ(e.Add(Req(3, 4000, 200), t).error().code, core::Code::kInvalidArgument);
  ASSERT_TRUE(e.Add(Req(4, 10, 10), t).ok());
  EXPECT_EQ(e.Add(Req(4, 10, 10), t).error().code, core::Code::kInvalidArgument);
}

TEST(EngineModel, AbortFreesBlocksAndRecordsTimes) {
  Engine e(TestProfile(), Opts(8, 512, 100));
  Timestamp t{};
  ASSERT_TRUE(e.Add(Req(1, 40, 100), t).ok());
  ASSERT_TRUE(e.Add(Req(2, 40, 100), t).ok());
  t = e.Step(t).end();
  EXPECT_GT(e.used_blocks(), 0);
  auto f = e.Abort(1, t);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->reason, FinishReason::kAbort);
  EXPECT_EQ(f->output_tokens, 1);
  EXPECT_EQ(f->first_token, t);
  EXPECT_FALSE(e.Abort(1, t).has_value());
  ASSERT_TRUE(e.Abort(2, t).has_value());
  EXPECT_EQ(e.used_blocks(), 0);
  EXPECT_FALSE(e.HasWork());
  // A waiting request can be aborted too.
  ASSERT_TRUE(e.Add(Req(3, 40, 100), t).ok());
  EXPECT_TRUE(e.Abort(3, t).has_value());
  EXPECT_FALSE(e.HasWork());
}

TEST(EngineModel, LifecycleTimestampsFollowTheSteps) {
  Engine e(TestProfile(), Opts(1, 512, 100));
  Timestamp arrival{milliseconds(5)};
  ASSERT_TRUE(e.Add(Req(1, 10, 2), arrival).ok());
  ASSERT_TRUE(e.Add(Req(2, 10, 2), arrival).ok());
  Timestamp t = arrival + milliseconds(1);
  const StepResult& s1 = e.Step(t);
  Timestamp first = s1.end();
  const StepResult& s2 = e.Step(first);
  ASSERT_EQ(s2.finished.size(), 1u);
  const FinishedRequest& f = s2.finished[0];
  EXPECT_EQ(f.arrival, arrival);
  EXPECT_EQ(f.scheduled, t);
  EXPECT_EQ(f.first_token, first);
  EXPECT_EQ(f.finished, s2.end());
  // Request 2 queued until request 1 left (max_num_seqs = 1).
  Timestamp t3 = s2.end();
  const StepResult& s3 = e.Step(t3);
  ASSERT_EQ(s3.started.size(), 1u);
  const StepResult& s4 = e.Step(s3.end());
  ASSERT_EQ(s4.finished.size(), 1u);
  EXPECT_EQ(s4.finished[0].scheduled, t3);
}

TEST(EngineModel, ActivityWeightsSplitComputeAndMemoryTime) {
  Engine e(TestProfile(), Opts(8, 512, 1000));
  Timestamp t{};
  ASSERT_TRUE(e.Add(Req(1, 500, 2), t).ok());
  const StepResult& s = e.Step(t);
  // compute 0.5 ms, memory 1 ms + 500 ns, overhead 1 ms.
  double total = 0.5e-3 + 1.0005e-3 + 1e-3;
  EXPECT_NEAR(s.activity.sm, 0.5e-3 / total, 1e-9);
  EXPECT_NEAR(s.activity.tensor, 0.5e-3 / total, 1e-9);
  EXPECT_NEAR(s.activity.dram, 1.0005e-3 / total, 1e-9);
}

TEST(EngineModel, MemoryUsedIsWeightsPlusAllocatedBlocks) {
  Engine e(TestProfile(), Opts(8, 512, 1000));
  EXPECT_DOUBLE_EQ(e.memory_used_bytes(), 1000);
  ASSERT_TRUE(e.Add(Req(1, 17, 5), Timestamp{}).ok());
  (void)e.Step(Timestamp{});
  EXPECT_DOUBLE_EQ(e.memory_used_bytes(), 1000 + 2 * 16 * 10);
}

// The whole step sequence is a function of the calls: two engines fed the same requests agree.
TEST(EngineModel, DeterministicForTheSameInputs) {
  auto run = [](std::uint64_t seed) {
    Engine e(TestProfile(), Opts(4, 128, 40));
    core::Rng rng(seed);
    OutputLengthDist dist{OutputLengthDist::Kind::kNormal, 40, 20};
    std::vector<std::int64_t> trace;
    Timestamp t{};
    RequestId id = 0;
    for (int i = 0; i < 400; ++i) {
      if (rng.Uniform() < 0.3) {
        OutputLength out = ChooseOutputLength(dist, rng, 100, false, 4096);
        RequestSpec spec{id++, static_cast<int>(rng.UniformInt(1, 200)), out.tokens, out.reason};
        if (!e.Add(spec, t).ok()) continue;
      }
      if (!e.HasWork()) {
        t += milliseconds(1);
        continue;
      }
      const StepResult& s = e.Step(t);
      trace.push_back(s.duration.count());
      trace.push_back(s.num_scheduled_seqs);
      trace.push_back(static_cast<std::int64_t>(s.preempted.size()));
      t = s.end();
    }
    return trace;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(OutputLength, IgnoreEosRunsToMaxTokens) {
  core::Rng rng(1);
  OutputLengthDist dist;
  OutputLength o = ChooseOutputLength(dist, rng, 64, true, 1000);
  EXPECT_EQ(o.tokens, 64);
  EXPECT_EQ(o.reason, FinishReason::kLength);
}

TEST(OutputLength, EosBeyondTheCapEndsWithLength) {
  core::Rng rng(1);
  OutputLengthDist fixed{OutputLengthDist::Kind::kFixed, 50, 0};
  EXPECT_EQ(ChooseOutputLength(fixed, rng, 10, false, 1000).reason, FinishReason::kLength);
  EXPECT_EQ(ChooseOutputLength(fixed, rng, 10, false, 1000).tokens, 10);
  OutputLength stop = ChooseOutputLength(fixed, rng, 100, false, 1000);
  EXPECT_EQ(stop.tokens, 50);
  EXPECT_EQ(stop.reason, FinishReason::kStop);
  // Without max_tokens the context limit caps it.
  EXPECT_EQ(ChooseOutputLength(fixed, rng, std::nullopt, false, 30).tokens, 30);
}

TEST(OutputLength, SameSeedSameLengths) {
  OutputLengthDist d{OutputLengthDist::Kind::kLogNormal, 4, 1};
  core::Rng a(42), b(42);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(ChooseOutputLength(d, a, std::nullopt, false, 10000).tokens,
              ChooseOutputLength(d, b, std::nullopt, false, 10000).tokens);
  }
}

TEST(OutputLength, ParsesAndNamesBadText) {
  auto d = ParseOutputLengthDist("uniform:10:200");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->kind, OutputLengthDist::Kind::kUniform);
  EXPECT_EQ(d->a, 10);
  EXPECT_EQ(d->b, 200);
  EXPECT_EQ(d->ToString(), "uniform:10:200");
  EXPECT_TRUE(ParseOutputLengthDist("fixed:128").ok());
  EXPECT_TRUE(ParseOutputLengthDist("exponential:100").ok());
  auto bad = ParseOutputLengthDist("normal:40");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("'normal' takes 2 number(s), found 1"), std::string::npos);
  auto bad2 = ParseOutputLengthDist("gamma:1:2");
  ASSERT_FALSE(bad2.ok());
  EXPECT_NE(bad2.error().message.find("unknown kind 'gamma'"), std::string::npos);
  auto bad3 = ParseOutputLengthDist("fixed:abc");
  ASSERT_FALSE(bad3.ok());
  EXPECT_NE(bad3.error().message.find("expected a number, found 'abc'"), std::string::npos);
  EXPECT_FALSE(ParseOutputLengthDist("uniform:20:10").ok());
}

}  // namespace
}  // namespace gpuscale::engine
