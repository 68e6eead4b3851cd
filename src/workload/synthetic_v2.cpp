// generator_version 2 of the synthetic draw: top-k sampled without replacement from the
// group-limited distribution itself, no rejection (version 1, synthetic.cpp, draws each pick
// from the mixture and rejects taken experts and picks outside the group limit, so a skewed
// workload with a tight group limit replays most of its draws).
//
// The token's distribution over experts is the mixture of version 1: p(e) = h * hot(e) +
// (1 - h) * zipf(e), hot() the in-block Zipf of the token's family block, zipf() the Zipf over
// the layer's (prefill or decode) expert ranking, h the family hot share. Version 2 (ours):
//  1. the token's topk_groups groups are drawn one after the other without replacement, each
//     with probability proportional to its mass (sum of p over its experts) among those left;
//  2. the top_k experts are drawn one after the other without replacement from the chosen
//     groups, each with probability proportional to p among the experts left.
// p is held in integers (2^30 for the whole layer, every positive weight at least 1), so a taken
// expert's weight is exactly 0 and is never drawn again. Per token, the chosen groups are cut
// into chunks of 32 experts with their cumulative weights; a pick finds its chunk and its
// expert by counting cumulative sums at or below the point (no data-dependent branch), then
// subtracts the expert's weight from the chunk. Every uniform comes from hash_step_d(kl,
// counter) of one stream keyed by (seed, draw key, layer), two 32-bit uniforms per hash: a pure
// function of the token, so results do not depend on threads, ranks or batching.
#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "workload/synthetic.hpp"
#include "workload/synthetic_streams.hpp"

