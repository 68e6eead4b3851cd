// Which GEMM library for the CPU expert FFN (bench/README.md, "Expert FFN library"): the two
// per-expert GEMMs of the FFN (x[m x H] * W13[H x 2F] -> h; h[:, :F] * W2[F x H] -> y) for E
// experts of m rows each, through each library, against one OpenBLAS sgemm of the same FLOPs
// (M = E m, K = H, N = 3 F). GEMMs only: no SwiGLU, gather or scatter (bench_cpu_ffn times the
// whole backend). Libraries, weights prepared once outside the timed region:
//   openblas  cblas_sgemm on the row-major weights (packs the weight inside every call)
//   blis      bli_sgemm, the same operands (BLIS packs inside every call too)
//   onednn    dnnl::matmul, weights reordered once into the layout the primitive asks for
//             (format any); one primitive per GEMM shape, created once
//   libxsmm   the backend's kernels/cpu path: weights packed once into 32-column panels, JIT
//             kernels per panel and per block of 64 rows
// One thread everywhere. Each iteration runs the sgemm and every library once, in rotating order.
// Built only when oneDNN, BLIS and libxsmm are all installed (not installed by scripts/setup.sh).
// Run: bench/bench_ffn_libs
#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <oneapi/dnnl/dnnl.hpp>
#include <functional>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "cpu/expert_ffn.hpp"
#include "cpu/ffn_library.hpp"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wtype-limits"  // in blis.h's inline functions
#include MOEB_BLIS_HEADER
#pragma GCC diagnostic pop

namespace {

using Fn = std::function<void()>;

struct Problem {
  int H, F, E, m;
  std::vector<float> x, h, y;
  std::vector<std::vector<float>> w13, w2;  // per expert, row-major
  Problem(int hidden, int ffn, int experts, int rows)
      : H(hidden), F(ffn), E(experts), m(rows), x(static_cast<size_t>(E) * m * H),
        h(static_cast<size_t>(E) * m * 2 * F), y(x.size()), w13(E), w2(E) {
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 1000) * 1e-3f - 0.5f;
    for (int e = 0; e < E; ++e) {
      w13[e].resize(static_cast<size_t>(H) * 2 * F);
      w2[e].resize(static_cast<size_t>(F) * H);
      for (size_t i = 0; i < w13[e].size(); ++i) w13[e][i] = static_cast<float>((i * 31 + e) % 997) * 1e-3f - 0.5f;
      for (size_t i = 0; i < w2[e].size(); ++i) w2[e][i] = static_cast<float>((i * 17 + e) % 991) * 1e-3f - 0.5f;
    }
  }
  const float* xe(int e) const { return x.data() + static_cast<size_t>(e) * m * H; }
  float* he(int e) { return h.data() + static_cast<size_t>(e) * m * 2 * F; }
  float* ye(int e) { return y.data() + static_cast<size_t>(e) * m * H; }
};

Fn openblas_gemms(Problem& p) {
  return [&p] {
    for (int e = 0; e < p.E; ++e) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p.m, 2 * p.F, p.H, 1.0f, p.xe(e), p.H,
                  p.w13[e].data(), 2 * p.F, 0.0f, p.he(e), 2 * p.F);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p.m, p.H, p.F, 1.0f, p.he(e), 2 * p.F,
                  p.w2[e].data(), p.H, 0.0f, p.ye(e), p.H);
    }
  };
}

Fn blis_gemms(Problem& p) {
  return [&p] {
    float one = 1.0f, zero = 0.0f;
    for (int e = 0; e < p.E; ++e) {
      bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, p.m, 2 * p.F, p.H, &one,
                const_cast<float*>(p.xe(e)), p.H, 1, p.w13[e].data(), 2 * p.F, 1, &zero, p.he(e),
                2 * p.F, 1);
      bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, p.m, p.H, p.F, &one, p.he(e), 2 * p.F, 1,
                p.w2[e].data(), p.H, 1, &zero, p.ye(e), p.H, 1);
    }
  };
}

// oneDNN state lives as long as the benchmark (captured by shared_ptr).
struct Dnnl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream st{eng};
  dnnl::matmul mm1, mm2;
  std::vector<dnnl::memory> w1, w2, s1, d1, s2, d2;
  std::string impl;
};

