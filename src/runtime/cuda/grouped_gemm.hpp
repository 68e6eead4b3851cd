// The grouped expert GEMMs: every problem C_i = A_i * B_i (column-major, no transposes) with
// bf16 A and B, fp32 C and fp32 accumulation, either as one cublasGemmGroupedBatchedEx call
// (one group per expert: experts differ in their row counts) or as a loop of cublasGemmEx calls
// (the fallback, and the baseline the benchmark compares against).
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>

#include <span>
#include <string>
#include <vector>

#include "runtime/cuda/cuda_options.hpp"
#include "runtime/cuda/device_array.hpp"
#include "runtime/cuda/ffn_plan.hpp"

namespace moeb::cuda {

class GroupedGemm {
 public:
  GroupedGemm(cublasHandle_t handle, GemmMode mode) : handle_(handle), mode_(mode) {}
  ~GroupedGemm();
  GroupedGemm(const GroupedGemm&) = delete;
  GroupedGemm& operator=(const GroupedGemm&) = delete;

  // Enqueues the problems on `stream` (the handle's stream is set to it). Operand offsets are
  // relative to a, b and c.
  void run(std::span<const GemmProblem> problems, const __nv_bfloat16* a, const __nv_bfloat16* b,
           float* c, cudaStream_t stream);
  GemmMode mode() const { return mode_; }

 private:
  void run_grouped(std::span<const GemmProblem> problems, const __nv_bfloat16* a,
                   const __nv_bfloat16* b, float* c, cudaStream_t stream);
  cublasHandle_t handle_;
  GemmMode mode_;
  // Grouped mode: host-side per-group arguments and device pointer arrays (staged through
  // pinned memory; `staged_` guards the staging buffer against reuse before the copy ran).
  std::vector<cublasOperation_t> trans_;
  std::vector<int> m_, n_, k_, lda_, ldb_, ldc_, group_size_;
  std::vector<float> alpha_, beta_;
  PinnedArray<const void*> host_ptrs_;
  DeviceArray<const void*> dev_ptrs_;
  cudaEvent_t staged_ = nullptr;
};

}  // namespace moeb::cuda
