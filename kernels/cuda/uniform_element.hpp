// The per-element formula of core/expert_weights.cpp, C++17 and constexpr so CUDA kernels
// (nvcc --expt-relaxed-constexpr) evaluate it bit-identically on the device.
#pragma once

#include <cstdint>

#include "core/rng.hpp"

namespace moeb::cudaval {

// Element i of a stream with base hash `base`, uniform in [-scale, scale).
constexpr float uniform_element(uint64_t base, uint64_t i, float scale) {
  const double u = unit_double(splitmix64(base + i));
  return static_cast<float>((2.0 * u - 1.0) * scale);
}

}  // namespace moeb::cudaval
