// The grouped CPU expert FFN (CpuBackend::expert_ffn: per hosted expert the W1|W3 GEMM, SwiGLU
// with the gate weight, the W2 GEMM, the weighted rows scatter-added; rows gathered only when not
// consecutive), once per FFN library this build has (BM_GroupedFfnVsSgemm/<library>/...), against
// one OpenBLAS sgemm of the same FLOPs (M = rows, K = hidden, N = 3 * ffn_hidden).
// Single process, one BLAS thread for both (the per-rank default). One untimed warm-up round of
// each, then both run in each iteration, interleaved, so machine noise hits both alike.
// Counters (from median times): grouped_GFLOPs, sgemm_GFLOPs, vs_sgemm = grouped rate / sgemm
// rate (goal, issue 16: >= 0.9 from 32 rows per expert up, >= 0.75 at 16); gemms_GFLOPs /
// gemms_vs_sgemm: the same per-expert GEMM shapes (two OpenBLAS sgemm per expert) on contiguous
// preallocated operands with no gather, SwiGLU or scatter, i.e. OpenBLAS's own small-GEMM rate;
// before_vs_sgemm: the backend's previous loop (OpenBLAS, weights repacked per call, scalar
// SwiGLU, separate weighted scatter), measured alongside.
// Run: bench/bench_cpu_ffn   (one library: --benchmark_filter=/libxsmm/)
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <chrono>
#include <numeric>
#include <vector>

#include "core/dispatch_plan.hpp"
#include "core/expert_weights.hpp"
#include "core/metrics.hpp"
#include "core/rng.hpp"
#include "cpu/expert_ffn.hpp"
#include "cpu/ffn_library.hpp"
#include "runtime/cpu_backend.hpp"

