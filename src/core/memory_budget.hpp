// The memory budget in experts: slots per rank from the memory left for experts, with bytes
// per expert = expert_params * dtype bytes. Replicas consume slots like primaries.
#pragma once

#include <cstdint>
#include <string>

#include "core/model.hpp"

namespace moeb {

// Bytes of one element: fp32 4, bf16/fp16 2, fp8 1. Throws ConfigError naming `where`.
int dtype_bytes(const std::string& dtype, const std::string& where);
// Bytes of one routed expert's weights.
int64_t expert_bytes(const ModelSpec& model, const std::string& dtype, const std::string& where);
// Experts that fit in `memory_gib` GiB: floor(memory / expert_bytes).
int slots_from_memory(const ModelSpec& model, double memory_gib, const std::string& dtype,
                      const std::string& where);
// The run's slots per rank: `slots_per_rank` when > 0, else from `expert_memory_gib` when > 0,
// else ceil(E / R). Throws ConfigError naming `where` when the budget holds no expert at all.
int resolve_slots_per_rank(const ModelSpec& model, int num_ranks, int slots_per_rank,
                           double expert_memory_gib, const std::string& dtype,
                           const std::string& where);
// Throws ConfigError when slots_per_rank or slots_per_rank x num_ranks exceeds the documented
// limits (core/limits.hpp), before anything is sized from them.
void check_slot_limits(int slots_per_rank, int num_ranks, const std::string& where);

}  // namespace moeb
