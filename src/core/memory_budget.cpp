#include "core/memory_budget.hpp"

#include <cmath>

#include "core/error.hpp"

namespace moeb {

int dtype_bytes(const std::string& dtype, const std::string& where) {
  if (dtype == "fp32") return 4;
  if (dtype == "bf16" || dtype == "fp16") return 2;
  if (dtype == "fp8") return 1;
  throw ConfigError(where + ": expected a dtype of fp32, bf16, fp16 or fp8; got '" + dtype + "'");
}

int64_t expert_bytes(const ModelSpec& model, const std::string& dtype, const std::string& where) {
  return static_cast<int64_t>(model.expert_params()) * dtype_bytes(dtype, where);
}

int slots_from_memory(const ModelSpec& model, double memory_gib, const std::string& dtype,
                      const std::string& where) {
  const int64_t per = expert_bytes(model, dtype, where);
  if (per <= 0) throw ConfigError(where + ": model has zero-sized experts");
  const double bytes = memory_gib * 1024.0 * 1024.0 * 1024.0;
  return static_cast<int>(std::floor(bytes / static_cast<double>(per)));
}

int resolve_slots_per_rank(const ModelSpec& model, int num_ranks, int slots_per_rank,
                           double expert_memory_gib, const std::string& dtype,
                           const std::string& where) {
  if (slots_per_rank < 0)
    throw ConfigError(where + ": slots_per_rank must be >= 0 (0 = ceil(E/R)), got " +
                      std::to_string(slots_per_rank));
  if (slots_per_rank > 0) return slots_per_rank;
  if (expert_memory_gib > 0) {
    const int s = slots_from_memory(model, expert_memory_gib, dtype, where);
    if (s < 1)
      throw ConfigError(where + ": expert_memory_gib = " + std::to_string(expert_memory_gib) +
                        " holds no expert of " +
                        std::to_string(expert_bytes(model, dtype, where)) + " bytes (" + dtype +
                        ")");
    return s;
  }
  if (expert_memory_gib < 0)
    throw ConfigError(where + ": expert_memory_gib must be >= 0, got " +
                      std::to_string(expert_memory_gib));
  return (model.num_experts + num_ranks - 1) / num_ranks;
}

}  // namespace moeb