namespace {

struct Shape {
  int hidden, ffn_hidden, experts, top_k;
  int64_t tokens;
  int64_t rows() const { return tokens * top_k; }
  double flops() const { return 6.0 * hidden * ffn_hidden * static_cast<double>(rows()); }
};
Shape shape_of(const benchmark::State& s) {
  return {static_cast<int>(s.range(0)), static_cast<int>(s.range(1)), static_cast<int>(s.range(2)),
          static_cast<int>(s.range(3)), s.range(4)};
}

void BM_GroupedFfnVsSgemm(benchmark::State& state, const std::string& library) {
  moeb::cpu::set_blas_threads(1);
  const Shape sh = shape_of(state);
  // One rank hosting every expert: routing uniform top-k, dedup on, so rows received = tokens
  // and (token, expert) pairs = tokens * top_k, grouped by expert.
  moeb::Rng rng(3);
  std::vector<int32_t> experts(static_cast<size_t>(sh.rows())), ids(sh.experts);
  std::vector<float> weights(experts.size(), 1.0f / sh.top_k);
  for (int64_t t = 0; t < sh.tokens; ++t) {
    std::iota(ids.begin(), ids.end(), 0);
    for (int j = 0; j < sh.top_k; ++j) {
      const size_t pick = j + rng.below(sh.experts - j);
      std::swap(ids[j], ids[pick]);
      experts[static_cast<size_t>(t) * sh.top_k + j] = ids[j];
    }
  }
  const std::vector<int32_t> dest(experts.size(), 0);
  const moeb::DispatchPlan plan =
      moeb::build_dispatch_plan(experts, weights, dest, sh.top_k, 1, 0, true);
  moeb::CpuBackend backend({sh.hidden, sh.ffn_hidden, 1, 0, library});
  std::vector<int32_t> all(sh.experts);
  std::iota(all.begin(), all.end(), 0);
  backend.load_experts(1, 0, all);
  std::vector<float> x(static_cast<size_t>(sh.tokens) * sh.hidden);
  moeb::fill_token_input(1, 0, 0, x);
  backend.set_input(x, sh.tokens);
  backend.prepare(plan);
  backend.permute(plan);
  if (!backend.keeps_self_rows())  // else permute already wrote the (all self) rows there
    std::copy_n(static_cast<float*>(backend.dispatch_send()), x.size(),
                static_cast<float*>(backend.dispatch_recv()));
  // The same FLOPs as one GEMM.
  const int M = static_cast<int>(sh.rows()), K = sh.hidden, N = 3 * sh.ffn_hidden;
  std::vector<float> a(static_cast<size_t>(M) * K, 0.5f), b(static_cast<size_t>(K) * N, 0.25f),
      c(static_cast<size_t>(M) * N);
  const auto big_sgemm = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, a.data(), K, b.data(), N,
                0.0f, c.data(), N);
    benchmark::DoNotOptimize(c.data());
  };
  // The per-expert GEMMs alone: expert i's rows, an [H x 2F] and an [F x H] weight of its own
  // (as many weight bytes as the backend streams), contiguous operands.
  const int H = sh.hidden, F = sh.ffn_hidden;
  std::vector<std::vector<float>> w13(sh.experts), w2(sh.experts);
  for (int e = 0; e < sh.experts; ++e) {
    w13[e].assign(static_cast<size_t>(H) * 2 * F, 0.01f);
    w2[e].assign(static_cast<size_t>(F) * H, 0.01f);
  }
  std::vector<float> h13(static_cast<size_t>(M) * 2 * F), y(static_cast<size_t>(M) * H);
  const auto gemms_only = [&] {
    for (size_t i = 0; i + 1 < plan.expert_offsets.size(); ++i) {
      const int64_t begin = plan.expert_offsets[i];
      const int m = static_cast<int>(plan.expert_offsets[i + 1] - begin);
      if (m == 0) continue;
      const int e = plan.experts[i];
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, 2 * F, H, 1.0f,
                  a.data() + begin * H, H, w13[e].data(), 2 * F, 0.0f, h13.data() + begin * 2 * F,
                  2 * F);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, H, F, 1.0f,
                  h13.data() + begin * 2 * F, 2 * F, w2[e].data(), H, 0.0f, y.data() + begin * H,
                  H);
    }
    benchmark::DoNotOptimize(y.data());
  };
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](auto&& fn) {
    const auto t0 = Clock::now();
    fn();
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  // The backend's loop before weights were packed per library (main at 11d35a2): per expert the
  // fused W1|W3 sgemm, scalar SwiGLU, W2 sgemm into scratch, gate-weighted scatter-add; the same
  // kernels, so `before_vs_sgemm` is the old figure measured side by side.
  std::vector<float> bx(static_cast<size_t>(M) * H), by(static_cast<size_t>(M) * H),
      bh(static_cast<size_t>(M) * 2 * F), bout(static_cast<size_t>(sh.tokens) * H);
  const float* recv = static_cast<const float*>(backend.dispatch_recv());
  const auto before = [&] {
    std::fill(bout.begin(), bout.end(), 0.0f);
    for (size_t i = 0; i + 1 < plan.expert_offsets.size(); ++i) {
      const int64_t begin = plan.expert_offsets[i], n = plan.expert_offsets[i + 1] - begin;
      if (n == 0) continue;
      const int e = plan.experts[i];
      moeb::cpu::gather_rows(recv, plan.expert_row.data() + begin, n, H, bx.data());
      moeb::cpu::expert_ffn_fused(bx.data(), n, H, F, w13[e].data(), w2[e].data(), bh.data(),
                                  by.data());
      moeb::cpu::scatter_add_weighted(by.data(), plan.expert_row.data() + begin,
                                      plan.expert_weight.data() + begin, n, H, bout.data());
    }
    benchmark::DoNotOptimize(bout.data());
  };
  const auto grouped = [&] {
    backend.expert_ffn(0, plan);
    benchmark::DoNotOptimize(backend.combine_send());
  };
  big_sgemm();  // warm-up: page in operands, BLAS buffers
  grouped();
  gemms_only();
  before();
  std::vector<double> grouped_s, sgemm_s, gemms_s, before_s;
  for (auto _ : state) {
    sgemm_s.push_back(seconds(big_sgemm));
    grouped_s.push_back(seconds(grouped));
    gemms_s.push_back(seconds(gemms_only));
    before_s.push_back(seconds(before));
    state.SetIterationTime(grouped_s.back());
  }
  const double g = moeb::median(grouped_s), s = moeb::median(sgemm_s), gg = moeb::median(gemms_s);
  state.counters["grouped_GFLOPs"] = sh.flops() * 1e-9 / g;
  state.counters["sgemm_GFLOPs"] = sh.flops() * 1e-9 / s;
  state.counters["vs_sgemm"] = s / g;
  state.counters["gemms_GFLOPs"] = sh.flops() * 1e-9 / gg;
  state.counters["gemms_vs_sgemm"] = s / gg;
  state.counters["before_vs_sgemm"] = s / moeb::median(before_s);
  state.counters["rows_per_expert"] = static_cast<double>(sh.rows()) / sh.experts;
}

// {hidden, ffn_hidden, experts, top_k, tokens}: rows per expert = tokens * top_k / experts.
void shapes(benchmark::internal::Benchmark* b) {
  for (int64_t tokens : {64, 128, 256, 512, 1024})  // 16, 32, 64, 128, 256 rows per expert
    b->Args({1024, 512, 16, 4, tokens});
  b->Args({1024, 512, 32, 4, 256})->Args({2048, 1024, 8, 2, 64})->Args({2048, 1024, 8, 2, 128});
  b->Args({2048, 1024, 8, 2, 512});
  b->ArgNames({"hidden", "ffn", "E", "k", "T"})->Unit(benchmark::kMillisecond);
  b->Iterations(8)->UseManualTime();
}

}  // namespace

int main(int argc, char** argv) {
  for (const std::string& lib : moeb::cpu::built_ffn_libraries())
    benchmark::RegisterBenchmark(("BM_GroupedFfnVsSgemm/" + lib).c_str(), BM_GroupedFfnVsSgemm, lib)
        ->Apply(shapes);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
