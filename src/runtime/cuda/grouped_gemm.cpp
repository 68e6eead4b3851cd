#include "runtime/cuda/grouped_gemm.hpp"

#include <limits>

#include "core/error.hpp"

namespace moeb::cuda {

GroupedGemm::~GroupedGemm() {
  if (staged_ != nullptr) cudaEventDestroy(staged_);
}

void GroupedGemm::run(std::span<const GemmProblem> problems, const __nv_bfloat16* a,
                      const __nv_bfloat16* b, float* c, cudaStream_t stream) {
  if (problems.empty()) return;
  MOEB_CUBLAS_CHECK(cublasSetStream(handle_, stream));
  if (mode_ == GemmMode::kGrouped) {
    run_grouped(problems, a, b, c, stream);
    return;
  }
  const float alpha = 1.0f, beta = 0.0f;
  for (const GemmProblem& p : problems)
    MOEB_CUBLAS_CHECK(cublasGemmEx(handle_, CUBLAS_OP_N, CUBLAS_OP_N, p.m, p.n, p.k, &alpha,
                                   a + p.a_offset, CUDA_R_16BF, p.lda, b + p.b_offset, CUDA_R_16BF,
                                   p.ldb, &beta, c + p.c_offset, CUDA_R_32F, p.ldc,
                                   CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void GroupedGemm::run_grouped(std::span<const GemmProblem> problems, const __nv_bfloat16* a,
                              const __nv_bfloat16* b, float* c, cudaStream_t stream) {
  const size_t g = problems.size();
  if (g > static_cast<size_t>(std::numeric_limits<int>::max()))
    throw Error("cuda backend: too many GEMM groups");
  trans_.assign(g, CUBLAS_OP_N);
  m_.resize(g);
  n_.resize(g);
  k_.resize(g);
  lda_.resize(g);
  ldb_.resize(g);
  ldc_.resize(g);
  group_size_.assign(g, 1);
  alpha_.assign(g, 1.0f);
  beta_.assign(g, 0.0f);
  // The previous call's pointer upload must have left the staging buffer before we rewrite it.
  if (staged_ == nullptr)
    MOEB_CUDA_CHECK(cudaEventCreateWithFlags(&staged_, cudaEventDisableTiming));
  else
    MOEB_CUDA_CHECK(cudaEventSynchronize(staged_));
  host_ptrs_.ensure(3 * g);
  for (size_t i = 0; i < g; ++i) {
    const GemmProblem& p = problems[i];
    m_[i] = p.m;
    n_[i] = p.n;
    k_[i] = p.k;
    lda_[i] = p.lda;
    ldb_[i] = p.ldb;
    ldc_[i] = p.ldc;
    host_ptrs_[i] = a + p.a_offset;
    host_ptrs_[g + i] = b + p.b_offset;
    host_ptrs_[2 * g + i] = c + p.c_offset;
  }
  dev_ptrs_.upload(host_ptrs_.data(), 3 * g, stream);
  MOEB_CUDA_CHECK(cudaEventRecord(staged_, stream));
  const void* const* dev = dev_ptrs_.data();
  MOEB_CUBLAS_CHECK(cublasGemmGroupedBatchedEx(
      handle_, trans_.data(), trans_.data(), m_.data(), n_.data(), k_.data(), alpha_.data(), dev,
      CUDA_R_16BF, lda_.data(), dev + g, CUDA_R_16BF, ldb_.data(), beta_.data(),
      const_cast<void* const*>(dev + 2 * g), CUDA_R_32F, ldc_.data(), static_cast<int>(g),
      group_size_.data(), CUBLAS_COMPUTE_32F));
}

}  // namespace moeb::cuda
