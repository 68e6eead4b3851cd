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
//   2 row vectors, 1 broadcast weight). 1-3 rows past the last whole vector (8 rows) take the
//   per-row path instead: the panel read as it lies (4 k's per 3 vectors) against each row's 4
//   values spread in lane to the panel's pattern.
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

constexpr int kNc = 6;  // weight columns per panel (up: 3 W1 + the same 3 W3 columns)
constexpr int kPairs = kNc / 2;
constexpr int kGroup = 16;  // rows per whole group (two vectors)
constexpr int kBlock = 64;  // most rows per block (a multiple of kGroup)
constexpr int kTail = 3;    // up to this many rows past whole vectors take the per-row path
constexpr int kPad = 8;     // floats a panel read may run past the last panel (tail tiles)

// Where row r of a call lies: base + index(r) * ld.
struct Rows {
  const int64_t* index;  // nullptr: r itself
  int64_t ld;
  int64_t at(int64_t r) const { return (index == nullptr ? r : index[r]) * ld; }
};

// One k of tile's product: acc[c][v] += a[k * 8MV + 8v + lane] * panel_{c / kNc}[k * kNc + c %
// kNc].
template <int MV, int NP>
__attribute__((target("avx2,fma"), always_inline)) inline void step(const float* panel, int64_t ps,
                                                                    const float* a, int k,
                                                                    __m256 (*acc)[MV]) {
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
    // Two panels' 12 broadcasts per k: unrolled 8 times GCC keeps 5 of the 12 accumulators on
    // the stack (a load and a store more per FMA on them); 2 times, all stay in registers.
    if constexpr (NP == 2) {
#pragma GCC unroll 2
      for (int u = 0; u < 8; ++u) step<MV, NP>(panel, ps, a, k + u, acc);
    } else {
#pragma GCC unroll 8
      for (int u = 0; u < 8; ++u) step<MV, NP>(panel, ps, a, k + u, acc);
    }
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

// One group's tile over panel p of a pass (up: SwiGLU into h, down: sums into t): a 16-row
// group one panel per call, an 8-row group two panels per call (one at the end) at even p only.
template <bool kUpPass>
void group_tile(int w, int p, int panels, const float* panel, int kc, const float* a,
                const float* gate, float* dst) {
  if (w == kGroup)
    tile<2, 1, kUpPass>(panel, kc, a, gate, dst);
  else if (p % 2 == 0 && p + 1 < panels)
    tile<1, 2, kUpPass>(panel, kc, a, gate, dst);
  else if (p % 2 == 0)
    tile<1, 1, kUpPass>(panel, kc, a, gate, dst);
}

// The few rows past the last whole vector (at most kTail per call): o[j] lanes c < kNc = sum_k
// x_j[k] * panel[k * kNc + c] for k < kc. The panel is read as it lies, 4 k's (24 floats) per 3
// vectors, against each row's x_j[k..k+3] loaded once into both 128-bit halves and spread in
// lane to the same pattern (x_k0 x6, x_k1 x2 | x_k1 x4, x_k2 x4 | x_k2 x2, x_k3 x6): every lane
// works, and a row's operand is read once per panel (no expanded copy). The lane at position t
// of the 24 holds column t mod 6; the 4 positions of each column are summed at the end. k's past
// the last 4 go lane by lane (8 floats from k * kNc, 6 used: the read may run kPad floats past
// the panel). `prefetch`: the next panel to L2 as in `tile` (for blocks with no group tiles).
template <int R>
__attribute__((target("avx2,fma"))) void tail_tile(const float* panel, int kc,
                                                   const float* const* x, bool prefetch,
                                                   __m256* o) {
  const __m256i i0 = _mm256_setr_epi32(0, 0, 0, 0, 0, 0, 1, 1);
  const __m256i i1 = _mm256_setr_epi32(1, 1, 1, 1, 2, 2, 2, 2);
  const __m256i i2 = _mm256_setr_epi32(2, 2, 3, 3, 3, 3, 3, 3);
  __m256 acc[R][3];
#pragma GCC unroll 4
  for (int j = 0; j < R; ++j) acc[j][0] = acc[j][1] = acc[j][2] = _mm256_setzero_ps();
  const float* next = panel + static_cast<int64_t>(kc) * kNc;
  int k = 0;
  for (; k + 4 <= kc; k += 4) {
    if (prefetch) {
      _mm_prefetch(reinterpret_cast<const char*>(next + kNc * k), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(next + kNc * k + 16), _MM_HINT_T1);
    }
    const float* w = panel + kNc * k;
    const __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8), w2 = _mm256_loadu_ps(w + 16);
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j) {
      const __m256 xv = _mm256_broadcast_ps(reinterpret_cast<const __m128*>(x[j] + k));
      acc[j][0] = _mm256_fmadd_ps(_mm256_permutevar_ps(xv, i0), w0, acc[j][0]);
      acc[j][1] = _mm256_fmadd_ps(_mm256_permutevar_ps(xv, i1), w1, acc[j][1]);
      acc[j][2] = _mm256_fmadd_ps(_mm256_permutevar_ps(xv, i2), w2, acc[j][2]);
    }
  }
  __m256 rest[R];
