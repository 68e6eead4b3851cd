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
// Where the gap comes from, all in thread CPU time (CLOCK_THREAD_CPUTIME_ID: robust to time-slicing
// by other processes on a shared machine; `vs_sgemm_cpu` is `vs_sgemm` in that time):
//   lib_vs_sgemm: the library's expert FFN alone (ExpertFfn::run, one packed weight set per
//     expert, rows contiguous, no plan, zero fill or scatter): weights streamed from memory.
//   lib4k_vs_sgemm: the same with the packed weights on 4 KiB pages (cpu::set_weight_huge_pages
//     off while packing a second set): the huge-page A/B, interleaved in the same iterations.
//   hot_vs_sgemm: the same calls all on one packed expert (6 MiB at hidden 1024, resident in L3):
//     the kernels' rate when the weights do not come from memory.
//   read_GBs: one read pass (AVX2 loads) over as many weight bytes as the grouped call streams,
//     in the same kind of buffer (cpu::WeightBuffer); weight_GBs: those bytes / grouped time;
//     stream_fraction = weight_GBs / read_GBs (1 = the call runs at the read bandwidth).
//   roofline_vs_sgemm = min(1, sgemm time / read time): the best vs_sgemm a kernel whose every
//     weight byte comes from memory could reach (compute at the sgemm rate, overlapped).
// Run: bench/bench_cpu_ffn   (one library: --benchmark_filter=/libxsmm/)
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "core/dispatch_plan.hpp"
#include "core/expert_weights.hpp"
#include "core/metrics.hpp"
#include "core/rng.hpp"
#include "cpu/expert_ffn.hpp"
#include "cpu/ffn_library.hpp"
#include "cpu/weight_buffer.hpp"
#include "runtime/cpu_backend.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

double thread_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Sums n floats (n a multiple of 32, p 32-byte aligned) with four independent vector adds:
// a read pass limited by memory bandwidth, not by the adds.
#if defined(__x86_64__)
__attribute__((target("avx2"))) float read_pass(const float* p, size_t n) {
  __m256 a = _mm256_setzero_ps(), b = a, c = a, d = a;
  for (size_t i = 0; i < n; i += 32) {
    a = _mm256_add_ps(a, _mm256_load_ps(p + i));
    b = _mm256_add_ps(b, _mm256_load_ps(p + i + 8));
    c = _mm256_add_ps(c, _mm256_load_ps(p + i + 16));
    d = _mm256_add_ps(d, _mm256_load_ps(p + i + 24));
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, _mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d)));
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#else
float read_pass(const float* p, size_t n) {
  float s[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < n; i += 4)
    for (int j = 0; j < 4; ++j) s[j] += p[i + j];
  return s[0] + s[1] + s[2] + s[3];
}
#endif

