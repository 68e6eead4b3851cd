// The libxsmm expert FFN. Each weight [K x N] (row-major; K = hidden for W1|W3, ffn for W2) is
// packed once into column panels of kPanel columns, panel j holding columns [j*kPanel, ...) as a
// contiguous [K x width] block. A GEMM runs, per panel and per block of at most kRowBlock rows,
// one libxsmm JIT kernel: in libxsmm's column-major terms C^T[width x rows] = P^T[width x K] *
// X^T[K x rows], i.e. the rows' outputs for that panel's columns, read straight from the
// caller's row-major x and written into the row-major destination (ldc = its row stride). The
// weights are read in one sequential stream, once per call, and never repacked.
#include <cblas.h>
#include <libxsmm.h>

#include <algorithm>
#include <mutex>
#include <vector>

#include "cpu/expert_ffn.hpp"
#include "cpu/ffn_library.hpp"
#include "cpu/weight_buffer.hpp"

namespace moeb::cpu {
namespace {

constexpr int kPanel = 32;       // weight columns per panel (measured: bench/README.md)
constexpr int kRowBlock = 64;    // rows per kernel call

// One weight packed into panels, and C[rows x N] (+)= X[rows x K] * W through them.
class PanelWeight {
 public:
  PanelWeight(const float* w, int k, int n) : k_(k), n_(n), packed_(static_cast<size_t>(k) * n) {
    float* dst = packed_.data();
    for (int j = 0; j < n; j += kPanel) {
      const int width = std::min(kPanel, n - j);
      for (int r = 0; r < k; ++r, dst += width)
        std::copy_n(w + static_cast<size_t>(r) * n + j, width, dst);
    }
  }
  // c[r * ldc + col] (= or +=) sum_i x[r * ldx + i] * W[i][col] for r < rows. Panels outer,
  // row blocks inner: each panel is read from memory once and reused from cache by every block.
  void multiply(const float* x, int64_t ldx, int64_t rows, float* c, int64_t ldc,
                bool accumulate) const {
    const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    const libxsmm_blasint ldb = static_cast<libxsmm_blasint>(ldx);
    const libxsmm_blasint ldcc = static_cast<libxsmm_blasint>(ldc);
    // Kernels by [full or narrower last panel][full or shorter last row block].
    libxsmm_smmfunction kernel[2][2] = {{nullptr, nullptr}, {nullptr, nullptr}};
    for (int j = 0; j < n_; j += kPanel) {
      const int width = std::min(kPanel, n_ - j);
      const float* panel = packed_.data() + static_cast<size_t>(j) * k_;
      const libxsmm_blasint lda = width;
      for (int64_t r0 = 0; r0 < rows; r0 += kRowBlock) {
        const int m = static_cast<int>(std::min<int64_t>(kRowBlock, rows - r0));
        libxsmm_smmfunction& f = kernel[width == kPanel ? 0 : 1][m == kRowBlock ? 0 : 1];
        if (f == nullptr)
          f = libxsmm_smmdispatch(width, m, k_, &lda, &ldb, &ldcc, &alpha, &beta, nullptr, nullptr);
        if (f != nullptr) {
          f(panel, x + r0 * ldx, c + r0 * ldc + j);
        } else {  // no JIT kernel for this shape: the same product through OpenBLAS
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, width, k_, 1.0f, x + r0 * ldx,
                      static_cast<int>(ldx), panel, width, beta, c + r0 * ldc + j,
                      static_cast<int>(ldc));
        }
      }
    }
  }

 private:
  int k_, n_;
  WeightBuffer packed_;  // huge pages: the stream every call reads (bench/README.md)
};

class LibxsmmExpert final : public ExpertFfn {
 public:
  LibxsmmExpert(const float* w1, const float* w3, const float* w2, int hidden, int ffn)
      : ffn_(ffn), w13_(fused(w1, w3, hidden, ffn).data(), hidden, 2 * ffn), w2_(w2, ffn, hidden) {}
  void run(const float* x, int64_t ldx, int64_t n, const float* gate, float* h13, float* out,
           int64_t ldo, bool accumulate) const override {
    if (n <= 0) return;
    const int64_t f2 = 2 * static_cast<int64_t>(ffn_);
    w13_.multiply(x, ldx, n, h13, f2, false);
    swiglu_rows(h13, n, ffn_, gate);
    w2_.multiply(h13, f2, n, out, ldo, accumulate);
  }

 private:
  static std::vector<float> fused(const float* w1, const float* w3, int hidden, int ffn) {
    std::vector<float> w13(static_cast<size_t>(hidden) * 2 * ffn);
    fuse_w13(w1, w3, hidden, ffn, w13.data());
    return w13;
  }
  int ffn_;
  PanelWeight w13_, w2_;
};

class LibxsmmLibrary final : public FfnLibrary {
 public:
  std::string name() const override { return "libxsmm"; }
  std::string version() const override {
    return std::string("libxsmm ") + LIBXSMM_CONFIG_BRANCH + "-" + LIBXSMM_CONFIG_VERSION +
           " (target " + libxsmm_get_target_arch() + ", panel " + std::to_string(kPanel) +
           ", row block " + std::to_string(kRowBlock) + ")";
  }
  std::unique_ptr<ExpertFfn> pack(const float* w1, const float* w3, const float* w2, int hidden,
                                  int ffn_hidden) const override {
    return std::make_unique<LibxsmmExpert>(w1, w3, w2, hidden, ffn_hidden);
  }
};

}  // namespace

std::unique_ptr<FfnLibrary> make_libxsmm_ffn() {
  static std::once_flag init;
  std::call_once(init, [] { libxsmm_init(); });
  return std::make_unique<LibxsmmLibrary>();
}

}  // namespace moeb::cpu
