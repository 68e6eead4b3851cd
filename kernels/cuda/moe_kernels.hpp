// CUDA kernels of the MoE layer. Host-callable launchers; the index arrays come from the core
// DispatchPlan (converted to int32 by the CUDA backend), so no placement logic lives here.
// Every launcher enqueues on `stream` and checks the launch (throws moeb::CudaError).
// Row buffers are row-major [rows x row_elems]; bf16 rows use 16-byte vector accesses when
// row_elems % 8 == 0 and both base pointers are 16-byte aligned, scalar accesses otherwise.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <cstdint>

namespace moeb::cuda {

using bf16 = __nv_bfloat16;

// Permute (gather): dst[i, :] = src[index[i], :] for i in [0, rows).
void gather_rows(const bf16* src, const int32_t* index, int64_t rows, int64_t row_elems, bf16* dst,
                 cudaStream_t stream);

// Unpermute (scatter): dst[index[i], :] = src[i, :] for i in [0, rows). Indices must be distinct.
void scatter_rows(const bf16* src, const int32_t* index, int64_t rows, int64_t row_elems, bf16* dst,
                  cudaStream_t stream);

// Gate-weighted combine, a CSR gather-reduce with fp32 accumulation in a fixed order (no
// atomics, deterministic): out[r, :] = sum_{q in [offsets[r], offsets[r+1])} w_q * src[index[q], :]
// with w_q = weight[q], or 1 when weight == nullptr. Rows with no entries become zero.
void combine_rows(const float* src, const int64_t* offsets, const int32_t* index,
                  const float* weight, int64_t out_rows, int64_t row_elems, bf16* out,
                  cudaStream_t stream);
// (bf16 -> fp32; with `accumulate` the sum is added to out instead of replacing it.)
void combine_rows(const bf16* src, const int64_t* offsets, const int32_t* index,
                  const float* weight, int64_t out_rows, int64_t row_elems, float* out,
                  cudaStream_t stream, bool accumulate = false);

// SwiGLU on the fused up-projection: h13 is [rows x 2F] (x W1 | x W3),
// out[r, f] = silu(h13[r, f]) * h13[r, F + f], out is [rows x F].
void swiglu(const float* h13, int64_t rows, int64_t ffn, bf16* out, cudaStream_t stream);

// Top-k gate for synthetic runs: softmax over logits [tokens x num_experts], the top_k largest
// (ties -> lower expert id) written to experts/weights [tokens x top_k] in descending order;
// with `renormalize` the k weights are divided by their sum. num_experts <= 1024, top_k <= 32.
void topk_gate(const float* logits, int64_t tokens, int num_experts, int top_k, bool renormalize,
               int32_t* experts, float* weights, cudaStream_t stream);

// Deterministic fills with the formula of core/expert_weights (see deterministic_values.hpp):
// element i = (2 u(splitmix64(base + i)) - 1) * scale. dst_row_stride lets W1 and W3 be written
// interleaved into one fused [rows x 2F] matrix: element (r, c) of a rows x cols matrix goes to
// dst[r * dst_row_stride + c].
void fill_uniform_bf16(uint64_t base, float scale, int64_t rows, int64_t cols,
                       int64_t dst_row_stride, bf16* dst, cudaStream_t stream);

// Converts n floats to bf16 (round to nearest even).
void convert_f32_to_bf16(const float* src, int64_t n, bf16* dst, cudaStream_t stream);

// Writes `bytes` of `buffer` (an L2-sized scratch buffer) so the next phase starts with a cold L2.
void flush_l2(void* buffer, size_t bytes, cudaStream_t stream);

}  // namespace moeb::cuda