#pragma GCC unroll 4
  for (int j = 0; j < R; ++j) rest[j] = _mm256_setzero_ps();
  for (; k < kc; ++k) {
    const __m256 w = _mm256_loadu_ps(panel + kNc * k);
#pragma GCC unroll 4
    for (int j = 0; j < R; ++j)
      rest[j] = _mm256_fmadd_ps(_mm256_broadcast_ss(x[j] + k), w, rest[j]);
  }
#pragma GCC unroll 4
  for (int j = 0; j < R; ++j) {
    alignas(32) float v[32];  // 24 used; the last unaligned read runs 2 floats past them
    _mm256_store_ps(v, acc[j][0]);
    _mm256_store_ps(v + 8, acc[j][1]);
    _mm256_store_ps(v + 16, acc[j][2]);
    o[j] = _mm256_add_ps(_mm256_add_ps(_mm256_load_ps(v), _mm256_loadu_ps(v + 6)),
                         _mm256_add_ps(_mm256_loadu_ps(v + 12), _mm256_loadu_ps(v + 18)));
    o[j] = _mm256_add_ps(o[j], rest[j]);
  }
}

using TailFn = void (*)(const float*, int, const float* const*, bool, __m256*);
constexpr TailFn kTailTile[kTail + 1] = {nullptr, tail_tile<1>, tail_tile<2>, tail_tile<3>};

// A tail row's up-pass result o (lanes 0-2 the W1 sums of 3 pairs, 3-5 the W3 sums): h[m] =
// gate * silu(o[m]) * o[3 + m] for m < 3, stored as 8 floats from h (h has room: lanes 3-7 are
// overwritten by the next panel's or lie in the row's padding).
__attribute__((target("avx2,fma"))) void tail_swiglu(__m256 o, float gate, float* h) {
  const __m256 b = _mm256_permutevar8x32_ps(o, _mm256_setr_epi32(3, 4, 5, 3, 4, 5, 3, 4));
  _mm256_storeu_ps(h, _mm256_mul_ps(swiglu8(o, b), _mm256_set1_ps(gate)));
}

