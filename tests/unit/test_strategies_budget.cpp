// The memory budget in slots (core/memory_budget): bytes per expert = expert_params * dtype bytes.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "core/model.hpp"

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

}  // namespace
}  // namespace moeb
