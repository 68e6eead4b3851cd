// Top-k softmax gate for pure synthetic runs: one warp per token.
#include <cfloat>

#include "core/error.hpp"
#include "kernels/cuda/moe_kernels.hpp"
#include "kernels/cuda/cuda_check.hpp"

namespace moeb::cuda {

namespace {

constexpr int kWarpsPerBlock = 4;
constexpr int kMaxExperts = 1024;
constexpr int kMaxTopK = 32;

// a beats b: larger value, ties -> lower index.
__device__ inline bool better(float va, int ia, float vb, int ib) {
  return va > vb || (va == vb && ia >= 0 && (ib < 0 || ia < ib));
}

__global__ void topk_gate_kernel(const float* __restrict__ logits, int64_t tokens, int num_experts,
                                 int top_k, bool renormalize, int32_t* __restrict__ experts,
                                 float* __restrict__ weights) {
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  const int64_t warps_total = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t t = blockIdx.x * static_cast<int64_t>(kWarpsPerBlock) + warp; t < tokens;
       t += warps_total) {
    const float* row = logits + t * num_experts;
    float mx = -FLT_MAX;
    for (int e = lane; e < num_experts; e += 32) mx = fmaxf(mx, row[e]);
    for (int o = 16; o > 0; o /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    float sum = 0.0f;
    for (int e = lane; e < num_experts; e += 32) sum += __expf(row[e] - mx);
    for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);

    int chosen[kMaxTopK];
    float picked_sum = 0.0f;
    for (int j = 0; j < top_k; ++j) {
      float best_v = -FLT_MAX;
      int best_i = -1;
      for (int e = lane; e < num_experts; e += 32) {
        bool taken = false;
        for (int i = 0; i < j; ++i) taken |= chosen[i] == e;
        if (!taken && better(row[e], e, best_v, best_i)) {
          best_v = row[e];
          best_i = e;
        }
      }
      for (int o = 16; o > 0; o /= 2) {
        const float ov = __shfl_xor_sync(0xffffffffu, best_v, o);
        const int oi = __shfl_xor_sync(0xffffffffu, best_i, o);
        if (better(ov, oi, best_v, best_i)) {
          best_v = ov;
          best_i = oi;
        }
      }
      chosen[j] = best_i;
      const float w = __expf(best_v - mx) / sum;
      picked_sum += w;
      if (lane == 0) {
        experts[t * top_k + j] = best_i;
        weights[t * top_k + j] = w;
      }
    }
    if (renormalize && lane == 0 && picked_sum > 0.0f)
      for (int j = 0; j < top_k; ++j) weights[t * top_k + j] /= picked_sum;
  }
}

}  // namespace

void topk_gate(const float* logits, int64_t tokens, int num_experts, int top_k, bool renormalize,
               int32_t* experts, float* weights, cudaStream_t stream) {
  if (num_experts < 1 || num_experts > kMaxExperts || top_k < 1 || top_k > kMaxTopK ||
      top_k > num_experts)
    throw Error(
        "topk_gate: need 1 <= top_k <= min(32, num_experts) and num_experts <= 1024, got "
        "top_k=" +
        std::to_string(top_k) + ", num_experts=" + std::to_string(num_experts));
  if (tokens <= 0) return;
  const int64_t blocks64 = (tokens + kWarpsPerBlock - 1) / kWarpsPerBlock;
  const unsigned blocks = static_cast<unsigned>(blocks64 > 65535 * 4 ? 65535 * 4 : blocks64);
  topk_gate_kernel<<<blocks, kWarpsPerBlock * 32, 0, stream>>>(logits, tokens, num_experts, top_k,
                                                               renormalize, experts, weights);
  MOEB_CHECK_LAUNCH("topk_gate");
}

}  // namespace moeb::cuda
