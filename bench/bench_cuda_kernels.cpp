// CUDA backend micro-benchmarks (need a GPU; without one every benchmark reports an error):
//  - permute (gather) and unpermute (CSR combine) bandwidth, bytes moved per second;
//  - grouped expert GEMM (cublasGemmGroupedBatchedEx, and the per-expert cublasGemmEx loop)
//    against one cublasGemmEx of the same FLOPs, the ceiling a grouped GEMM can reach.
// Timed with CUDA events (manual time). Run: bench/bench_cuda_kernels
// --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <numeric>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "kernels/cuda/moe_kernels.hpp"
#include "runtime/cuda/grouped_gemm.hpp"

namespace {

using moeb::cuda::bf16;

std::string no_device() {
  int n = 0;
  const cudaError_t rc = cudaGetDeviceCount(&n);
  if (rc != cudaSuccess) return std::string("no CUDA device: ") + cudaGetErrorString(rc);
  return n == 0 ? "no CUDA device" : "";
}

template <typename T>
T* device_alloc(size_t n) {
  void* p = nullptr;
  MOEB_CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  MOEB_CUDA_CHECK(cudaMemset(p, 0, n * sizeof(T)));
  return static_cast<T*>(p);
}

template <typename T>
T* device_copy(const std::vector<T>& h) {
  T* d = device_alloc<T>(h.size());
  MOEB_CUDA_CHECK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
  return d;
}

// Times `body` with events per iteration.
template <typename F>
void timed_loop(benchmark::State& state, F&& body) {
  cudaEvent_t a, b;
  MOEB_CUDA_CHECK(cudaEventCreate(&a));
  MOEB_CUDA_CHECK(cudaEventCreate(&b));
  body();  // warm-up
  for (auto _ : state) {
    MOEB_CUDA_CHECK(cudaEventRecord(a));
    body();
    MOEB_CUDA_CHECK(cudaEventRecord(b));
    MOEB_CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    MOEB_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    state.SetIterationTime(ms * 1e-3);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
}

// rows x hidden bf16 gathered by a random permutation: read + write of every row.
void BM_CudaPermute(benchmark::State& state) {
  if (auto why = no_device(); !why.empty()) return state.SkipWithError(why.c_str());
  const int64_t rows = state.range(0), H = state.range(1);
  std::vector<int32_t> perm(rows);
  std::iota(perm.begin(), perm.end(), 0);
  moeb::Rng rng(1);
  for (int64_t i = rows - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
  bf16* src = device_alloc<bf16>(rows * H);
  bf16* dst = device_alloc<bf16>(rows * H);
  int32_t* idx = device_copy(perm);
  timed_loop(state, [&] { moeb::cuda::gather_rows(src, idx, rows, H, dst, nullptr); });
  state.SetBytesProcessed(state.iterations() * 2 * rows * H * 2);
  cudaFree(src);
  cudaFree(dst);
  cudaFree(idx);
}
BENCHMARK(BM_CudaPermute)->Args({16384, 2048})->Args({16384, 7168})->UseManualTime();

// Unpermute: every token sums `k` partial-result rows (bf16 in, fp32 out).
void BM_CudaUnpermute(benchmark::State& state) {
  if (auto why = no_device(); !why.empty()) return state.SkipWithError(why.c_str());
  const int64_t tokens = state.range(0), H = state.range(1), k = state.range(2);
  std::vector<int64_t> offsets(tokens + 1);
  for (int64_t t = 0; t <= tokens; ++t) offsets[t] = t * k;
  std::vector<int32_t> index(tokens * k);
  std::iota(index.begin(), index.end(), 0);
  moeb::Rng rng(2);
  for (int64_t i = static_cast<int64_t>(index.size()) - 1; i > 0; --i)
    std::swap(index[i], index[rng.below(i + 1)]);
  bf16* src = device_alloc<bf16>(tokens * k * H);
  float* out = device_alloc<float>(tokens * H);
  int64_t* d_off = device_copy(offsets);
  int32_t* d_idx = device_copy(index);
  timed_loop(state, [&] {
    moeb::cuda::combine_rows(src, d_off, d_idx, nullptr, tokens, H, out, nullptr);
  });
  state.SetBytesProcessed(state.iterations() * (tokens * k * H * 2 + tokens * H * 4));
  cudaFree(src);
  cudaFree(out);
  cudaFree(d_off);
  cudaFree(d_idx);
}
BENCHMARK(BM_CudaUnpermute)->Args({4096, 7168, 4})->UseManualTime();

// The up-projection of `experts` experts over `rows` rows split unevenly (Zipf-like), as
// GemmProblems; mode 0 = grouped, 1 = loop, 2 = one GEMM over all rows (same FLOPs).
void BM_CudaExpertGemm(benchmark::State& state) {
  if (auto why = no_device(); !why.empty()) return state.SkipWithError(why.c_str());
  const int mode = static_cast<int>(state.range(0));
  const int experts = static_cast<int>(state.range(1));
  const int64_t rows = state.range(2);
  const int H = static_cast<int>(state.range(3)), F2 = 2 * static_cast<int>(state.range(4));
  std::vector<int64_t> n(experts);
  double z = 0;
  for (int e = 0; e < experts; ++e) z += 1.0 / (e + 1);
  int64_t used = 0;
  for (int e = 0; e < experts; ++e) used += n[e] = static_cast<int64_t>(rows / z / (e + 1));
  n[0] += rows - used;
  std::vector<moeb::GemmProblem> probs;
  int64_t begin = 0;
  for (int e = 0; e < experts; ++e) {
    moeb::GemmProblem p;
    p.m = F2;
    p.n = static_cast<int>(n[e]);
    p.k = H;
    p.a_offset = static_cast<int64_t>(e) * H * F2;
    p.b_offset = begin * H;
    p.c_offset = begin * F2;
    p.lda = F2;
    p.ldb = H;
    p.ldc = F2;
    probs.push_back(p);
    begin += n[e];
  }
  bf16* w = device_alloc<bf16>(static_cast<size_t>(experts) * H * F2);
  bf16* x = device_alloc<bf16>(rows * H);
  float* y = device_alloc<float>(rows * F2);
  cublasHandle_t handle;
  MOEB_CUBLAS_CHECK(cublasCreate(&handle));
  {
    moeb::cuda::GroupedGemm gemm(
        handle, mode == 1 ? moeb::cuda::GemmMode::kLoop : moeb::cuda::GemmMode::kGrouped);
    moeb::GemmProblem single = probs[0];
    single.n = static_cast<int>(rows);
    single.b_offset = single.c_offset = 0;
    timed_loop(state, [&] {
      if (mode == 2)
        gemm.run(std::span<const moeb::GemmProblem>(&single, 1), w, x, y, nullptr);
      else
        gemm.run(probs, w, x, y, nullptr);
    });
  }
  const double flops = 2.0 * rows * H * F2;
  state.counters["TFLOPS"] =
      benchmark::Counter(flops * 1e-12 * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(mode == 0 ? "grouped" : mode == 1 ? "loop" : "single GEMM, same FLOPs");
  cublasDestroy(handle);
  cudaFree(w);
  cudaFree(x);
  cudaFree(y);
}
// DeepSeek-V3-like expert (hidden 7168, ffn 2048), 32 local experts, 16384 routed rows.
BENCHMARK(BM_CudaExpertGemm)
    ->ArgNames({"mode", "experts", "rows", "hidden", "ffn"})
    ->Args({0, 32, 16384, 7168, 2048})
    ->Args({1, 32, 16384, 7168, 2048})
    ->Args({2, 32, 16384, 7168, 2048})
    ->UseManualTime();

}  // namespace

BENCHMARK_MAIN();
