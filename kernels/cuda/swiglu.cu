// SwiGLU activation on the fused up-projection output.
#include "kernels/cuda/moe_kernels.hpp"
#include "kernels/cuda/vec_access.cuh"
#include "kernels/cuda/cuda_check.hpp"

namespace moeb::cuda {

namespace {

constexpr int kThreads = 256;

__global__ void swiglu_kernel(const float* __restrict__ h13, int64_t rows, int64_t ffn,
                              bf16* __restrict__ out) {
  const int64_t total = rows * ffn;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / ffn;
    const int64_t f = i - r * ffn;
    const float gate = h13[r * 2 * ffn + f];
    const float up = h13[r * 2 * ffn + ffn + f];
    const float silu = gate / (1.0f + __expf(-gate));
    out[i] = __float2bfloat16(silu * up);
  }
}

}  // namespace

void swiglu(const float* h13, int64_t rows, int64_t ffn, bf16* out, cudaStream_t stream) {
  if (rows <= 0 || ffn <= 0) return;
  swiglu_kernel<<<detail::grid_for(rows * ffn, kThreads), kThreads, 0, stream>>>(h13, rows, ffn,
                                                                                 out);
  MOEB_CHECK_LAUNCH("swiglu");
}

}  // namespace moeb::cuda
