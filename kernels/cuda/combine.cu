// Gate-weighted combine: CSR gather-reduce with fp32 accumulation in plan order.
#include "kernels/cuda/moe_kernels.hpp"
#include "kernels/cuda/vec_access.cuh"
#include "kernels/cuda/cuda_check.hpp"

namespace moeb::cuda {

namespace {

constexpr int kThreads = 128;

__device__ inline float to_f32(float v) { return v; }
__device__ inline float to_f32(bf16 v) { return __bfloat162float(v); }
__device__ inline void store(float* p, float v, bool accumulate) { *p = accumulate ? *p + v : v; }
__device__ inline void store(bf16* p, float v, bool) { *p = __float2bfloat16(v); }

// One block per output row (grid-stride over rows); threads stride over the row's columns.
template <typename In, typename Out>
__global__ void combine_kernel(const In* __restrict__ src, const int64_t* __restrict__ offsets,
                               const int32_t* __restrict__ index, const float* __restrict__ weight,
                               int64_t out_rows, int64_t row_elems, Out* __restrict__ out,
                               bool accumulate) {
  for (int64_t r = blockIdx.x; r < out_rows; r += gridDim.x) {
    const int64_t q0 = offsets[r], q1 = offsets[r + 1];
    for (int64_t c = threadIdx.x; c < row_elems; c += blockDim.x) {
      float acc = 0.0f;
      for (int64_t q = q0; q < q1; ++q) {
        const float w = weight != nullptr ? weight[q] : 1.0f;
        acc += w * to_f32(src[static_cast<int64_t>(index[q]) * row_elems + c]);
      }
      store(&out[r * row_elems + c], acc, accumulate);
    }
  }
}

// bf16 input, 8 columns per thread through one 16-byte load per source row.
__global__ void combine_bf16_vec_kernel(const uint4* __restrict__ src,
                                        const int64_t* __restrict__ offsets,
                                        const int32_t* __restrict__ index,
                                        const float* __restrict__ weight, int64_t out_rows,
                                        int64_t row_units, float* __restrict__ out,
                                        bool accumulate) {
  for (int64_t r = blockIdx.x; r < out_rows; r += gridDim.x) {
    const int64_t q0 = offsets[r], q1 = offsets[r + 1];
    for (int64_t u = threadIdx.x; u < row_units; u += blockDim.x) {
      float acc[detail::kVecElems] = {};
      for (int64_t q = q0; q < q1; ++q) {
        const float w = weight != nullptr ? weight[q] : 1.0f;
        const uint4 v = src[static_cast<int64_t>(index[q]) * row_units + u];
        const bf16* e = reinterpret_cast<const bf16*>(&v);
#pragma unroll
        for (int i = 0; i < detail::kVecElems; ++i) acc[i] += w * __bfloat162float(e[i]);
      }
      float* o = out + (r * row_units + u) * detail::kVecElems;
#pragma unroll
      for (int i = 0; i < detail::kVecElems; ++i) o[i] = accumulate ? o[i] + acc[i] : acc[i];
    }
  }
}

unsigned row_grid(int64_t rows) {
  return static_cast<unsigned>(rows < 1 ? 1 : (rows > 65535 * 4 ? 65535 * 4 : rows));
}

}  // namespace

void combine_rows(const float* src, const int64_t* offsets, const int32_t* index,
                  const float* weight, int64_t out_rows, int64_t row_elems, bf16* out,
                  cudaStream_t stream) {
  if (out_rows <= 0 || row_elems <= 0) return;
  combine_kernel<float, bf16><<<row_grid(out_rows), kThreads, 0, stream>>>(
      src, offsets, index, weight, out_rows, row_elems, out, false);
  MOEB_CHECK_LAUNCH("combine_rows(f32->bf16)");
}

void combine_rows(const bf16* src, const int64_t* offsets, const int32_t* index,
                  const float* weight, int64_t out_rows, int64_t row_elems, float* out,
                  cudaStream_t stream, bool accumulate) {
  if (out_rows <= 0 || row_elems <= 0) return;
  if (detail::can_vectorize(src, out, row_elems)) {
    combine_bf16_vec_kernel<<<row_grid(out_rows), kThreads, 0, stream>>>(
        reinterpret_cast<const uint4*>(src), offsets, index, weight, out_rows,
        row_elems / detail::kVecElems, out, accumulate);
  } else {
    combine_kernel<bf16, float><<<row_grid(out_rows), kThreads, 0, stream>>>(
        src, offsets, index, weight, out_rows, row_elems, out, accumulate);
  }
  MOEB_CHECK_LAUNCH("combine_rows(bf16->f32)");
}

}  // namespace moeb::cuda