namespace moeb {

using namespace synthetic_streams;

namespace {
constexpr int kChunk = 32;           // experts per chunk of a group
constexpr double kScale = 0x1.0p30;  // integer weight of probability 1
constexpr int32_t kPad = INT32_MAX;  // cumulative weight of a chunk's slots past its experts

int32_t quantize(double p) {
  return p > 0 ? std::max<int32_t>(1, static_cast<int32_t>(std::llround(p * kScale))) : 0;
}
}  // namespace

struct SyntheticV2Tables {
  int E = 0, G = 1, gs = 0, tg = 1, F = 1, B = 1, bs = 0, chunks_per_group = 1;
  bool hot = false;
  // Zipf part (1 - h) * zipf(e), index ((l * 2 + phase) * E + e).
  std::vector<int32_t> wz;
  // Hot part h * hot(e) of block b of family f at layer l (hb = (l * F + f) * B + b): members
  // sorted by group (hot_e, hot_w at hb * bs + j), group g's from hot_off[hb * (G + 1) + g].
  std::vector<int32_t> hot_e, hot_w, hot_off;
  // A token's distribution d: (layer, phase) and, with a hot part, (family, block):
  // d = ((l * 2 + phase) * F + f) * B + b. Its weights' running sums within each chunk of
  // kChunk experts of a group (expert order; cum[d * E + e]), chunk totals (ctot[d * C + c],
  // C = G * chunks_per_group) and group totals (gmass[d * G + g]); held for every d when they
  // fit in kMaxTableBytes, else computed per token (the same integers).
  std::vector<int32_t> cum;
  std::vector<int64_t> ctot, gmass;
  size_t num_dists = 0;
  bool precomputed = false;
  static constexpr size_t kMaxTableBytes = size_t{256} << 20;
};

namespace {

// Distribution d's running sums, chunk and group totals (see SyntheticV2Tables) into the given
// arrays.
void fill_distribution(const SyntheticV2Tables& t, size_t d, int32_t* cum, int64_t* ctot,
                       int64_t* gmass) {
  const size_t per_lp = static_cast<size_t>(t.F) * t.B;
  const size_t lp = d / per_lp, fb = d % per_lp, l = lp / 2;
  const int32_t* wz = t.wz.data() + lp * t.E;
  std::copy(wz, wz + t.E, cum);  // weights first, summed in place below
  if (t.hot) {
    const size_t hb = l * per_lp + fb;
    for (int j = 0; j < t.bs; ++j) cum[t.hot_e[hb * t.bs + j]] += t.hot_w[hb * t.bs + j];
  }
  for (int g = 0; g < t.G; ++g) {
    gmass[g] = 0;
    for (int q = 0; q < t.chunks_per_group; ++q) {
      const int first = g * t.gs + q * kChunk, len = std::min(kChunk, t.gs - q * kChunk);
      int32_t acc = 0;
      for (int j = 0; j < len; ++j) cum[first + j] = acc += cum[first + j];
      ctot[g * t.chunks_per_group + q] = acc;
      gmass[g] += acc;
    }
  }
}

}  // namespace

void SyntheticGenerator::build_v2() {
  auto t = std::make_shared<SyntheticV2Tables>();
  const int L = model_.num_layers;
  t->E = model_.num_experts;
  t->G = std::max(1, model_.num_expert_groups);
  t->gs = t->E / t->G;
  t->tg = t->G > 1 ? std::min(model_.topk_groups, t->G) : 1;
  t->chunks_per_group = (t->gs + kChunk - 1) / kChunk;
  const double h = spec_.family_hot_share;
  t->hot = h > 0;
  t->F = t->hot ? spec_.num_families : 1;
  t->B = t->hot ? num_blocks_ : 1;
  t->bs = block_size_;
  const size_t E = static_cast<size_t>(t->E);
  t->wz.assign(static_cast<size_t>(L) * 2 * E, 0);
  const double zsum = zipf_cdf_.back();
  for (size_t lp = 0; lp < static_cast<size_t>(L) * 2; ++lp) {
    const auto& perm = lp % 2 == 0 ? perm_prefill_[lp / 2] : perm_decode_[lp / 2];
    for (size_t r = 0; r < E; ++r) {
      const double zr = zipf_cdf_[r] - (r ? zipf_cdf_[r - 1] : 0.0);
      t->wz[lp * E + static_cast<size_t>(perm[r])] = quantize((1.0 - h) * zr / zsum);
    }
  }
  if (t->hot) build_v2_hot(*t);
  t->num_dists = static_cast<size_t>(L) * 2 * t->F * t->B;
  const size_t C = static_cast<size_t>(t->G) * t->chunks_per_group;
  t->precomputed = t->num_dists * (E * 4 + C * 8 + t->G * 8) <= SyntheticV2Tables::kMaxTableBytes;
  if (t->precomputed) {
    t->cum.resize(t->num_dists * E);
    t->ctot.resize(t->num_dists * C);
    t->gmass.resize(t->num_dists * t->G);
    for (size_t d = 0; d < t->num_dists; ++d)
      fill_distribution(*t, d, t->cum.data() + d * E, t->ctot.data() + d * C,
                        t->gmass.data() + d * t->G);
  }
  v2_ = std::move(t);
}

void SyntheticGenerator::build_v2_hot(SyntheticV2Tables& t) const {
  const size_t blocks = static_cast<size_t>(model_.num_layers) * t.F * t.B;
  const size_t bs = static_cast<size_t>(t.bs), G = static_cast<size_t>(t.G);
  const double h = spec_.family_hot_share, isum = in_block_cdf_.back();
  t.hot_e.resize(blocks * bs);
  t.hot_w.resize(blocks * bs);
  t.hot_off.resize(blocks * (G + 1));
  std::vector<int32_t> order(bs);
  for (size_t hb = 0; hb < blocks; ++hb) {
    const size_t lf = hb / static_cast<size_t>(t.B), b = hb % static_cast<size_t>(t.B);
    const int32_t* members = hot_[lf].data() + b * bs;
    for (size_t j = 0; j < bs; ++j) order[j] = static_cast<int32_t>(j);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t x, int32_t y) { return members[x] / t.gs < members[y] / t.gs; });
    size_t next_group = 0;
    for (size_t j = 0; j < bs; ++j) {
      const auto jj = static_cast<size_t>(order[j]);
      const int32_t e = members[jj];
      const auto g = static_cast<size_t>(e / t.gs);
      while (next_group <= g) t.hot_off[hb * (G + 1) + next_group++] = static_cast<int32_t>(j);
      t.hot_e[hb * bs + j] = e;
      t.hot_w[hb * bs + j] =
          quantize(h * (in_block_cdf_[jj] - (jj ? in_block_cdf_[jj - 1] : 0.0)) / isum);
    }
    while (next_group <= G) t.hot_off[hb * (G + 1) + next_group++] = static_cast<int32_t>(bs);
  }
}

