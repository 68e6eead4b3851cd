// The GEMM library behind the grouped CPU expert FFN, chosen at build time (CMake option
// MOEB_FFN_LIBRARY, see docs/DEVELOPING.md) and per backend at run time. Each library packs an
// expert's weights once, in the layout its kernels read, and then runs the whole expert FFN
//   out[r] (+)= gate[r] * (silu(x_r W1) * (x_r W3)) W2
// over a block of rows: the gate weight is folded into the SwiGLU output, so the second GEMM
// writes (or accumulates) the weighted rows straight into their destination.
//   openblas: the fused [hidden x 2 ffn] W1|W3 and W2 as they are, two cblas_sgemm per call
//             (OpenBLAS packs the weight inside every call). Always built; the fallback.
//   libxsmm:  weights packed once into column panels [K x 32]; libxsmm's JIT small-GEMM kernels
//             per panel, no packing in the call. Built when libxsmm is found.
//   avx2:     ours (ffn_avx2.cpp), the default: rows in vector lanes (16-row x 6-column register
//             tile), weights packed once into [K x 6] panels read once per call, W1 and W3
//             interleaved (3 columns each) so one pass yields both and the SwiGLU runs on the
//             accumulators; rows packed per call straight from their (scattered) place, outputs
//             added straight into theirs: no gather, no h13 round trip, no scatter. x86 with
//             AVX2 + FMA only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace moeb::cpu {

// One expert's weights in a library's layout (packed once) and the FFN over them.
class ExpertFfn {
 public:
  virtual ~ExpertFfn() = default;
  // For r < n: out[r * ldo + c] = (or += when `accumulate`) gate[r] * FFN(x[r * ldx + ...])[c],
  // c < hidden. gate == nullptr means weight 1. h13: scratch of n * 2 * ffn_hidden floats.
  virtual void run(const float* x, int64_t ldx, int64_t n, const float* gate, float* h13,
                   float* out, int64_t ldo, bool accumulate) const = 0;
  // Scattered rows: for r < n, out[rows[r] * hidden + c] += gate[r] * FFN(src[rows[r] * hidden +
  // ...])[c]. The default gathers the rows into x (n * hidden floats), runs `run` into y (as
  // many) and scatter-adds y; a library that reads and writes rows by index overrides it.
  virtual void run_rows(const float* src, const int64_t* rows, int64_t n, const float* gate,
                        int hidden, float* x, float* h13, float* y, float* out) const;
};

class FfnLibrary {
 public:
  virtual ~FfnLibrary() = default;
  virtual std::string name() const = 0;     // "openblas" or "libxsmm"
  virtual std::string version() const = 0;  // the library's own version string
  // w1, w3: [hidden x ffn], w2: [ffn x hidden], row-major (core/expert_weights' layout).
  virtual std::unique_ptr<ExpertFfn> pack(const float* w1, const float* w3, const float* w2,
                                          int hidden, int ffn_hidden) const = 0;
};

// The libraries this build has and this CPU runs, the default first ("avx2" on x86 CPUs with
// AVX2 + FMA, "libxsmm" when built, then "openblas").
std::vector<std::string> built_ffn_libraries();

// `name`: one of built_ffn_libraries(), or "auto": the default for `threads`: with one thread the
// first built library (avx2, else libxsmm); the avx2 and libxsmm kernels run on one thread, so
// more than one thread per rank selects OpenBLAS's threaded sgemm.
// Throws std::invalid_argument for an unknown or unbuilt name.
std::unique_ptr<FfnLibrary> make_ffn_library(const std::string& name, int threads);

// Library entry points (ffn_openblas.cpp, ffn_libxsmm.cpp; the latter returns nullptr in builds
// without libxsmm, see ffn_libxsmm_none.cpp).
std::unique_ptr<FfnLibrary> make_openblas_ffn();
std::unique_ptr<FfnLibrary> make_libxsmm_ffn();
std::unique_ptr<FfnLibrary> make_avx2_ffn();  // nullptr where the CPU lacks AVX2 + FMA

}  // namespace moeb::cpu
