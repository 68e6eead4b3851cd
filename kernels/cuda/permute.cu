// Token permute (gather) and unpermute (scatter) by plan indices.
#include "kernels/cuda/moe_kernels.hpp"
#include "kernels/cuda/vec_access.cuh"
#include "kernels/cuda/cuda_check.hpp"

namespace moeb::cuda {

namespace {

constexpr int kThreads = 256;

// kScatter == false: dst[i] = src[index[i]]; true: dst[index[i]] = src[i]. T is uint4 (8 bf16)
// or bf16; `row_units` counts T per row.
template <typename T, bool kScatter>
__global__ void move_rows_kernel(const T* __restrict__ src, const int32_t* __restrict__ index,
                                 int64_t rows, int64_t row_units, T* __restrict__ dst) {
  const int64_t total = rows * row_units;
  for (int64_t u = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; u < total;
       u += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = u / row_units;
    const int64_t c = u - i * row_units;
    const int64_t other = index[i];
    if constexpr (kScatter)
      dst[other * row_units + c] = src[i * row_units + c];
    else
      dst[i * row_units + c] = src[other * row_units + c];
  }
}

template <bool kScatter>
void move_rows(const bf16* src, const int32_t* index, int64_t rows, int64_t row_elems, bf16* dst,
               cudaStream_t stream, const char* name) {
  if (rows <= 0 || row_elems <= 0) return;
  if (detail::can_vectorize(src, dst, row_elems)) {
    const int64_t units = row_elems / detail::kVecElems;
    move_rows_kernel<uint4, kScatter>
        <<<detail::grid_for(rows * units, kThreads), kThreads, 0, stream>>>(
            reinterpret_cast<const uint4*>(src), index, rows, units, reinterpret_cast<uint4*>(dst));
  } else {
    move_rows_kernel<bf16, kScatter>
        <<<detail::grid_for(rows * row_elems, kThreads), kThreads, 0, stream>>>(src, index, rows,
                                                                                row_elems, dst);
  }
  MOEB_CHECK_LAUNCH(name);
}

}  // namespace

void gather_rows(const bf16* src, const int32_t* index, int64_t rows, int64_t row_elems, bf16* dst,
                 cudaStream_t stream) {
  move_rows<false>(src, index, rows, row_elems, dst, stream, "gather_rows");
}

void scatter_rows(const bf16* src, const int32_t* index, int64_t rows, int64_t row_elems, bf16* dst,
                  cudaStream_t stream) {
  move_rows<true>(src, index, rows, row_elems, dst, stream, "scatter_rows");
}

}  // namespace moeb::cuda
