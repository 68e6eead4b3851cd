// The OpenBLAS expert FFN: the fused [hidden x 2 ffn] W1|W3 weight and W2 in their row-major
// layout, one cblas_sgemm for each (OpenBLAS packs the weight inside every call), the SwiGLU
// with the gate weight between them, and the second sgemm's beta accumulating into `out`.
#include <cblas.h>

#include <algorithm>

#include "cpu/expert_ffn.hpp"
#include "cpu/ffn_library.hpp"
#include "cpu/weight_buffer.hpp"

namespace moeb::cpu {
namespace {

class OpenBlasExpert final : public ExpertFfn {
 public:
  OpenBlasExpert(const float* w1, const float* w3, const float* w2, int hidden, int ffn)
      : hidden_(hidden), ffn_(ffn), w13_(static_cast<size_t>(hidden) * 2 * ffn),
        w2_(static_cast<size_t>(ffn) * hidden) {
    fuse_w13(w1, w3, hidden, ffn, w13_.data());
    std::copy_n(w2, w2_.size(), w2_.data());
  }
  void run(const float* x, int64_t ldx, int64_t n, const float* gate, float* h13, float* out,
           int64_t ldo, bool accumulate) const override {
    if (n <= 0) return;
    const int m = static_cast<int>(n), f2 = 2 * ffn_;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, f2, hidden_, 1.0f, x,
                static_cast<int>(ldx), w13_.data(), f2, 0.0f, h13, f2);
    swiglu_rows(h13, n, ffn_, gate);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hidden_, ffn_, 1.0f, h13, f2,
                w2_.data(), hidden_, accumulate ? 1.0f : 0.0f, out, static_cast<int>(ldo));
  }

 private:
  int hidden_, ffn_;
  WeightBuffer w13_, w2_;  // huge pages where large (cpu/weight_buffer.hpp)
};

class OpenBlasLibrary final : public FfnLibrary {
 public:
  std::string name() const override { return "openblas"; }
  std::string version() const override { return openblas_get_config(); }
  std::unique_ptr<ExpertFfn> pack(const float* w1, const float* w3, const float* w2, int hidden,
                                  int ffn_hidden) const override {
    return std::make_unique<OpenBlasExpert>(w1, w3, w2, hidden, ffn_hidden);
  }
};

}  // namespace

std::unique_ptr<FfnLibrary> make_openblas_ffn() { return std::make_unique<OpenBlasLibrary>(); }

}  // namespace moeb::cpu
