#include "engine/profile.h"

#include <gtest/gtest.h>

namespace gpuscale::engine {
namespace {

TEST(EngineProfile, BuiltinsAreCompleteAndCiteASource) {
  ASSERT_GE(BuiltinProfiles().size(), 3u);
  for (const Profile& p : BuiltinProfiles()) {
    SCOPED_TRACE(p.name);
    EXPECT_FALSE(p.model.empty());
    EXPECT_FALSE(p.gpu_name.empty());
    EXPECT_GT(p.weight_bytes, 0);
    EXPECT_GT(p.kv_bytes_per_token, 0);
    EXPECT_GT(p.step_overhead_s, 0);
    EXPECT_GT(p.prefill_per_token_s, 0);
    EXPECT_GT(p.max_model_len, 0);
    EXPECT_NE(p.source.find("reference"), std::string::npos);
    // The cache must hold at least one full-length request.
    EXPECT_GE(KvBlocks(p, 16) * 16, p.max_model_len);
  }
}

TEST(EngineProfile, GemmaOnL4MatchesTheDerivation) {
  auto p = FindProfile("gemma-3-1b-it-l4");
  ASSERT_TRUE(p.ok());
  // 1.9134 GiB at 300 GB/s: ~6.8 ms per step (reference §5.1 says ~6.5 ms for "1.9 GB").
  EXPECT_NEAR(p->weight_read_s, 6.85e-3, 0.05e-3);
  EXPECT_EQ(p->default_max_num_seqs, 256);
  EXPECT_EQ(p->default_max_num_batched_tokens, 2048);
  // (23034 MiB x 0.9 - 1.91 GiB - 1 GiB) / (26,624 B x 16) ≈ 44k blocks ≈ 700k tokens.
  std::int64_t blocks = KvBlocks(*p, 16);
  EXPECT_GT(blocks, 40000);
  EXPECT_LT(blocks, 48000);
}

TEST(EngineProfile, UnknownNameListsTheKnownOnes) {
  auto p = FindProfile("gpt-5-on-a-toaster");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, core::Code::kNotFound);
  EXPECT_NE(p.error().message.find("gemma-3-1b-it-l4"), std::string::npos);
}

}  // namespace
}  // namespace gpuscale::engine
