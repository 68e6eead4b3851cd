// The memory budget in slots (core/memory_budget): bytes per expert = expert_params * dtype bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "core/memory_budget.hpp"
#include "core/model.hpp"
#include "core/trace.hpp"

namespace moeb {
namespace {

TEST(StrategiesBudget, SlotsFromExpertMemory) {
  const ModelSpec& m = model_preset("deepseek-v3");  // 3 * 7168 * 2048 params per expert
  EXPECT_EQ(expert_bytes(m, "bf16", "test"), 3LL * 7168 * 2048 * 2);
  EXPECT_EQ(expert_bytes(m, "fp8", "test"), 3LL * 7168 * 2048);
  // 84 MiB per bf16 expert: 1 GiB holds 12 of them.
  EXPECT_EQ(slots_from_memory(m, 1.0, "bf16", "test"), 12);
  EXPECT_EQ(slots_from_memory(m, 1.0, "fp8", "test"), 24);
}

TEST(StrategiesBudget, ResolveSlotsPrefersExplicitThenMemoryThenMinimum) {
  const ModelSpec& m = model_preset("deepseek-v3");
  EXPECT_EQ(resolve_slots_per_rank(m, 256, 3, 1.0, "bf16", "t"), 3);
  EXPECT_EQ(resolve_slots_per_rank(m, 256, 0, 1.0, "bf16", "t"), 12);
  EXPECT_EQ(resolve_slots_per_rank(m, 60, 0, 0.0, "bf16", "t"), 5);  // ceil(256 / 60)
}

TEST(StrategiesBudget, RejectsBudgetsThatHoldNoExpertWithOneLine) {
  const ModelSpec& m = model_preset("deepseek-v3");
  try {
    resolve_slots_per_rank(m, 8, 0, 0.01, "bf16", "suite.toml: key 'placement'");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("suite.toml: key 'placement'"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos);
  }
  EXPECT_THROW(dtype_bytes("int3", "t"), ConfigError);
  EXPECT_THROW(resolve_slots_per_rank(m, 8, -1, 0, "bf16", "t"), ConfigError);
}

// Checked arithmetic on sizes from input (issue 17): nothing converts or multiplies past what
// its type holds; each case is one ConfigError line.
TEST(StrategiesBudget, HugeBudgetsAreRefusedNotConverted) {
  const ModelSpec& m = model_preset("deepseek-v3");
  const double inf = std::numeric_limits<double>::infinity();
  for (double gib : {inf, 1e300, std::nan("")})
    EXPECT_THROW(slots_from_memory(m, gib, "bf16", "t"), ConfigError) << gib;
  EXPECT_THROW(resolve_slots_per_rank(m, 8, 0, 1e300, "bf16", "t"), ConfigError);
  EXPECT_THROW(resolve_slots_per_rank(m, 8, 2147483647, 0, "bf16", "t"), ConfigError);
  // Within the per-rank limit, but slots x ranks past 2^24 physical slots per layer.
  EXPECT_THROW(resolve_slots_per_rank(m, 65536, 65536, 0, "bf16", "t"), ConfigError);
  EXPECT_EQ(resolve_slots_per_rank(m, 256, 65536, 0, "bf16", "t"), 65536);
}

TEST(StrategiesBudget, ProductWithinDetectsOverflowAndLimits) {
  EXPECT_EQ(product_within(3, 4), 12);
  EXPECT_EQ(product_within(int64_t{1} << 40, int64_t{1} << 30), std::nullopt);  // overflows
  EXPECT_EQ(product_within(1000, 1000, 999999), std::nullopt);                  // past limit
  EXPECT_EQ(product_within(-1, 5), std::nullopt);
  EXPECT_EQ(product_within(1 << 10, 1 << 10, 1 << 10, int64_t{1} << 30), int64_t{1} << 30);
  EXPECT_EQ(product_within(1 << 10, 1 << 10, (1 << 10) + 1, int64_t{1} << 30), std::nullopt);
}

TEST(StrategiesBudget, ModelDimensionsPastTheLimitsAreRefused) {
  ModelSpec m = model_preset("mixtral-8x7b");
  m.hidden = 1000000000;
  EXPECT_THROW(validate_model(m, "t"), ConfigError);
  m = model_preset("mixtral-8x7b");
  m.num_experts = 1000000;
  m.top_k = 1000000;
  EXPECT_THROW(validate_model(m, "t"), ConfigError);
  // A routing trace sized past the entries held at once is refused before allocating.
  EXPECT_THROW(RoutingTrace(4096, 1024, 8, int64_t{1} << 40), InputError);
  EXPECT_NO_THROW(RoutingTrace(2, 2, 8, 16));
}

}  // namespace
}  // namespace moeb