// The explanation test's variants (see the header): the library alone over E packed experts
// (cold) or over one (hot), and a read pass over the same number of weight bytes.
struct StreamProbe {
  std::unique_ptr<moeb::cpu::FfnLibrary> lib;
  std::vector<std::unique_ptr<moeb::cpu::ExpertFfn>> experts, experts_4k;
  moeb::cpu::WeightBuffer bytes;
  std::vector<float> h13, y;
  StreamProbe(const std::string& library, const Shape& sh)
      : lib(moeb::cpu::make_ffn_library(library, 1)),
        bytes((3 * static_cast<size_t>(sh.hidden) * sh.ffn_hidden * sh.experts + 31) / 32 * 32),
        h13(static_cast<size_t>(sh.rows()) * 2 * sh.ffn_hidden),
        y(static_cast<size_t>(sh.rows()) * sh.hidden) {
    for (int e = 0; e < sh.experts; ++e) {
      const moeb::ExpertWeights w = moeb::make_expert_weights(1, 0, e, sh.hidden, sh.ffn_hidden);
      experts.push_back(lib->pack(w.w1.data(), w.w3.data(), w.w2.data(), sh.hidden, sh.ffn_hidden));
      moeb::cpu::set_weight_huge_pages(false);
      experts_4k.push_back(
          lib->pack(w.w1.data(), w.w3.data(), w.w2.data(), sh.hidden, sh.ffn_hidden));
      moeb::cpu::set_weight_huge_pages(true);
    }
    std::fill_n(bytes.data(), bytes.size(), 1.0f);
  }
  // Expert i's rows are rows [i * M / E, (i + 1) * M / E) of x (M = rows, hidden floats each).
  // set: 0 = E experts, 1 = E experts on 4 KiB pages, 2 = expert 0 for all (hot).
  void run(const float* x, const float* gate, const Shape& sh, int set) {
    const int64_t M = sh.rows();
    for (int e = 0; e < sh.experts; ++e) {
      const int64_t r0 = M * e / sh.experts, r1 = M * (e + 1) / sh.experts;
      const moeb::cpu::ExpertFfn& w = *(set == 1 ? experts_4k[e] : experts[set == 2 ? 0 : e]);
      w.run(x + r0 * sh.hidden, sh.hidden, r1 - r0, gate + r0, h13.data(),
            y.data() + r0 * sh.hidden, sh.hidden, false);
    }
    benchmark::DoNotOptimize(y.data());
  }
};

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
  StreamProbe probe(library, sh);
  const std::vector<float> gate(static_cast<size_t>(M), 1.0f / sh.top_k);
  volatile float sink = 0;
  const auto lib_cold = [&] { probe.run(a.data(), gate.data(), sh, 0); };
  const auto lib_4k = [&] { probe.run(a.data(), gate.data(), sh, 1); };
  const auto lib_hot = [&] { probe.run(a.data(), gate.data(), sh, 2); };
  const auto read = [&] { sink = sink + read_pass(probe.bytes.data(), probe.bytes.size()); };
  const auto cpu_seconds = [](auto&& fn) {
    const double t0 = thread_cpu_s();
    fn();
    return thread_cpu_s() - t0;
  };
  big_sgemm();  // warm-up: page in operands, BLAS buffers
  grouped();
  gemms_only();
  before();
  lib_cold();
  lib_4k();
  lib_hot();
  read();
  std::vector<double> grouped_s, sgemm_s, gemms_s, before_s;
  std::vector<double> sgemm_c, grouped_c, cold_c, k4_c, hot_c, read_c;  // thread CPU time
  for (auto _ : state) {
    sgemm_c.push_back(cpu_seconds([&] { sgemm_s.push_back(seconds(big_sgemm)); }));
    grouped_c.push_back(cpu_seconds([&] { grouped_s.push_back(seconds(grouped)); }));
    gemms_s.push_back(seconds(gemms_only));
    before_s.push_back(seconds(before));
    cold_c.push_back(cpu_seconds(lib_cold));
    k4_c.push_back(cpu_seconds(lib_4k));
    hot_c.push_back(cpu_seconds(lib_hot));
    read_c.push_back(cpu_seconds(read));
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
  const double sc = moeb::median(sgemm_c), gc = moeb::median(grouped_c), rc = moeb::median(read_c);
  const double weight_bytes = 3.0 * sh.hidden * sh.ffn_hidden * sh.experts * sizeof(float);
  state.counters["vs_sgemm_cpu"] = sc / gc;
  state.counters["lib_vs_sgemm"] = sc / moeb::median(cold_c);
  state.counters["lib4k_vs_sgemm"] = sc / moeb::median(k4_c);
  state.counters["hot_vs_sgemm"] = sc / moeb::median(hot_c);
  state.counters["read_GBs"] = weight_bytes * 1e-9 / rc;
  state.counters["weight_GBs"] = weight_bytes * 1e-9 / gc;
  state.counters["stream_fraction"] = rc / gc;
  state.counters["roofline_vs_sgemm"] = std::min(1.0, sc / rc);
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