Fn onednn_gemms(Problem& p) {
  using dnnl::memory;
  auto d = std::make_shared<Dnnl>();
  const auto f32 = memory::data_type::f32;
  const memory::dim m = p.m, H = p.H, F = p.F;
  const memory::desc src1({m, H}, f32, memory::format_tag::ab), dst1({m, 2 * F}, f32, {2 * F, 1});
  const memory::desc src2({m, F}, f32, {2 * F, 1}), dst2({m, H}, f32, memory::format_tag::ab);
  const dnnl::matmul::primitive_desc pd1(
      dnnl::matmul::desc(src1, memory::desc({H, 2 * F}, f32, memory::format_tag::any), dst1), d->eng);
  const dnnl::matmul::primitive_desc pd2(
      dnnl::matmul::desc(src2, memory::desc({F, H}, f32, memory::format_tag::any), dst2), d->eng);
  d->impl = std::string(pd1.impl_info_str()) + "," + pd2.impl_info_str();
  d->mm1 = dnnl::matmul(pd1);
  d->mm2 = dnnl::matmul(pd2);
  for (int e = 0; e < p.E; ++e) {  // weights reordered once
    memory u1({{H, 2 * F}, f32, memory::format_tag::ab}, d->eng, p.w13[e].data());
    memory u2({{F, H}, f32, memory::format_tag::ab}, d->eng, p.w2[e].data());
    d->w1.emplace_back(pd1.weights_desc(), d->eng);
    d->w2.emplace_back(pd2.weights_desc(), d->eng);
    dnnl::reorder(u1, d->w1.back()).execute(d->st, u1, d->w1.back());
    dnnl::reorder(u2, d->w2.back()).execute(d->st, u2, d->w2.back());
    d->s1.emplace_back(src1, d->eng, const_cast<float*>(p.xe(e)));
    d->d1.emplace_back(dst1, d->eng, p.he(e));
    d->s2.emplace_back(src2, d->eng, p.he(e));
    d->d2.emplace_back(dst2, d->eng, p.ye(e));
  }
  d->st.wait();
  return [d, E = p.E] {
    for (int e = 0; e < E; ++e) {
      d->mm1.execute(d->st, {{DNNL_ARG_SRC, d->s1[e]}, {DNNL_ARG_WEIGHTS, d->w1[e]}, {DNNL_ARG_DST, d->d1[e]}});
      d->mm2.execute(d->st, {{DNNL_ARG_SRC, d->s2[e]}, {DNNL_ARG_WEIGHTS, d->w2[e]}, {DNNL_ARG_DST, d->d2[e]}});
    }
    d->st.wait();
  };
}

// The backend's libxsmm path without its SwiGLU: W1 = the first F columns of W13, W3 = the
// rest, so the FFN object packs exactly W13 and W2; run() does the two GEMMs plus a SwiGLU
// over m x F elements (about 1% of the GEMM time at these shapes, vectorized).
Fn libxsmm_gemms(Problem& p) {
  auto lib = moeb::cpu::make_ffn_library("libxsmm", 1);
  auto experts = std::make_shared<std::vector<std::unique_ptr<moeb::cpu::ExpertFfn>>>();
  for (int e = 0; e < p.E; ++e) {
    std::vector<float> w1(static_cast<size_t>(p.H) * p.F), w3(w1.size());
    for (int k = 0; k < p.H; ++k)
      for (int f = 0; f < p.F; ++f) {
        w1[static_cast<size_t>(k) * p.F + f] = p.w13[e][static_cast<size_t>(k) * 2 * p.F + f];
        w3[static_cast<size_t>(k) * p.F + f] = p.w13[e][static_cast<size_t>(k) * 2 * p.F + p.F + f];
      }
    experts->push_back(lib->pack(w1.data(), w3.data(), p.w2[e].data(), p.H, p.F));
  }
  return [&p, experts] {
    for (int e = 0; e < p.E; ++e)
      (*experts)[e]->run(p.xe(e), p.H, p.m, nullptr, p.he(e), p.ye(e), p.H, false);
  };
}

void BM_ExpertGemmsVsSgemm(benchmark::State& state) {
  const int H = static_cast<int>(state.range(0)), F = static_cast<int>(state.range(1));
  const int E = static_cast<int>(state.range(2)), m = static_cast<int>(state.range(3));
  moeb::cpu::set_blas_threads(1);
  bli_thread_set_num_threads(1);
  Problem p(H, F, E, m);
  const int M = E * m, N = 3 * F;
  std::vector<float> a(static_cast<size_t>(M) * H, 0.5f), b(static_cast<size_t>(H) * N, 0.25f),
      c(static_cast<size_t>(M) * N);
  const Fn sgemm = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, H, 1.0f, a.data(), H, b.data(), N,
                0.0f, c.data(), N);
  };
  const std::vector<std::pair<std::string, Fn>> libs = {{"openblas", openblas_gemms(p)},
                                                        {"blis", blis_gemms(p)},
                                                        {"onednn", onednn_gemms(p)},
                                                        {"libxsmm", libxsmm_gemms(p)}};
  const auto seconds = [](const Fn& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  sgemm();  // warm-up
  for (const auto& l : libs) l.second();
  std::vector<double> ts;
  std::vector<std::vector<double>> tl(libs.size());
  int it = 0;
  for (auto _ : state) {
    ts.push_back(seconds(sgemm));
    for (size_t i = 0; i < libs.size(); ++i) {
      const size_t j = (i + it) % libs.size();
      tl[j].push_back(seconds(libs[j].second));
    }
    ++it;
    state.SetIterationTime(ts.back());
  }
  const double flops = 6.0 * H * F * static_cast<double>(M), s = moeb::median(ts);
  state.counters["sgemm_GFLOPs"] = flops * 1e-9 / s;
  for (size_t i = 0; i < libs.size(); ++i) state.counters[libs[i].first] = s / moeb::median(tl[i]);
  state.counters["rows_per_expert"] = m;
}

// {hidden, ffn, experts, rows per expert}
void shapes(benchmark::internal::Benchmark* b) {
  for (int m : {16, 32, 64, 128, 256}) b->Args({1024, 512, 16, m});
  for (int m : {16, 32, 128}) b->Args({2048, 1024, 8, m});
  b->ArgNames({"hidden", "ffn", "E", "m"})->Unit(benchmark::kMillisecond);
  b->Iterations(10)->UseManualTime();
}
BENCHMARK(BM_ExpertGemmsVsSgemm)->Apply(shapes);

}  // namespace

BENCHMARK_MAIN();
