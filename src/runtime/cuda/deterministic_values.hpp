// The base hashes and scales of core/expert_weights.cpp, so the CUDA backend generates expert
// weights on the device (uniform_element.hpp per element) bit-identical to the CPU reference. Pure;
// tests/unit/test_cuda_host_values.cpp checks it against fill_expert_matrix / fill_token_input
// element by element.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/expert_weights.hpp"
#include "core/rng.hpp"
#include "kernels/cuda/uniform_element.hpp"

namespace moeb::cudaval {

inline constexpr uint64_t kWeightTag = 0x5745494748545331ULL;  // "WEIGHTS1"
inline constexpr uint64_t kInputTag = 0x494E505554533031ULL;   // "INPUTS01"

inline uint64_t expert_matrix_base(uint64_t seed, int layer, int expert, ExpertMatrix which) {
  return hash_counters(seed, kWeightTag, static_cast<uint64_t>(layer),
                       static_cast<uint64_t>(expert), static_cast<uint64_t>(which));
}

// fan_in = rows of the matrix (the GEMM's K).
inline float expert_matrix_scale(int rows) { return static_cast<float>(std::sqrt(3.0 / rows)); }

inline uint64_t token_input_base(uint64_t seed, int layer, int64_t token) {
  return hash_counters(seed, kInputTag, static_cast<uint64_t>(layer), static_cast<uint64_t>(token));
}

}  // namespace moeb::cudaval
