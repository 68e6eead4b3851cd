// Our AVX2 + FMA expert FFN ("avx2", ffn_library.hpp), for the small row counts of decode
// batches. The GEMMs run transposed: a vector holds 8 rows (tokens), not 8 weight columns, so
// each weight is read once per call, broadcast from the packed panel, and multiplies 8 or 16 rows
// at once; the rows, not the weights, are the operand reused from cache. That streams the weights
// evenly at any row count (a rows-in-lanes tile needs no row reuse of a weight panel to be fast)
// and needs no row tiles narrower than the register tile at 16 rows per expert.
//   Weights, packed once: W1|W3 in panels of kNc = 6 columns, [K x 6] contiguous (W1's columns
//   3p..3p+2, then W3's same three), so one tile yields both halves of 3 SwiGLU inputs; W2 in
//   panels of 6 hidden columns, [ffn x 6]. ffn and hidden are zero padded to multiples of 3 and 6.
//   Rows, per call: a block of up to kBlock rows is split into groups of 16 rows (8 for a last
//   group of at most 8), each packed k-major ([K x 16]: one row per lane), read straight from
//   where the rows lie (no separate gather). Register tile: 16 rows x 6 columns (12 accumulators,
//   2 row vectors, 1 broadcast weight).
//   Up pass: the tile's W1 and W3 accumulators give gate[r] * silu(x W1) * (x W3) in registers,
//   stored k-major as the down pass's operand h ([ffn x 16]). Down pass: the tile goes to a
//   transposed output block ([hidden x 16]) that is then transposed 8 x 8 and written (or added)
//   straight into the output rows (scattered rows too: no separate scatter).
#include <algorithm>
#include <vector>

#include "cpu/ffn_library.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "cpu/simd_exp.hpp"
#include "cpu/weight_buffer.hpp"

