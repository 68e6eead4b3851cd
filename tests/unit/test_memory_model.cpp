// The memory model against hand-computed figures for two presets (DeepSeek-V3 on H100 80 GB,
// Mixtral-8x7B on A100 80 GB): KV bytes per token, expert memory per rank, largest batch.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "core/memory_model.hpp"
#include "core/model.hpp"

namespace moeb {
namespace {

// Expert e of every layer on rank floor(e R / E) (one copy each), plus `extra` replicas of
// expert 0 of every layer on ranks 1..extra.
Placement contiguous(int E, int R, int L, int extra) {
  Placement p;
  p.num_ranks = R;
  p.layers.resize(L);
  for (auto& lp : p.layers) {
    lp.replicas.resize(E);
    for (int e = 0; e < E; ++e) lp.replicas[e] = {static_cast<int>(int64_t{e} * R / E)};
    for (int i = 1; i <= extra; ++i) lp.replicas[0].push_back(i);
  }
  return p;
}

TEST(MemoryModel, DeepSeekV3OnH100) {
  const ModelSpec& m = model_preset("deepseek-v3");
  // MLA: (kv_lora_rank 512 + qk_rope_head_dim 64) elements x 61 layers x 2 bytes.
  EXPECT_EQ(kv_bytes_per_token(m, 2), 576 * 61 * 2);
  EXPECT_EQ(kv_bytes_per_token(m, 2), 70272);
  // One expert in BF16: 3 x 7168 x 2048 x 2 = 88,080,384 bytes.
  EXPECT_EQ(expert_bytes(m, "bf16", "test"), 88080384);
  MemorySpec spec;
  spec.device_bytes = 80e9;
  spec.reserved_bytes = 10e9;
  spec.expert_bytes = 88080384;
  spec.kv_bytes_per_token = 70272;
  spec.context_tokens = 4096;
  // 8x8 ranks, 4 experts per rank per layer, 58 layers: 232 experts = 20,434,649,088 bytes;
  // KV left 80e9 - 10e9 - 20,434,649,088 = 49,565,350,912; one sequence 70272 x 4096 =
  // 287,834,112 bytes: 172 sequences per rank, 172 x 64 = 11,008 tokens per step.
  const MemoryFit base = fit_batch(contiguous(256, 64, 58, 0), spec, "test");
  EXPECT_TRUE(base.weights_fit);
  EXPECT_DOUBLE_EQ(base.expert_bytes[0], 20434649088.0);
  EXPECT_DOUBLE_EQ(base.kv_bytes[0], 49565350912.0);
  EXPECT_EQ(base.sequences_per_rank, 172);
  EXPECT_EQ(base.batch_tokens, 11008);
  // 8 replicas per layer on ranks 1..8: those hold 290 experts = 25,543,311,360 bytes; KV
  // left 44,456,688,640 -> 154 sequences (154.45); rank 1 binds.
  const MemoryFit rep = fit_batch(contiguous(256, 64, 58, 8), spec, "test");
  EXPECT_DOUBLE_EQ(rep.expert_bytes[1], 25543311360.0);
  EXPECT_EQ(rep.sequences_per_rank, 154);
  EXPECT_EQ(rep.binding_rank, 1);
  EXPECT_EQ(rep.batch_tokens, 154 * 64);
}

TEST(MemoryModel, Mixtral8x7bOnA100) {
  const ModelSpec& m = model_preset("mixtral-8x7b");
  // GQA: 2 (K, V) x 8 KV heads x 128 x 32 layers x 2 bytes = 131,072 bytes per token.
  EXPECT_EQ(kv_bytes_per_token(m, 2), 131072);
  MemorySpec spec;
  spec.device_bytes = 80e9;
  spec.expert_bytes = expert_bytes(m, "bf16", "test");  // 3 x 4096 x 14336 x 2 = 352,321,536
  EXPECT_EQ(spec.expert_bytes, 352321536);
  spec.kv_bytes_per_token = 131072;
  spec.context_tokens = 2048;
  // 1x8 ranks, one expert per rank per layer, 32 layers: 11,274,289,152 bytes; KV left
  // 68,725,710,848; one sequence 268,435,456 bytes: 256 sequences (256.02).
  const MemoryFit fit = fit_batch(contiguous(8, 8, 32, 0), spec, "test");
  EXPECT_DOUBLE_EQ(fit.expert_bytes[3], 11274289152.0);
  EXPECT_EQ(fit.sequences_per_rank, 256);
  EXPECT_EQ(fit.batch_tokens, 2048);
  // FP8 KV halves the bytes per token and doubles the batch.
  spec.kv_bytes_per_token = kv_bytes_per_token(m, 1);
  EXPECT_EQ(fit_batch(contiguous(8, 8, 32, 0), spec, "test").sequences_per_rank, 512);
}

TEST(MemoryModel, WeightsThatDoNotFitGiveNoBatch) {
  MemorySpec spec;
  spec.device_bytes = 1e9;
  spec.expert_bytes = 352321536;
  spec.kv_bytes_per_token = 131072;
  spec.context_tokens = 2048;
  const MemoryFit fit = fit_batch(contiguous(8, 8, 32, 0), spec, "test");
  EXPECT_FALSE(fit.weights_fit);
  EXPECT_EQ(fit.sequences_per_rank, 0);
  EXPECT_EQ(fit.batch_tokens, 0);
}

TEST(MemoryModel, MissingFiguresAreConfigErrors) {
  MemorySpec spec;
  spec.device_bytes = 80e9;
  spec.expert_bytes = 1;
  spec.context_tokens = 10;
  EXPECT_THROW(fit_batch(contiguous(8, 8, 1, 0), spec, "test"), ConfigError);  // no KV dims
  ModelSpec custom;
  EXPECT_EQ(kv_bytes_per_token(custom, 2), 0);
}

}  // namespace
}  // namespace moeb