// rows[i][c] = r[c][i] (c < 8, i < 8): the 8 x 8 block in r transposed (r is overwritten).
__attribute__((target("avx2,fma"), always_inline)) inline void transpose8(__m256 r[8],
                                                                          __m256 rows[8]) {
  __m256 s[8];
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

// rows[i][0..7] = the 8 x 8 block t[c * w + i] (c < 8, i < 8) transposed: row i, columns c.
__attribute__((target("avx2,fma"))) void transpose8(const float* t, int64_t w, __m256 rows[8]) {
  __m256 r[8];
  for (int c = 0; c < 8; ++c) r[c] = _mm256_loadu_ps(t + c * w);
  transpose8(r, rows);
}

// d[k * w + j] = src[j][k] for k < hidden, j < 8 (zero where src[j] is nullptr): 8 rows packed
// k-major, 8 k's per 8 x 8 transpose (d 32-byte aligned, w a multiple of 8).
__attribute__((target("avx2,fma"))) void pack8(const float* const src[8], int hidden, float* d,
                                               int64_t w) {
  int k = 0;
  for (; k + 8 <= hidden; k += 8) {
    __m256 r[8], cols[8];
    for (int j = 0; j < 8; ++j)
      r[j] = src[j] == nullptr ? _mm256_setzero_ps() : _mm256_loadu_ps(src[j] + k);
    transpose8(r, cols);
    for (int i = 0; i < 8; ++i) _mm256_store_ps(d + (k + i) * w, cols[i]);
  }
  for (; k < hidden; ++k)
    for (int j = 0; j < 8; ++j) d[k * w + j] = src[j] == nullptr ? 0.0f : src[j][k];
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
  WeightBuffer a, h, t, gate, he;
  static float* fit(WeightBuffer& b, size_t floats) {
    if (b.size() < floats) b = WeightBuffer(floats);
    return b.data();
  }
};

// A block's row groups: rows [r0, r0 + rows) in w lanes (16, or 8 for the last; rows < w only
// in the last, zero padded), packed from lane r0 of the block's buffers.
struct Group {
  int r0, rows, w;
};

// The groups of a block of n rows with its last `tail` rows on the per-row path: whole 16-row
// groups, and where the vectors are odd in number one 8-row group last. Returns the number of
// groups.
int split_groups(int n, int tail, Group* g) {
  const int vectors = (n - tail + 7) / 8, grouped = n - tail;
  int count = 0, r0 = 0;
  for (int v = vectors; v > 0;) {
    const int take = v == 1 ? 1 : 2;
    g[count++] = {r0, std::min(8 * take, grouped - r0), 8 * take};
    r0 += 8 * take;
    v -= take;
  }
  return count;
}

// Rows on the per-row path for a block of n rows: the rows past the last whole vector when they
// are few (1-3 rows: a zero-padded vector costs more). Below 16 rows the call streams its
// weights no faster than a 16-row group computes, so 9-15 rows take one zero-padded group.
int tail_rows(int n) {
  if (n > 8 && n < kGroup) return 0;
  return n % 8 <= kTail ? n % 8 : 0;
}

class Avx2Expert final : public ExpertFfn {
 public:
  Avx2Expert(const float* w1, const float* w3, const float* w2, int hidden, int ffn)
      : hidden_(hidden),
        up_panels_((ffn + kPairs - 1) / kPairs),
        down_panels_((hidden + kNc - 1) / kNc),
        fp_(kPairs * up_panels_),
        hp_(kNc * down_panels_),
        w13_(static_cast<size_t>(hidden) * kNc * up_panels_ + kPad),
        w2_(static_cast<size_t>(fp_) * kNc * down_panels_ + kPad) {
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
  // One block's layout: its groups (split_groups), then `tail` rows on the per-row path (their
  // SwiGLU outputs in he, ldh floats apart); pointers into this thread's scratch.
  struct Block {
    int n, groups, tail;
    Group g[kBlock / 8];
    float *a, *h, *t, *gate, *he;
    int64_t ldh;
    int t0() const { return n - tail; }
  };
  Block layout(int n) const {
    thread_local Scratch s;
    Block b{};
    b.n = n;
    b.tail = tail_rows(n);
    b.groups = split_groups(n, b.tail, b.g);
    b.ldh = (fp_ + kPad + 7) / 8 * 8;
    b.a = Scratch::fit(s.a, static_cast<size_t>(kBlock) * hidden_);
    b.h = Scratch::fit(s.h, static_cast<size_t>(kBlock) * fp_);
    b.t = Scratch::fit(s.t, static_cast<size_t>(kBlock) * hp_);
    b.gate = Scratch::fit(s.gate, kBlock);
    b.he = Scratch::fit(s.he, static_cast<size_t>(kTail) * b.ldh);
    return b;
  }
  // Packs the groups' rows k-major (zero padded lanes, gate 0 there), 8 rows at a time.
  void pack_rows(const Block& b, Rows in, const float* x, const float* gate) const {
    for (int i = 0; i < b.groups; ++i) {
      const Group& g = b.g[i];
      float* d = b.a + static_cast<int64_t>(g.r0) * hidden_;
      for (int r0 = 0; r0 < g.w; r0 += 8) {
        const float* src[8];
        for (int j = 0, r = r0; j < 8; ++j, ++r) {
          b.gate[g.r0 + r] = r >= g.rows ? 0.0f : gate == nullptr ? 1.0f : gate[g.r0 + r];
          src[j] = r < g.rows ? x + in.at(g.r0 + r) : nullptr;
        }
        pack8(src, hidden_, d + r0, g.w);
      }
    }
  }
  // W1|W3 panels: gated SwiGLU into h (groups, k-major) and he (tail rows, row-major).
  __attribute__((target("avx2,fma"))) void up_pass(const Block& b, Rows in, const float* x,
                                                   const float* gate) const {
    for (int p = 0; p < up_panels_; ++p) {
      const float* panel = w13_.data() + static_cast<size_t>(p) * hidden_ * kNc;
      for (int i = 0; i < b.groups; ++i) {
        const Group& g = b.g[i];
        group_tile<true>(g.w, p, up_panels_, panel, hidden_, b.a + int64_t{g.r0} * hidden_,
                         b.gate + g.r0, b.h + int64_t{g.r0} * fp_ + g.w * kPairs * p);
      }
      if (b.tail == 0) continue;
      const float* rows[kTail];
      __m256 o[kTail];
      for (int j = 0; j < b.tail; ++j) rows[j] = x + in.at(b.t0() + j);
      kTailTile[b.tail](panel, hidden_, rows, b.groups == 0, o);
      for (int j = 0; j < b.tail; ++j)
        tail_swiglu(o[j], gate == nullptr ? 1.0f : gate[b.t0() + j], b.he + j * b.ldh + kPairs * p);
    }
  }
  // W2 panels: groups into their transposed output blocks, tail rows straight into their rows.
  __attribute__((target("avx2,fma"))) void down_pass(const Block& b, float* out, Rows o,
                                                     bool accumulate) const {
    for (int p = 0; p < down_panels_; ++p) {
      const float* panel = w2_.data() + static_cast<size_t>(p) * fp_ * kNc;
      for (int i = 0; i < b.groups; ++i) {
        const Group& g = b.g[i];
        group_tile<false>(g.w, p, down_panels_, panel, fp_, b.h + int64_t{g.r0} * fp_, nullptr,
                          b.t + int64_t{g.r0} * hp_ + g.w * kNc * p);
      }
      if (b.tail == 0) continue;
      const float* rows[kTail];
      __m256 res[kTail];
      for (int j = 0; j < b.tail; ++j) rows[j] = b.he + j * b.ldh;
      kTailTile[b.tail](panel, fp_, rows, b.groups == 0, res);
      const int width = std::min(kNc, hidden_ - kNc * p);
      for (int j = 0; j < b.tail; ++j) {
        alignas(32) float v[8];
        _mm256_store_ps(v, res[j]);
        float* d = out + o.at(b.t0() + j) + kNc * p;
        for (int c = 0; c < width; ++c) d[c] = (accumulate ? d[c] : 0.0f) + v[c];
      }
    }
  }
  // Rows [0, n) of one block (n <= kBlock): input row r at x + in.at(r), output at out + o.at(r).
  void block(Rows in, const float* x, int64_t n, const float* gate, float* out, Rows o,
             bool accumulate) const {
    const Block b = layout(static_cast<int>(n));
    pack_rows(b, in, x, gate);
    up_pass(b, in, x, gate);
    down_pass(b, out, o, accumulate);
    for (int i = 0; i < b.groups; ++i)
      write_rows(b.t + int64_t{b.g[i].r0} * hp_, b.g[i].w, b.g[i].rows, hidden_, out, o, b.g[i].r0,
                 accumulate);
  }

  int hidden_, up_panels_, down_panels_, fp_, hp_;  // fp_, hp_: ffn, hidden padded to 3, 6
  WeightBuffer w13_, w2_;
};

class Avx2Library final : public FfnLibrary {
 public:
  std::string name() const override { return "avx2"; }
  std::string version() const override {
    return "avx2 (moebench's own kernel; rows in lanes, panel " + std::to_string(kNc) +
           ", tiles 16 x 6 and 8 x 12, tail rows " + std::to_string(kTail) + ", row block " +
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