namespace {

// Two 32-bit uniforms per hash of the (token, layer) stream; below(n) is one of them in [0, n).
class Uniforms {
 public:
  explicit Uniforms(uint64_t kl) : kl_(kl) {}
  uint64_t bits32() {
    if (half_) {
      half_ = false;
      return bits_ & 0xFFFFFFFFULL;
    }
    bits_ = hash_step_d(kl_, counter_++);
    half_ = true;
    return bits_ >> 32;
  }
  double unit() { return static_cast<double>(bits32()) * 0x1.0p-32; }
  int64_t below(int64_t n) {
    return static_cast<int64_t>(bounded(bits32() << 32, static_cast<uint64_t>(n)));
  }

 private:
  uint64_t kl_, bits_ = 0, counter_ = 0;
  bool half_ = false;
};

// The chosen groups' chunks of one token: running sums of the weights left (a taken expert's
// weight is 0; kPad past a short chunk's experts), chunk totals, taken slots (a bit each) and
// the weight left in all. Storage is the thread's, reused token after token.
struct Chunks {
  int32_t* cum;
  int32_t* first;  // first expert of each chunk
  int64_t* total;
  uint32_t* taken;
  int n;
  int64_t left;

  static Chunks of_thread(int n) {
    thread_local std::vector<int32_t> cum, first;
    thread_local std::vector<int64_t> total;
    thread_local std::vector<uint32_t> taken;
    if (first.size() < static_cast<size_t>(n)) {
      cum.resize(static_cast<size_t>(n) * kChunk);
      first.resize(static_cast<size_t>(n));
      total.resize(static_cast<size_t>(n));
      taken.resize(static_cast<size_t>(n));
    }
    return Chunks{cum.data(), first.data(), total.data(), taken.data(), n, 0};
  }
  // Chunk q: `len` running sums from `src`, its total, its first expert.
  void load(int q, const int32_t* src, int len, int64_t chunk_total, int32_t first_expert) {
    int32_t* __restrict cq = cum + static_cast<size_t>(q) * kChunk;
    if (len == kChunk) {
      for (int j = 0; j < kChunk; ++j) cq[j] = src[j];
    } else {
      std::copy(src, src + len, cq);
      std::fill(cq + len, cq + kChunk, kPad);
    }
    total[q] = chunk_total;
    first[q] = first_expert;
    taken[q] = 0;
    left += chunk_total;
  }
  // Removes slot j of chunk q (weight x) from the running sums.
  void take(int q, int j, int32_t x) {
    int32_t* __restrict cq = cum + static_cast<size_t>(q) * kChunk;
    for (int i = 0; i < kChunk; ++i) cq[i] -= (i >= j && cq[i] != kPad) ? x : 0;
    taken[q] |= 1U << j;
    total[q] -= x;
    left -= x;
  }
  // One pick: a point below the weight left, its chunk, its expert; the expert's weight
  // leaves. With no weight left (family_hot_share 1 and the hot experts of the chosen groups
  // taken), an expert not taken yet, uniformly.
  int32_t draw(Uniforms& u) {
    const uint64_t r = u.bits32() << 32;
    if (left == 0) return draw_any(r);
    auto x = static_cast<int64_t>(bounded(r, static_cast<uint64_t>(left)));
    int q = 0;
    int64_t acc = 0, before = 0;
    for (int i = 0; i < n; ++i) {
      acc += total[i];
      const bool below = acc <= x;
      q += below;
      before = below ? acc : before;
    }
    const auto xq = static_cast<int32_t>(x - before);
    const int32_t* __restrict cq = cum + static_cast<size_t>(q) * kChunk;
    int32_t j = 0;
    for (int i = 0; i < kChunk; ++i) j += cq[i] <= xq ? 1 : 0;
    take(q, j, cq[j] - (j ? cq[j - 1] : 0));
    return first[q] + j;
  }
  int32_t draw_any(uint64_t r) {
    auto is_free = [&](int q, int j) {
      return !((taken[q] >> j) & 1) && cum[static_cast<size_t>(q) * kChunk + j] != kPad;
    };
    int64_t free = 0;
    for (int q = 0; q < n; ++q)
      for (int j = 0; j < kChunk; ++j) free += is_free(q, j);
    if (free == 0) throw Error("synthetic generator v2: no expert left in the chosen groups");
    auto skip = static_cast<int64_t>(bounded(r, static_cast<uint64_t>(free)));
    for (int q = 0; q < n; ++q)
      for (int j = 0; j < kChunk; ++j)
        if (is_free(q, j) && skip-- == 0) {
          taken[q] |= 1U << j;
          return first[q] + j;
        }
    return -1;  // not reached
  }
};

// Step 1: the token's groups, one after the other without replacement, each by its mass among
// those left (all groups when the limit allows them all). Returns how many.
int choose_groups(const SyntheticV2Tables& t, const int64_t* gmass, Uniforms& u, int* chosen) {
  if (t.tg >= t.G) {
    for (int g = 0; g < t.G; ++g) chosen[g] = g;
    return t.G;
  }
  int64_t mass[64], left = 0;
  for (int g = 0; g < t.G; ++g) left += mass[g] = gmass[g];
  for (int i = 0; i < t.tg; ++i) {
    int g = 0;
    if (left > 0) {
      const int64_t x = u.below(left);
      int64_t acc = 0;
      for (int h = 0; h < t.G; ++h) g += (acc += mass[h]) <= x;
    } else {
      (void)u.bits32();  // the same uniforms consumed either way
      while (std::find(chosen, chosen + i, g) != chosen + i) ++g;  // the first not chosen
    }
    chosen[i] = g;
    left -= mass[g];
    mass[g] = 0;
  }
  return t.tg;
}

}  // namespace

