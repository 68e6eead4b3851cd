// 16-byte vector access helpers shared by the row kernels.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

namespace moeb::cuda::detail {

constexpr int kVecElems = 8;  // bf16 elements per 16-byte vector

// True when rows of `row_elems` bf16 at these bases can be moved as uint4.
inline bool can_vectorize(const void* a, const void* b, int64_t row_elems) {
  return row_elems % kVecElems == 0 && reinterpret_cast<uintptr_t>(a) % 16 == 0 &&
         reinterpret_cast<uintptr_t>(b) % 16 == 0;
}

// Blocks for a grid-stride loop over `work` items, capped to keep launch cheap.
inline unsigned grid_for(int64_t work, int threads) {
  const int64_t blocks = (work + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 4 ? 65535 * 4 : blocks));
}

}  // namespace moeb::cuda::detail