namespace moeb::cpu {
namespace {

constexpr int kNc = 6;         // weight columns per panel (up: 3 W1 + the same 3 W3 columns)
constexpr int kPairs = kNc / 2;
constexpr int kGroup = 16;     // rows per group (two vectors)
constexpr int kBlock = 64;     // most rows per block (a multiple of kGroup)
constexpr int kTail = 3;       // up to this many rows past the last whole group take the per-row path

// Where row r of a call lies: base + index(r) * ld.
struct Rows {
  const int64_t* index;  // nullptr: r itself
  int64_t ld;
  int64_t at(int64_t r) const { return (index == nullptr ? r : index[r]) * ld; }
};

// One k of tile's product: acc[c][v] += a[k * 8MV + 8v + lane] * panel_{c / kNc}[k * kNc + c % kNc].
template <int MV, int NP>
__attribute__((target("avx2,fma"), always_inline)) inline void step(const float* panel,
                                                                   int64_t ps, const float* a,
                                                                   int k, __m256 (*acc)[MV]) {
  __m256 x[MV];
#pragma GCC unroll 2
  for (int v = 0; v < MV; ++v) x[v] = _mm256_load_ps(a + 8 * MV * k + 8 * v);
#pragma GCC unroll 12
  for (int c = 0; c < NP * kNc; ++c) {
    const __m256 b = _mm256_broadcast_ss(panel + (c / kNc) * ps + kNc * k + c % kNc);
#pragma GCC unroll 2
    for (int v = 0; v < MV; ++v) acc[c][v] = _mm256_fmadd_ps(x[v], b, acc[c][v]);
  }
}

// For NP panels q (panel q at panel + q * kc * kNc): acc[q][c][v] = sum_k a[k * 8MV + 8v + lane]
// * panel_q[k * kNc + c] for k < kc; then, up pass: dst[(q * kPairs + j) * 8MV + 8v + lane] =
// gate[8v + lane] * silu(acc[q][j][v]) * acc[q][kPairs + j][v]; down pass: dst[(q * kNc + c) * 8MV
// + 8v + lane] = acc[q][c][v]. Product and epilogue in one function so the accumulators stay in
// registers; MV * NP * kNc = 12 of them (NP = 2 gives 8-row groups as many independent sums).
template <int MV, int NP, bool kUp>
__attribute__((target("avx2,fma"))) void tile(const float* panel, int kc, const float* a,
                                              const float* gate, float* dst) {
  constexpr int W = 8 * MV, C = NP * kNc;
  const int64_t ps = static_cast<int64_t>(kc) * kNc;
  __m256 acc[C][MV];
#pragma GCC unroll 12
  for (int c = 0; c < C; ++c)
#pragma GCC unroll 2
    for (int v = 0; v < MV; ++v) acc[c][v] = _mm256_setzero_ps();
  // The panel after this call's last one is prefetched into L2 while this one computes, 8 k's
  // (3 cache lines) per round: the weight stream keeps going while other groups reuse this panel
  // from cache (A/B in bench/README.md). The prefetch past an expert's last panel is harmless.
  const float* next = panel + NP * ps;
  int k = 0;
  for (; k + 8 <= kc; k += 8) {
    _mm_prefetch(reinterpret_cast<const char*>(next + kNc * k), _MM_HINT_T1);
    _mm_prefetch(reinterpret_cast<const char*>(next + kNc * k + 16), _MM_HINT_T1);
    _mm_prefetch(reinterpret_cast<const char*>(next + kNc * k + 32), _MM_HINT_T1);
#pragma GCC unroll 8
    for (int u = 0; u < 8; ++u) step<MV, NP>(panel, ps, a, k + u, acc);
  }
#pragma GCC unroll 4
  for (; k < kc; ++k) step<MV, NP>(panel, ps, a, k, acc);
  if constexpr (kUp) {
#pragma GCC unroll 2
    for (int q = 0; q < NP; ++q)
#pragma GCC unroll 3
      for (int j = 0; j < kPairs; ++j)
#pragma GCC unroll 2
        for (int v = 0; v < MV; ++v)
          _mm256_store_ps(dst + W * (q * kPairs + j) + 8 * v,
                          _mm256_mul_ps(swiglu8(acc[q * kNc + j][v], acc[q * kNc + kPairs + j][v]),
                                        _mm256_load_ps(gate + 8 * v)));
  } else {
#pragma GCC unroll 12
    for (int c = 0; c < C; ++c)
#pragma GCC unroll 2
      for (int v = 0; v < MV; ++v) _mm256_store_ps(dst + W * c + 8 * v, acc[c][v]);
  }
}

using TileFn = void (*)(const float*, int, const float*, const float*, float*);
// [panels][MV]: 16-row groups one panel at a time, 8-row groups two panels (one at the end).
constexpr TileFn kUp[3][3] = {{nullptr, nullptr, nullptr},
                              {nullptr, tile<1, 1, true>, tile<2, 1, true>},
                              {nullptr, tile<1, 2, true>, nullptr}};
constexpr TileFn kDown[3][3] = {{nullptr, nullptr, nullptr},
                                {nullptr, tile<1, 1, false>, tile<2, 1, false>},
                                {nullptr, tile<1, 2, false>, nullptr}};

// The few rows left over after the 16-row groups (at most kTail), at a cost per row instead of
// per 8-row vector: the panel is read as it lies ([K x 6] flat, 8 floats at a time: 4 k's per 3
// vectors) against each row's operand expanded to the same pattern (xe[6k + c] = x[k]), so lane i
// of the j-th vector always holds column (8j + i) mod 6. o[j][c] = sum_k xe_j[6k + c] *
// panel[6k + c] for R rows (row j's operand at xe + j * lde).
template <int R>
__attribute__((target("avx2,fma"))) void tail_tile(const float* panel, int kc, const float* xe,
                                                   int64_t lde, float o[][kNc]) {
  __m256 acc[R][3];
#pragma GCC unroll 4
  for (int j = 0; j < R; ++j) acc[j][0] = acc[j][1] = acc[j][2] = _mm256_setzero_ps();
  const int64_t len = static_cast<int64_t>(kNc) * kc;
  int64_t i = 0;
  for (; i + 24 <= len; i += 24) {
    const __m256 w0 = _mm256_loadu_ps(panel + i), w1 = _mm256_loadu_ps(panel + i + 8),
                 w2 = _mm256_loadu_ps(panel + i + 16);
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) {
      const float* e = xe + j * lde + i;
      acc[j][0] = _mm256_fmadd_ps(_mm256_load_ps(e), w0, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(_mm256_load_ps(e + 8), w1, acc[j][1]);
      acc[j][2] = _mm256_fmadd_ps(_mm256_load_ps(e + 16), w2, acc[j][2]);
    }
  }
  alignas(32) float v[R][24];
#pragma GCC unroll 4
  for (int j = 0; j < R; ++j) {
    _mm256_store_ps(v[j], acc[j][0]);
    _mm256_store_ps(v[j] + 8, acc[j][1]);
    _mm256_store_ps(v[j] + 16, acc[j][2]);
  }
  for (int j = 0; j < R; ++j) {
    for (int c = 0; c < kNc; ++c) o[j][c] = (v[j][c] + v[j][c + 6]) + (v[j][c + 12] + v[j][c + 18]);
    for (int64_t t = i; t < len; ++t) o[j][t % kNc] += xe[j * lde + t] * panel[t];
  }
}

using TailFn = void (*)(const float*, int, const float*, int64_t, float[][kNc]);
constexpr int kTailPass = 4;  // rows per tail_tile call (12 accumulators)
constexpr TailFn kTailTile[kTailPass + 1] = {nullptr, tail_tile<1>, tail_tile<2>, tail_tile<3>,
                                             tail_tile<4>};

// h[m] = gate * silu(o[m]) * o[kPairs + m] for m < kPairs (a tail row's tile), through the
// vector SwiGLU the groups use.
__attribute__((target("avx2,fma"))) void swiglu3(const float o[kNc], float gate, float h[kPairs]) {
  alignas(32) float a[8] = {}, b[8] = {}, r[8];
  for (int m = 0; m < kPairs; ++m) {
    a[m] = o[m];
    b[m] = o[kPairs + m];
  }
  _mm256_store_ps(r, _mm256_mul_ps(swiglu8(_mm256_load_ps(a), _mm256_load_ps(b)),
                                   _mm256_set1_ps(gate)));
  for (int m = 0; m < kPairs; ++m) h[m] = r[m];
}

// xe[6k + c] = x[k] for k < kc, c < 6 (a tail row's operand).
void expand(const float* x, int kc, float* xe) {
  for (int k = 0; k < kc; ++k)
    for (int c = 0; c < kNc; ++c) xe[kNc * k + c] = x[k];
}

// rows[i][0..7] = the 8 x 8 block t[c * w + i] (c < 8, i < 8) transposed: row i, columns c.
__attribute__((target("avx2,fma"))) void transpose8(const float* t, int64_t w, __m256 rows[8]) {
  __m256 r[8], s[8];
  for (int c = 0; c < 8; ++c) r[c] = _mm256_loadu_ps(t + c * w);
  for (int c = 0; c < 8; c += 2) {
    s[c] = _mm256_unpacklo_ps(r[c], r[c + 1]);
    s[c + 1] = _mm256_unpackhi_ps(r[c], r[c + 1]);
  }
  for (int c = 0; c < 8; c += 4)
    for (int h = 0; h < 2; ++h) {
      r[c + h] = _mm256_shuffle_ps(s[c + h], s[c + 2 + h], _MM_SHUFFLE(1, 0, 1, 0));
      r[c + 2 + h] = _mm256_shuffle_ps(s[c + h], s[c + 2 + h], _MM_SHUFFLE(3, 2, 3, 2));
    }
  // r[0]: rows 0,4 col 0-3 x ... ; combine 128-bit halves.
  const int order[4] = {0, 2, 1, 3};  // r index holding rows (i, i + 4) for i = 0..3
  for (int i = 0; i < 4; ++i) {
    rows[i] = _mm256_permute2f128_ps(r[order[i]], r[4 + order[i]], 0x20);
    rows[i + 4] = _mm256_permute2f128_ps(r[order[i]], r[4 + order[i]], 0x31);
  }
}

// out row r (r < n) columns [0, hidden) (=, or += when accumulate) t[c * w + r]: the transposed
// output block of a group of w rows, columns padded.
__attribute__((target("avx2,fma"))) void write_rows(const float* t, int64_t w, int n, int hidden,
                                                    float* out, Rows o, int64_t r0,
                                                    bool accumulate) {
  int c = 0;
  for (; c + 8 <= hidden; c += 8)
    for (int i0 = 0; i0 < n; i0 += 8) {
      __m256 rows[8];
      transpose8(t + static_cast<int64_t>(c) * w + i0, w, rows);
      for (int i = 0; i < 8 && i0 + i < n; ++i) {
        float* d = out + o.at(r0 + i0 + i) + c;
        _mm256_storeu_ps(d, accumulate ? _mm256_add_ps(rows[i], _mm256_loadu_ps(d)) : rows[i]);
      }
    }
  for (; c < hidden; ++c)
    for (int i = 0; i < n; ++i) {
      float* d = out + o.at(r0 + i) + c;
      *d = (accumulate ? *d : 0.0f) + t[static_cast<int64_t>(c) * w + i];
    }
}

// Scratch of one thread's calls, 32-byte aligned, grown as needed.
struct Scratch {
  WeightBuffer a, h, t, gate, xe, he;
  static float* fit(WeightBuffer& b, size_t floats) {
    if (b.size() < floats) b = WeightBuffer(floats);
    return b.data();
  }
};

class Avx2Expert final : public ExpertFfn {
 public:
  Avx2Expert(const float* w1, const float* w3, const float* w2, int hidden, int ffn)
      : hidden_(hidden),
        up_panels_((ffn + kPairs - 1) / kPairs),
        down_panels_((hidden + kNc - 1) / kNc),
        fp_(kPairs * up_panels_),
        hp_(kNc * down_panels_),
        w13_(static_cast<size_t>(hidden) * kNc * up_panels_),
        w2_(static_cast<size_t>(fp_) * kNc * down_panels_) {
    for (int p = 0; p < up_panels_; ++p)
      for (int k = 0; k < hidden; ++k)
        for (int j = 0; j < kPairs && kPairs * p + j < ffn; ++j) {
          const size_t src = static_cast<size_t>(k) * ffn + kPairs * p + j;
          float* d = w13_.data() + (static_cast<size_t>(p) * hidden + k) * kNc;
          d[j] = w1[src];
          d[kPairs + j] = w3[src];
        }
    for (int p = 0; p < down_panels_; ++p)
      for (int f = 0; f < ffn; ++f)
        for (int c = 0; c < kNc && p * kNc + c < hidden; ++c)
          w2_.data()[(static_cast<size_t>(p) * fp_ + f) * kNc + c] =
              w2[static_cast<size_t>(f) * hidden + p * kNc + c];
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
  // Rows per block: n split into equal blocks of at most kBlock rows, rounded up to whole groups.
  static int64_t block_rows(int64_t n) {
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    const int64_t rows = (n + blocks - 1) / blocks;
    return std::min<int64_t>(kBlock, (rows + kGroup - 1) / kGroup * kGroup);
  }
  // One block's layout: `groups` groups of 16 rows (the last possibly fewer, 8 or 16 wide), then
  // `tail` rows (at most kTail) on the per-row path; pointers into this thread's scratch.
  struct Block {
    int64_t n;
    int groups, tail;
    float *a, *h, *t, *g, *xe, *he;
    int64_t lde, ldh;  // floats per tail row in xe and he
    int rows(int i) const { return static_cast<int>(std::min<int64_t>(kGroup, n - kGroup * i)); }
    int mv(int i) const { return rows(i) > 8 ? 2 : 1; }
    int64_t t0() const { return n - tail; }
  };
  Block layout(int64_t n) const {
    thread_local Scratch s;
    Block b{};
    b.n = n;
    const int rest = static_cast<int>(n % kGroup);
    b.tail = rest <= kTail ? rest : 0;
    b.groups = static_cast<int>((n - b.tail + kGroup - 1) / kGroup);
    b.lde = (static_cast<int64_t>(kNc) * hidden_ + 7) / 8 * 8;
    b.ldh = (static_cast<int64_t>(kNc) * fp_ + 7) / 8 * 8;
    b.a = Scratch::fit(s.a, static_cast<size_t>(kBlock) * hidden_);
    b.h = Scratch::fit(s.h, static_cast<size_t>(kBlock) * fp_);
    b.t = Scratch::fit(s.t, static_cast<size_t>(kBlock) * hp_);
    b.g = Scratch::fit(s.gate, kBlock);
    b.xe = Scratch::fit(s.xe, static_cast<size_t>(kTail) * b.lde);
    b.he = Scratch::fit(s.he, static_cast<size_t>(kTail) * b.ldh);
    return b;
  }
  // Packs the groups' rows k-major (zero padded lanes, gate 0 there) and expands the tail rows.
  void pack_rows(const Block& b, Rows in, const float* x, const float* gate) const {
    for (int i = 0; i < b.groups; ++i) {
      const int w = 8 * b.mv(i), m = b.rows(i);
      float* d = b.a + static_cast<int64_t>(kGroup) * i * hidden_;
      for (int r = 0; r < w; ++r) {
        b.g[kGroup * i + r] = r >= m ? 0.0f : gate == nullptr ? 1.0f : gate[kGroup * i + r];
        const float* src = r < m ? x + in.at(kGroup * i + r) : nullptr;
        for (int k = 0; k < hidden_; ++k) d[k * w + r] = src == nullptr ? 0.0f : src[k];
      }
    }
    for (int j = 0; j < b.tail; ++j) expand(x + in.at(b.t0() + j), hidden_, b.xe + j * b.lde);
  }
  // W1|W3 panels: gated SwiGLU into h (groups, k-major) and he (tail rows, expanded).
  void up_pass(const Block& b, const float* gate) const {
    for (int p = 0; p < up_panels_; ++p) {
      const float* panel = w13_.data() + static_cast<size_t>(p) * hidden_ * kNc;
      for (int i = 0; i < b.groups; ++i) {
        const int mv = b.mv(i), np = mv == 2 ? 1 : p % 2 != 0 ? 0 : std::min(2, up_panels_ - p);
        if (np == 0) continue;  // an 8-row group did this panel with the previous one
        kUp[np][mv](panel, hidden_, b.a + static_cast<int64_t>(kGroup) * i * hidden_,
                b.g + kGroup * i, b.h + static_cast<int64_t>(kGroup) * i * fp_ + 8 * mv * kPairs * p);
      }
      for (int j0 = 0; j0 < b.tail; j0 += kTailPass) {
        const int R = std::min(kTailPass, b.tail - j0);
        float res[kTailPass][kNc];
        kTailTile[R](panel, hidden_, b.xe + j0 * b.lde, b.lde, res);
        for (int j = 0; j < R; ++j) {
          float hv[kPairs];
          swiglu3(res[j], gate == nullptr ? 1.0f : gate[b.t0() + j0 + j], hv);
          float* d = b.he + (j0 + j) * b.ldh + static_cast<int64_t>(kNc) * kPairs * p;
          for (int m = 0; m < kPairs; ++m)
            for (int c = 0; c < kNc; ++c) d[kNc * m + c] = hv[m];
        }
      }
    }
  }
  // W2 panels: groups into their transposed output blocks, tail rows straight into their rows.
  void down_pass(const Block& b, float* out, Rows o, bool accumulate) const {
    for (int p = 0; p < down_panels_; ++p) {
      const float* panel = w2_.data() + static_cast<size_t>(p) * fp_ * kNc;
      for (int i = 0; i < b.groups; ++i) {
        const int mv = b.mv(i), np = mv == 2 ? 1 : p % 2 != 0 ? 0 : std::min(2, down_panels_ - p);
        if (np == 0) continue;  // an 8-row group did this panel with the previous one
        kDown[np][mv](panel, fp_, b.h + static_cast<int64_t>(kGroup) * i * fp_, nullptr,
                  b.t + static_cast<int64_t>(kGroup) * i * hp_ + 8 * mv * kNc * p);
      }
      const int width = std::min(kNc, hidden_ - kNc * p);
      for (int j0 = 0; j0 < b.tail; j0 += kTailPass) {
        const int R = std::min(kTailPass, b.tail - j0);
        float res[kTailPass][kNc];
        kTailTile[R](panel, fp_, b.he + j0 * b.ldh, b.ldh, res);
        for (int j = 0; j < R; ++j) {
          float* d = out + o.at(b.t0() + j0 + j) + kNc * p;
          for (int c = 0; c < width; ++c) d[c] = (accumulate ? d[c] : 0.0f) + res[j][c];
        }
      }
    }
  }
  // Rows [0, n) of one block (n <= kBlock): input row r at x + in.at(r), output at out + o.at(r).
  void block(Rows in, const float* x, int64_t n, const float* gate, float* out, Rows o,
             bool accumulate) const {
    const Block b = layout(n);
    pack_rows(b, in, x, gate);
    up_pass(b, gate);
    down_pass(b, out, o, accumulate);
    for (int i = 0; i < b.groups; ++i)
      write_rows(b.t + static_cast<int64_t>(kGroup) * i * hp_, 8 * b.mv(i), b.rows(i), hidden_,
                 out, o, kGroup * i, accumulate);
  }

  int hidden_, up_panels_, down_panels_, fp_, hp_;  // fp_, hp_: ffn, hidden padded to 3, 6
  WeightBuffer w13_, w2_;
};

class Avx2Library final : public FfnLibrary {
 public:
  std::string name() const override { return "avx2"; }
  std::string version() const override {
    return "avx2 (moebench's own kernel; rows in lanes, panel " + std::to_string(kNc) +
           ", tile " + std::to_string(kGroup) + " x " + std::to_string(kNc) + ", row block " +
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
