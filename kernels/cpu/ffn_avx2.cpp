// Our AVX2 + FMA expert FFN ("avx2", ffn_library.hpp), for the small row counts of decode
// batches. Weights are packed once into panels of kNr = 16 columns ([K x 16] contiguous, zero
// padded): W1|W3 as panels of 8 W1 columns then the same 8 W3 columns, so one pass over a panel
// yields both halves of 8 SwiGLU inputs, applied on the accumulators; W2 as plain 16-column panels
// over hidden. A call processes rows in blocks of up to kBlock rows: the block's rows are packed
// k-major per tile of kMr = 6 rows (read straight from where they lie, so scattered rows need no
// separate gather, and broadcasts walk memory sequentially instead of rows 4 KiB apart), the
// W1|W3 pass writes the gated SwiGLU output straight into the second pass's packed operand, and
// the W2 pass adds its tile into the output rows (again straight into scattered rows). The 6 x 16
// register tile holds 12 accumulators; each weight panel is read from memory once per block and
// reused from cache by the block's tiles.
#include <algorithm>
#include <vector>

#include "cpu/ffn_library.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "cpu/simd_exp.hpp"
#include "cpu/weight_buffer.hpp"

namespace moeb::cpu {
namespace {

constexpr int kNr = 16;      // panel width (two ymm)
constexpr int kMr = 6;       // rows per register tile (6 x 2 accumulators)
constexpr int kBlock = 120;  // most rows per block (20 tiles): the packed rows stay in L2

// Where a tile's rows come from and go to: row r of the call at base + index(r) * ld.
struct Rows {
  const int64_t* index;  // nullptr: r itself
  int64_t ld;
  int64_t at(int64_t r) const { return (index == nullptr ? r : index[r]) * ld; }
};

// Where a tile's result goes. Up pass (W1|W3 panel p): h[f * MR + r] = gate[r] * silu(acc0) *
// acc1 for f in [8p, 8p + 8) (h: the tile's k-major operand of the W2 pass). Down pass (W2 panel
// at column c0): out row r0 + r, columns [c0, c0 + width) (=, or += when accumulate) the tile.
struct TileOut {
  const float* gate;  // up
  int p;
  float* h;
  float* out;  // down
  Rows o;
  int64_t r0, c0;
  int width;
  bool accumulate;
};

// acc[r][0..1] = sum_k a[k * MR + r] * panel[k * 16 + 0..15] for k < kc, then the epilogue. The
// product and epilogue share one function so the 12 accumulators stay in registers.
template <int MR, bool kUpPass>
__attribute__((target("avx2,fma"))) void tile(const float* panel, int kc, const float* a,
                                              const TileOut& t) {
  __m256 acc[MR][2];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
#pragma GCC unroll 2
  for (int k = 0; k < kc; ++k) {
    const __m256 w0 = _mm256_load_ps(panel + kNr * k), w1 = _mm256_load_ps(panel + kNr * k + 8);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const __m256 b = _mm256_broadcast_ss(a + MR * k + r);
      acc[r][0] = _mm256_fmadd_ps(b, w0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(b, w1, acc[r][1]);
    }
  }
  // The accumulators leave registers here, through constant indices only (a run-time index
  // would keep the whole array in memory inside the loop above).
  alignas(32) float v[MR][kNr] = {};
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    if constexpr (kUpPass) {
      __m256 s = swiglu8(acc[r][0], acc[r][1]);
      if (t.gate != nullptr) s = _mm256_mul_ps(s, _mm256_set1_ps(t.gate[r]));
      _mm256_store_ps(v[r], s);
    } else {
      _mm256_store_ps(v[r], acc[r][0]);
      _mm256_store_ps(v[r] + 8, acc[r][1]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    if constexpr (kUpPass) {
      for (int j = 0; j < 8; ++j) t.h[(8 * t.p + j) * MR + r] = v[r][j];
    } else {
      float* d = t.out + t.o.at(t.r0 + r) + t.c0;
      if (t.width == kNr && t.accumulate) {
        _mm256_storeu_ps(d, _mm256_add_ps(_mm256_load_ps(v[r]), _mm256_loadu_ps(d)));
        _mm256_storeu_ps(d + 8, _mm256_add_ps(_mm256_load_ps(v[r] + 8), _mm256_loadu_ps(d + 8)));
      } else {
        for (int j = 0; j < t.width; ++j) d[j] = t.accumulate ? d[j] + v[r][j] : v[r][j];
      }
    }
  }
}

using TileFn = void (*)(const float*, int, const float*, const TileOut&);
constexpr TileFn kUp[kMr + 1] = {nullptr,       tile<1, true>, tile<2, true>, tile<3, true>,
                                 tile<4, true>, tile<5, true>, tile<6, true>};
constexpr TileFn kDown[kMr + 1] = {nullptr,        tile<1, false>, tile<2, false>, tile<3, false>,
                                   tile<4, false>, tile<5, false>, tile<6, false>};

class Avx2Expert final : public ExpertFfn {
 public:
  Avx2Expert(const float* w1, const float* w3, const float* w2, int hidden, int ffn)
      : hidden_(hidden),
        up_panels_((ffn + 7) / 8),
        down_panels_((hidden + kNr - 1) / kNr),
        fp_(8 * up_panels_),
        w13_(static_cast<size_t>(hidden) * kNr * up_panels_),
        w2_(static_cast<size_t>(fp_) * kNr * down_panels_) {
    for (int p = 0; p < up_panels_; ++p)
      for (int h = 0; h < hidden; ++h)
        for (int j = 0; j < 8 && 8 * p + j < ffn; ++j) {
          const size_t src = static_cast<size_t>(h) * ffn + 8 * p + j;
          float* d = w13_.data() + (static_cast<size_t>(p) * hidden + h) * kNr;
          d[j] = w1[src];
          d[8 + j] = w3[src];
        }
    for (int p = 0; p < down_panels_; ++p)
      for (int f = 0; f < ffn; ++f)
        for (int j = 0; j < kNr && p * kNr + j < hidden; ++j)
          w2_.data()[(static_cast<size_t>(p) * fp_ + f) * kNr + j] =
              w2[static_cast<size_t>(f) * hidden + p * kNr + j];
  }
  void run(const float* x, int64_t ldx, int64_t n, const float* gate, float*, float* out,
           int64_t ldo, bool accumulate) const override {
    const int64_t step = block_rows(n);
    for (int64_t b = 0; b < n; b += step)
      block({nullptr, ldx}, x + b * ldx, std::min(step, n - b),
            gate == nullptr ? nullptr : gate + b, out + b * ldo, {nullptr, ldo}, accumulate);
  }
  void run_rows(const float* src, const int64_t* rows, int64_t n, const float* gate, int hidden,
                float*, float*, float*, float* out) const override {
    const int64_t step = block_rows(n);
    for (int64_t b = 0; b < n; b += step)
      block({rows + b, hidden}, src, std::min(step, n - b), gate == nullptr ? nullptr : gate + b,
            out, {rows + b, hidden}, true);
  }

 private:
  // Rows per block: n split into equal blocks of at most kBlock rows, each a whole number of
  // tiles where possible (128 rows: 66 + 62, not 120 + 8).
  static int64_t block_rows(int64_t n) {
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    const int64_t rows = (n + blocks - 1) / blocks;
    return std::min<int64_t>(kBlock, (rows + kMr - 1) / kMr * kMr);
  }
  // Rows [0, n) of one block (n <= kBlock): input row r at x + in.at(r), output at out + o.at(r).
  void block(Rows in, const float* x, int64_t n, const float* gate, float* out, Rows o,
             bool accumulate) const {
    thread_local std::vector<float> a, h;  // packed operands, capacity kept across calls
    a.resize(static_cast<size_t>(kBlock) * hidden_);
    h.resize(static_cast<size_t>(kBlock) * fp_);
    for (int64_t t = 0; t < n; t += kMr) {  // tile t: k-major [hidden x mr]
      const int mr = static_cast<int>(std::min<int64_t>(kMr, n - t));
      float* d = a.data() + t * hidden_;
      for (int r = 0; r < mr; ++r) {
        const float* s = x + in.at(t + r);
        for (int k = 0; k < hidden_; ++k) d[k * mr + r] = s[k];
      }
    }
    for (int p = 0; p < up_panels_; ++p) {
      const float* panel = w13_.data() + static_cast<size_t>(p) * hidden_ * kNr;
      for (int64_t t = 0; t < n; t += kMr) {
        const int mr = static_cast<int>(std::min<int64_t>(kMr, n - t));
        TileOut to{};
        to.gate = gate == nullptr ? nullptr : gate + t;
        to.p = p;
        to.h = h.data() + t * fp_;
        kUp[mr](panel, hidden_, a.data() + t * hidden_, to);
      }
    }
    for (int p = 0; p < down_panels_; ++p) {
      const float* panel = w2_.data() + static_cast<size_t>(p) * fp_ * kNr;
      const int width = std::min(kNr, hidden_ - p * kNr);
      for (int64_t t = 0; t < n; t += kMr) {
        const int mr = static_cast<int>(std::min<int64_t>(kMr, n - t));
        const TileOut to{nullptr, 0,         nullptr, out, o, t, static_cast<int64_t>(p) * kNr,
                         width,   accumulate};
        kDown[mr](panel, fp_, h.data() + t * fp_, to);
      }
    }
  }

  int hidden_, up_panels_, down_panels_, fp_;  // fp_: ffn padded to a multiple of 8
  WeightBuffer w13_, w2_;
};

class Avx2Library final : public FfnLibrary {
 public:
  std::string name() const override { return "avx2"; }
  std::string version() const override {
    return "avx2 (moebench's own kernel; panel " + std::to_string(kNr) + ", tile " +
           std::to_string(kMr) + " x " + std::to_string(kNr) + ", row block " +
           std::to_string(kBlock) + ")";
  }
  std::unique_ptr<ExpertFfn> pack(const float* w1, const float* w3, const float* w2, int hidden,
                                  int ffn_hidden) const override {
    return std::make_unique<Avx2Expert>(w1, w3, w2, hidden, ffn_hidden);
  }
};

}  // namespace

std::unique_ptr<FfnLibrary> make_avx2_ffn() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!yes) return nullptr;
  return std::make_unique<Avx2Library>();
}

}  // namespace moeb::cpu

#else  // no x86: the library does not exist here

namespace moeb::cpu {
std::unique_ptr<FfnLibrary> make_avx2_ffn() { return nullptr; }
}  // namespace moeb::cpu

#endif
