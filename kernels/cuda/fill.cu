// Deterministic weight/input fills (bit-identical to core/expert_weights), conversions, L2 flush.
#include "kernels/cuda/moe_kernels.hpp"
#include "kernels/cuda/vec_access.cuh"
#include "kernels/cuda/cuda_check.hpp"
#include "kernels/cuda/uniform_element.hpp"

namespace moeb::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void fill_uniform_kernel(uint64_t base, float scale, int64_t rows, int64_t cols,
                                    int64_t dst_row_stride, bf16* __restrict__ dst) {
  const int64_t total = rows * cols;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / cols;
    const int64_t c = i - r * cols;
    dst[r * dst_row_stride + c] =
        __float2bfloat16(cudaval::uniform_element(base, static_cast<uint64_t>(i), scale));
  }
}

__global__ void convert_kernel(const float* __restrict__ src, int64_t n, bf16* __restrict__ dst) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    dst[i] = __float2bfloat16(src[i]);
}

}  // namespace

void fill_uniform_bf16(uint64_t base, float scale, int64_t rows, int64_t cols,
                       int64_t dst_row_stride, bf16* dst, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  fill_uniform_kernel<<<detail::grid_for(rows * cols, kThreads), kThreads, 0, stream>>>(
      base, scale, rows, cols, dst_row_stride, dst);
  MOEB_CHECK_LAUNCH("fill_uniform_bf16");
}

void convert_f32_to_bf16(const float* src, int64_t n, bf16* dst, cudaStream_t stream) {
  if (n <= 0) return;
  convert_kernel<<<detail::grid_for(n, kThreads), kThreads, 0, stream>>>(src, n, dst);
  MOEB_CHECK_LAUNCH("convert_f32_to_bf16");
}

void flush_l2(void* buffer, size_t bytes, cudaStream_t stream) {
  if (buffer == nullptr || bytes == 0) return;
  // A memset streams through L2 and evicts what the previous phase left there.
  MOEB_CUDA_CHECK(cudaMemsetAsync(buffer, 0, bytes, stream));
}

}  // namespace moeb::cuda
