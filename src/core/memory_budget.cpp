#include "core/memory_budget.hpp"

#include <cmath>
#include <sstream>

#include "core/error.hpp"
#include "core/limits.hpp"

namespace moeb {

namespace {
std::string gib_text(double gib) {  // 1e+300, not 300 digits
  std::ostringstream os;
  os << gib;
  return os.str();
}
}  // namespace

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
  if (!std::isfinite(memory_gib) || memory_gib < 0)
    throw ConfigError(where + ": expert_memory_gib: expected a finite number >= 0, got " +
                      gib_text(memory_gib));
  const double bytes = memory_gib * 1024.0 * 1024.0 * 1024.0;
  const double slots = std::floor(bytes / static_cast<double>(per));
  // Checked before the conversion to int (which is undefined past INT_MAX).
  if (slots > limits::kMaxSlotsPerRank)
    throw ConfigError(where + ": expert_memory_gib = " + gib_text(memory_gib) +
                      " holds more than " + std::to_string(limits::kMaxSlotsPerRank) +
                      " experts of " + std::to_string(per) + " bytes per rank (documented limit " +
                      "of slots_per_rank)");
  return static_cast<int>(slots);
}

int resolve_slots_per_rank(const ModelSpec& model, int num_ranks, int slots_per_rank,
                           double expert_memory_gib, const std::string& dtype,
                           const std::string& where) {
  if (slots_per_rank < 0)
    throw ConfigError(where + ": slots_per_rank must be >= 0 (0 = ceil(E/R)), got " +
                      std::to_string(slots_per_rank));
  if (num_ranks < 1 || num_ranks > limits::kMaxRanks)
    throw ConfigError(where + ": expected 1 to " + std::to_string(limits::kMaxRanks) +
                      " ranks (documented limit), got " + std::to_string(num_ranks));
  int slots = 0;
  if (slots_per_rank > 0) {
    slots = slots_per_rank;
  } else if (expert_memory_gib > 0) {
    slots = slots_from_memory(model, expert_memory_gib, dtype, where);
    if (slots < 1)
      throw ConfigError(where + ": expert_memory_gib = " + std::to_string(expert_memory_gib) +
                        " holds no expert of " +
                        std::to_string(expert_bytes(model, dtype, where)) + " bytes (" + dtype +
                        ")");
  } else if (expert_memory_gib < 0 || std::isnan(expert_memory_gib)) {
    throw ConfigError(where + ": expert_memory_gib must be >= 0, got " +
                      std::to_string(expert_memory_gib));
  } else {
    slots = (model.num_experts + num_ranks - 1) / num_ranks;
  }
  check_slot_limits(slots, num_ranks, where);
  return slots;
}

void check_slot_limits(int slots_per_rank, int num_ranks, const std::string& where) {
  if (slots_per_rank > limits::kMaxSlotsPerRank)
    throw ConfigError(where + ": slots_per_rank: expected at most " +
                      std::to_string(limits::kMaxSlotsPerRank) + " (documented limit), got " +
                      std::to_string(slots_per_rank));
  if (!product_within(slots_per_rank, num_ranks, limits::kMaxSlots))
    throw ConfigError(where + ": slots_per_rank x ranks = " + std::to_string(slots_per_rank) +
                      " x " + std::to_string(num_ranks) + " exceeds the documented limit of " +
                      std::to_string(limits::kMaxSlots) + " slots per layer");
}

}  // namespace moeb