void SyntheticGenerator::route_v2(const TokenMeta& meta, uint64_t key, int layer,
                                  std::span<int32_t> experts, std::span<float> weights) const {
  const SyntheticV2Tables& t = *v2_;
  Uniforms u(hash_step_c(hash_step_b(stream_prefix_[kPickV2Stream], key), layer));
  const int block = num_blocks_ > 1 ? block_sampler_.sample(u.unit()) : 0;
  const int family = t.F > 1 ? meta.family % t.F : 0;
  const size_t lp = static_cast<size_t>(layer) * 2 + (meta.phase == Phase::kPrefill ? 0 : 1);
  const size_t d = (lp * t.F + family) * t.B + (t.B > 1 ? block : 0);
  const size_t C = static_cast<size_t>(t.G) * t.chunks_per_group;
  const int32_t* cum;
  const int64_t *ctot, *gmass;
  if (t.precomputed) {
    cum = t.cum.data() + d * t.E;
    ctot = t.ctot.data() + d * C;
    gmass = t.gmass.data() + d * t.G;
  } else {
    thread_local std::vector<int32_t> cum_buf;
    thread_local std::vector<int64_t> ctot_buf, gmass_buf;
    cum_buf.resize(static_cast<size_t>(t.E));
    ctot_buf.resize(C);
    gmass_buf.resize(static_cast<size_t>(t.G));
    fill_distribution(t, d, cum_buf.data(), ctot_buf.data(), gmass_buf.data());
    cum = cum_buf.data();
    ctot = ctot_buf.data();
    gmass = gmass_buf.data();
  }
  // 1. groups, by mass, without replacement
  int chosen[64];
  const int nch = choose_groups(t, gmass, u, chosen);
  // 2. experts of the chosen groups, by weight, without replacement
  const int per_group = t.chunks_per_group;
  Chunks ch = Chunks::of_thread(nch * per_group);
  for (int c = 0; c < nch; ++c)
    for (int q = 0; q < per_group; ++q) {
      const int first = chosen[c] * t.gs + q * kChunk;
      ch.load(c * per_group + q, cum + first, std::min(kChunk, t.gs - q * kChunk),
              ctot[chosen[c] * per_group + q], first);
    }
  for (int j = 0; j < model_.top_k; ++j) experts[j] = ch.draw(u);
  gate_weights(key, layer, weights);
}

}  // namespace moeb
