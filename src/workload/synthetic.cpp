#include "workload/synthetic.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "workload/float_exp.hpp"
#include "workload/synthetic_streams.hpp"

namespace moeb {

namespace {
using namespace synthetic_streams;

// The T with (m < T) == (unit_double(h) < p) for m = h >> 11, p in [0, 1]: unit_double(h) is
// m * 2^-53 exactly, so the test is m < p * 2^53 (exact), i.e. m < ceil(p * 2^53).
uint64_t unit_threshold(double p) { return static_cast<uint64_t>(std::ceil(p * 0x1.0p53)); }

std::vector<int32_t> shuffled(int n, uint64_t seed) {
  std::vector<int32_t> p(n);
  std::iota(p.begin(), p.end(), 0);
  Rng rng(seed);
  for (int i = n - 1; i > 0; --i) std::swap(p[i], p[static_cast<int>(rng.below(i + 1))]);
  return p;
}
}  // namespace

std::vector<double> zipf_cdf(int n, double s) {
  std::vector<double> cdf(n);
  double acc = 0;
  for (int r = 0; r < n; ++r) {
    acc += std::pow(static_cast<double>(r + 1), -s);
    cdf[r] = acc;
  }
  return cdf;
}

int sample_cdf(const std::vector<double>& cdf, double u) {
  double x = u * cdf.back();
  auto it = std::upper_bound(cdf.begin(), cdf.end(), x);
  if (it == cdf.end()) --it;
  return static_cast<int>(it - cdf.begin());
}

CdfSampler::CdfSampler(std::vector<double> cdf) : cdf_(std::move(cdf)) {
  size_t m = 64;
  while (m < 4 * cdf_.size()) m *= 2;
  guide_.resize(m);
  const double total = cdf_.back();
  const int last = static_cast<int>(cdf_.size()) - 1;
  for (size_t b = 0; b < m; ++b) {
    const double v = static_cast<double>(b) / static_cast<double>(m) * total;
    const auto at = std::upper_bound(cdf_.begin(), cdf_.end(), v) - cdf_.begin();
    guide_[b] = static_cast<int32_t>(std::min<std::ptrdiff_t>(at, last));
  }
  // The integer form (bits_view): thresholds by bisection on m, buckets with their span.
  constexpr uint64_t kOne = uint64_t{1} << 53;
  auto x_of = [&](uint64_t q) { return static_cast<double>(q) * 0x1.0p-53 * total; };
  threshold_.resize(cdf_.size());
  for (size_t i = 0; i < cdf_.size(); ++i) {
    uint64_t lo = 0, hi = kOne;  // the least m in [0, 2^53) with cdf[i] <= x(m), or 2^53
    while (lo < hi) {
      const uint64_t mid = lo + (hi - lo) / 2;
      if (cdf_[i] <= x_of(mid))
        hi = mid;
      else
        lo = mid + 1;
    }
    threshold_[i] = lo == kOne ? ~uint64_t{0} : lo;
  }
  shift_ = 53 - std::countr_zero(m);
  buckets_.resize(m);
  for (size_t b = 0; b < m; ++b) {
    const int lo = guide_[b];
    const int hi = b + 1 < m ? guide_[b + 1] : last;  // the answer lies in [lo, hi]
    buckets_[b] = {lo < last ? threshold_[lo] : ~uint64_t{0}, lo, hi - lo > 1 ? 1 : 0};
  }
}

void validate_synthetic(const SyntheticSpec& s, const ModelSpec& m, const std::string& where) {
  auto fail = [&](const std::string& key, const std::string& what) {
    throw ConfigError(where + ": key '" + key + "': " + what);
  };
  if (s.distribution != "uniform" && s.distribution != "zipf" && s.distribution != "families")
    fail("distribution", "expected uniform | zipf | families, got '" + s.distribution + "'");
  if (!(s.zipf_s >= 0 && s.zipf_s <= 10)) fail("zipf_s", "expected a value in [0, 10]");
  if (s.num_families < 1 || s.num_families > 4096) fail("families", "expected 1..4096");
  if (!(s.family_hot_share >= 0 && s.family_hot_share <= 1))
    fail("family_hot_share", "expected a value in [0, 1]");
  if (s.block_experts < 0 || s.block_experts > m.num_experts)
    fail("block_experts", "expected 0..num_experts (" + std::to_string(m.num_experts) + ")");
  if (s.hot_blocks < 0) fail("hot_blocks", "expected >= 0");
  if (!(s.recurrence >= 0 && s.recurrence < 1)) fail("recurrence", "expected a value in [0, 1)");
  if (!(s.phase_mix >= 0 && s.phase_mix <= 1)) fail("phase_mix", "expected a value in [0, 1]");
  if (s.request_tokens < 1) fail("request_tokens", "expected >= 1");
  if (!(s.prefill_share >= 0 && s.prefill_share <= 1))
    fail("prefill_share", "expected a value in [0, 1]");
  if (s.generator_version < 1 || s.generator_version > kSyntheticGeneratorVersions)
    fail("generator_version", "expected 1..." + std::to_string(kSyntheticGeneratorVersions) +
                                  ", got " + std::to_string(s.generator_version));
  if (m.num_expert_groups > 64) fail("expert_groups", "at most 64 expert groups are supported");
  if (m.num_expert_groups > 1 &&
      static_cast<long long>(m.topk_groups) * (m.num_experts / m.num_expert_groups) < m.top_k)
    fail("topk_groups", "topk_groups * experts per group must be >= top_k");
}

SyntheticGenerator::SyntheticGenerator(SyntheticSpec spec, const ModelSpec& model, uint64_t seed)
    : spec_(std::move(spec)), model_(model), seed_(seed) {
  validate_synthetic(spec_, model_, "workload");
  const int e = model_.num_experts, k = model_.top_k, l_count = model_.num_layers;
  if (spec_.distribution != "families") {
    spec_.num_families = 1;
    spec_.family_hot_share = 0.0;
  }
  double s = spec_.distribution == "uniform" ? 0.0 : spec_.zipf_s;
  zipf_cdf_ = zipf_cdf(e, s);
  block_size_ = spec_.block_experts > 0 ? spec_.block_experts : std::min(e, 2 * k);
  num_blocks_ =
      spec_.hot_blocks > 0 ? spec_.hot_blocks : std::max(1, e / (spec_.num_families * block_size_));
  num_blocks_ = std::max(1, std::min(num_blocks_, e / block_size_));
  block_cdf_ = zipf_cdf(num_blocks_, s);
  in_block_cdf_ = zipf_cdf(block_size_, s);
  zipf_sampler_ = CdfSampler(zipf_cdf_);
  group_of_.assign(e, 0);
  if (model_.num_expert_groups > 1) {
    const int group_size = e / model_.num_expert_groups;
    for (int x = 0; x < e; ++x) group_of_[x] = static_cast<uint8_t>(x / group_size);
  }
  block_sampler_ = CdfSampler(block_cdf_);
  in_block_sampler_ = CdfSampler(in_block_cdf_);
  stream_prefix_.resize(kNumStreams);
  for (uint64_t st = 0; st < kNumStreams; ++st) stream_prefix_[st] = hash_prefix(seed_, st);

  perm_prefill_.resize(l_count);
  perm_decode_.resize(l_count);
  hot_.resize(static_cast<size_t>(l_count) * spec_.num_families);
  for (int l = 0; l < l_count; ++l) {
    perm_prefill_[l] = shuffled(e, hash_counters(seed_, kPermStream, l));
    // Decode ranking: the top_k hottest prefill experts stay hottest (prefill predicts decode);
    // below them, the prefill rank is blended with an independent score (phase_mix = 1 keeps
    // the prefill ranking, 0 reshuffles the tail).
    std::vector<double> score(e);
    for (int r = 0; r < e; ++r) {
      double u = unit_double(hash_counters(seed_, kDecodeStream, l, r));
      score[r] = r < k
                     ? static_cast<double>(r) / e - 1.0
                     : spec_.phase_mix * (static_cast<double>(r) / e) + (1.0 - spec_.phase_mix) * u;
    }
    std::vector<int32_t> ranks(e);
    std::iota(ranks.begin(), ranks.end(), 0);
    std::stable_sort(ranks.begin(), ranks.end(), [&](int a, int b) { return score[a] < score[b]; });
    perm_decode_[l].resize(e);
    for (int r = 0; r < e; ++r) perm_decode_[l][r] = perm_prefill_[l][ranks[r]];
    for (int f = 0; f < spec_.num_families; ++f) {
      auto p = shuffled(e, hash_counters(seed_, kHotStream, l, f));
      p.resize(static_cast<size_t>(num_blocks_) * block_size_);
      hot_[static_cast<size_t>(l) * spec_.num_families + f] = std::move(p);
    }
  }
  if (spec_.generator_version == 2) build_v2();
}

std::vector<std::string> SyntheticGenerator::family_names() const {
  std::vector<std::string> names;
  for (int f = 0; f < spec_.num_families; ++f) names.push_back("family" + std::to_string(f));
  return names;
}

std::vector<TokenMeta> SyntheticGenerator::token_metas(int64_t tokens) const {
  std::vector<TokenMeta> metas;
  metas.reserve(static_cast<size_t>(std::max<int64_t>(tokens, 0)));
  const int m = spec_.request_tokens;
  for (int64_t r = 0; static_cast<int64_t>(metas.size()) < tokens; ++r) {
    int len = std::max(1, m / 2 + static_cast<int>(bounded(hash_counters(seed_, kLengthStream, r),
                                                           static_cast<uint64_t>(m) + 1)));
    int family = spec_.num_families > 1
                     ? static_cast<int>(bounded(hash_counters(seed_, kFamilyStream, r),
                                                static_cast<uint64_t>(spec_.num_families)))
                     : 0;
    int prefill = static_cast<int>(std::llround(len * spec_.prefill_share));
    for (int p = 0; p < len && static_cast<int64_t>(metas.size()) < tokens; ++p)
      metas.push_back({r, family, p < prefill ? Phase::kPrefill : Phase::kDecode, p});
  }
  return metas;
}

int64_t SyntheticGenerator::draw_key(const std::vector<TokenMeta>& metas, int64_t t,
                                     int layer) const {
  if (spec_.recurrence <= 0) return t;
  int64_t k = t;
  while (k > 0 && metas[k - 1].request_id == metas[k].request_id &&
         unit_double(hash_counters(seed_, kRecurStream, static_cast<uint64_t>(k), layer)) <
             spec_.recurrence)
    --k;
  return k;
}

int32_t SyntheticGenerator::sample_pick(int layer, int family, Phase phase, int block, uint64_t h1,
                                        uint64_t h2) const {
  if (spec_.family_hot_share > 0 && unit_double(h1) < spec_.family_hot_share) {
    const auto& hot = hot_[static_cast<size_t>(layer) * spec_.num_families + family];
    return hot[static_cast<size_t>(block) * block_size_ +
               sample_cdf(in_block_cdf_, unit_double(h2))];
  }
  const auto& perm = phase == Phase::kPrefill ? perm_prefill_[layer] : perm_decode_[layer];
  return perm[sample_cdf(zipf_cdf_, unit_double(h2))];
}

void SyntheticGenerator::route(const std::vector<TokenMeta>& metas, int64_t t, int layer,
                               std::span<int32_t> experts, std::span<float> weights) const {
  const int e_count = model_.num_experts, k = model_.top_k;
  const auto& meta = metas[t];
  const uint64_t key = static_cast<uint64_t>(draw_key(metas, t, layer));
  if (v2_) return route_v2(meta, key, layer, experts, weights);
  const int family = spec_.num_families > 1 ? meta.family % spec_.num_families : 0;
  const int block =
      num_blocks_ > 1
          ? sample_cdf(block_cdf_, unit_double(hash_counters(seed_, kBlockStream, key, layer)))
          : 0;
  const int groups = model_.num_expert_groups;
  const int group_size = e_count / groups;
  uint64_t group_mask = 0;
  auto allowed = [&](int32_t e) {
    for (int j = 0; j < k; ++j)
      if (j < static_cast<int>(experts.size()) && experts[j] == e) return false;
    if (groups <= 1) return true;
    uint64_t bit = 1ULL << (e / group_size);
    return (group_mask & bit) != 0 || std::popcount(group_mask) < model_.topk_groups;
  };
  std::fill(experts.begin(), experts.end(), -1);
  int n = 0;
  for (int a = 0; a < 32 * k && n < k; ++a) {
    uint64_t h1 = hash_counters(seed_, kPickStream, key, layer, a);
    int32_t e = sample_pick(layer, family, meta.phase, block, h1, splitmix64(h1));
    if (!allowed(e)) continue;
    experts[n++] = e;
    if (groups > 1) group_mask |= 1ULL << (e / group_size);
  }
  // Rare: rejection ran long (top-k close to E, or a tight group limit). Fill deterministically.
  uint64_t start = bounded(hash_counters(seed_, kFallbackStream, key, layer), e_count);
  for (int i = 0; i < e_count && n < k; ++i) {
    int32_t e = static_cast<int32_t>((start + i) % e_count);
    if (!allowed(e)) continue;
    experts[n++] = e;
    if (groups > 1) group_mask |= 1ULL << (e / group_size);
  }
  // Softmax-like decreasing gate weights.
  double sum = 0;
  for (int j = 0; j < k; ++j) {
    double u = unit_double(hash_counters(seed_, kWeightStream, key, layer, j));
    weights[j] = static_cast<float>(std::exp(-0.8 * j - 0.5 * u));
    sum += weights[j];
  }
  std::sort(weights.begin(), weights.end(), std::greater<float>());
  for (int j = 0; j < k; ++j) weights[j] = static_cast<float>(weights[j] / sum);
}

// The fast path below draws exactly what route() draws, in the same order, with shared hash
// prefixes: hash_counters(seed, stream, key, layer, d) = hash_step_d(kl, d) where kl =
// hash_step_c(hash_step_b(stream_prefix_[stream], key), layer).
int64_t SyntheticGenerator::draw_key_fast(const std::vector<TokenMeta>& metas, int64_t t,
                                          int layer) const {
  if (spec_.recurrence <= 0) return t;
  int64_t k = t;
  while (k > 0 && metas[k - 1].request_id == metas[k].request_id && recurs(k, layer)) --k;
  return k;
}

bool SyntheticGenerator::recurs(int64_t t, int layer) const {
  const uint64_t p = stream_prefix_[kRecurStream];
  return unit_double(hash_step_d(hash_step_c(hash_step_b(p, static_cast<uint64_t>(t)), layer), 0)) <
         spec_.recurrence;
}

namespace synthetic_v1 {
// The picks of one token in version 1's draw: allowed(e) of route() is "not taken yet" (a bit
// per expert in `taken`) and, with groups, "in a group already used or while fewer than the
// limit are" (group of e from a table; without groups the limit is never reached).
struct Picks {
  uint64_t* taken;
  int32_t* picked;  // k + 1 slots: a rejected candidate lands in slot n
  const uint8_t* group_of;
  int k, group_limit, n = 0, used_groups = 0;
  uint64_t group_mask = 0;
  // Takes e when allowed and fewer than k are taken, without a branch.
  void offer(int32_t e) {
    const uint64_t word = taken[static_cast<size_t>(e) >> 6];
    const uint64_t g = group_of[e];
    const uint64_t in_used = (group_mask >> g) & 1;
    const uint64_t ok = (~(word >> (e & 63)) & 1) & (in_used | (used_groups < group_limit)) &
                        static_cast<uint64_t>(n < k);
    picked[n] = e;
    taken[static_cast<size_t>(e) >> 6] = word | (ok << (e & 63));
    group_mask |= ok << g;
    used_groups += static_cast<int>(ok & ~in_used);
    n += static_cast<int>(ok);
  }
  // Clears the taken bits and starts a new token.
  void reset() {
    for (int j = 0; j < n; ++j) taken[static_cast<size_t>(picked[j]) >> 6] = 0;
    n = used_groups = 0;
    group_mask = 0;
  }
};

// Attempts are drawn in blocks of kBlock: the candidates of a block first (independent hashes,
// the sampler chosen by an index), then offered in order (a candidate after the k-th pick is
// rejected, so the picks are route()'s).
constexpr int kBlock = 8;

// One token being drawn: its picks, candidate tables (Zipf permutation, hot block), pick
// stream hash and next attempt.
struct TokenDraw {
  Picks p;
  const int32_t* tables[2];
  uint64_t pick;
  int a0;
};

struct V1Sampling {
  CdfSampler::BitsView views[2];  // over the Zipf ranks, within a hot block
  uint64_t hot_below;             // a candidate comes from the hot block when h1 >> 11 is below
  int attempts;                   // 32 k, a multiple of kBlock
  void candidates(const TokenDraw& l, int32_t* cand) const {
    for (int c = 0; c < kBlock; ++c) {
      const uint64_t h1 = hash_step_d(l.pick, static_cast<uint64_t>(l.a0 + c));
      const uint64_t m2 = splitmix64(h1) >> 11;        // unit_double(splitmix64(h1)) = m2 * 2^-53
      const size_t from_hot = (h1 >> 11) < hot_below;  // an index, not a branch
      cand[c] = l.tables[from_hot][views[from_hot].sample(m2)];
    }
  }
  bool done(const TokenDraw& l) const { return l.p.n >= l.p.k || l.a0 >= attempts; }
  // The attempts up to the k-th pick (or the last attempt).
  void run(TokenDraw& l) const {
    int32_t cand[kBlock];
    for (; !done(l); l.a0 += kBlock) {
      candidates(l, cand);
      for (int c = 0; c < kBlock; ++c) l.p.offer(cand[c]);
    }
  }
};
}  // namespace synthetic_v1

using synthetic_v1::kBlock;
using synthetic_v1::Picks;
using synthetic_v1::TokenDraw;
using synthetic_v1::V1Sampling;

namespace {
// A token's k values: top-8 (deepseek-v3, the common case) inlined, not a memmove call.
template <class T>
void copy_row(const T* from, size_t k, T* to) {
  if (k == 8)
    std::memcpy(to, from, 8 * sizeof(T));
  else
    std::copy_n(from, k, to);
}
}  // namespace

// A token of route_layer that is drawn (not copied from its predecessor).
struct SyntheticGenerator::Draw {
  size_t i;  // position in the token list
  uint64_t key;
  TokenMeta meta;
};

void SyntheticGenerator::start_v1(TokenDraw& l, const Draw& d, int layer) const {
  const int families = spec_.num_families;
  const int family = families <= 1                                    ? 0
                     : d.meta.family >= 0 && d.meta.family < families ? d.meta.family
                                                                      : d.meta.family % families;
  const uint64_t kb = hash_step_b(stream_prefix_[kBlockStream], d.key);
  const int block =
      num_blocks_ > 1
          ? block_sampler_.bits_view().sample(hash_step_d(hash_step_c(kb, layer), 0) >> 11)
          : 0;
  l.tables[0] =
      (d.meta.phase == Phase::kPrefill ? perm_prefill_[layer] : perm_decode_[layer]).data();
  l.tables[1] = spec_.family_hot_share > 0
                    ? hot_[static_cast<size_t>(layer) * families + family].data() +
                          static_cast<size_t>(block) * block_size_
                    : l.tables[0];
  l.pick = hash_step_c(hash_step_b(stream_prefix_[kPickStream], d.key), layer);
  l.a0 = 0;
}

void SyntheticGenerator::finish_v1(TokenDraw& l, const Draw& d, int layer, int32_t* experts) const {
  const int e_count = model_.num_experts, k = model_.top_k;
  if (l.p.n < k) {  // rare: rejection ran long (top-k close to E, or a tight group limit)
    const uint64_t kf = hash_step_c(hash_step_b(stream_prefix_[kFallbackStream], d.key), layer);
    const uint64_t start = bounded(hash_step_d(kf, 0), e_count);
    for (int i = 0; i < e_count && l.p.n < k; ++i)
      l.p.offer(static_cast<int32_t>((start + i) % e_count));
  }
  copy_row(l.p.picked, static_cast<size_t>(k), experts + d.i * static_cast<size_t>(k));
  l.p.reset();
}

// Version 1's picks of the drawn tokens, one token after the other (drawing 2 or 4 tokens
// interleaved, their offers as independent chains, measured no faster: bench/README).
void SyntheticGenerator::draw_v1(std::span<const Draw> items, int layer, int32_t* experts) const {
  const int e_count = model_.num_experts, k = model_.top_k;
  thread_local std::vector<uint64_t> taken;
  taken.assign((static_cast<size_t>(e_count) + 63) / 64, 0);
  thread_local std::vector<int32_t> picked;
  picked.resize(static_cast<size_t>(k) + 1);
  const V1Sampling s{{zipf_sampler_.bits_view(), in_block_sampler_.bits_view()},
                     spec_.family_hot_share > 0 ? unit_threshold(spec_.family_hot_share) : 0,
                     32 * k};
  TokenDraw l;
  l.p = Picks{taken.data(), picked.data(), group_of_.data(), k,
              model_.num_expert_groups > 1 ? model_.topk_groups : e_count + 1};
  for (const Draw& d : items) {
    start_v1(l, d, layer);
    s.run(l);
    finish_v1(l, d, layer, experts);
  }
}

// Softmax-like decreasing gate weights of route() (the same for every generator version).
// route() sorts them, which never moves one: exp(-0.8 j - 0.5 u) for u in [0, 1) lies in
// (0.607, 1] * e^{-0.8 j}, above the range of j + 1, (0.273, 0.449] * e^{-0.8 j}, also after
// rounding to float. So they come out in order without the sort.
void SyntheticGenerator::gate_weights(uint64_t key, int layer, std::span<float> weights) const {
  if (weights.empty()) return;
  const int k = model_.top_k;
  const uint64_t wkl = hash_step_c(hash_step_b(stream_prefix_[kWeightStream], key), layer);
  constexpr int kMaxK = 32;
  for (int j0 = 0; j0 < k; j0 += kMaxK) {
    const int m = std::min(kMaxK, k - j0);
    double x[kMaxK];
    for (int j = j0; j < j0 + m; ++j) {
      const double u = unit_double(hash_step_d(wkl, static_cast<uint64_t>(j)));
      x[j - j0] = -0.8 * j - 0.5 * u;
    }
    float_exp::exp_to_float(x, weights.data() + j0, m);  // = float(std::exp(x))
  }
  double sum = 0;
  for (int j = 0; j < k; ++j) sum += weights[j];
  for (int j = 0; j < k; ++j) weights[j] = static_cast<float>(weights[j] / sum);
}

// Which listed tokens route_layer draws (with their keys) and which copy a predecessor's
// routing (recurrence: position i copies position p < i).
void SyntheticGenerator::plan_layer(const std::vector<TokenMeta>& metas,
                                    std::span<const int64_t> tokens, int layer,
                                    std::span<const int32_t> previous, std::vector<Draw>& draws,
                                    std::vector<std::pair<size_t, size_t>>& copies) const {
  thread_local std::vector<int64_t> keys;
  keys.resize(tokens.size());
  draws.clear();
  copies.clear();
  // A batch's tokens are interleaved across requests, so their metadata (and a predecessor's)
  // lie far apart in a table of millions: fetched kAhead tokens ahead.
  constexpr size_t kAhead = 16;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (i + kAhead < tokens.size()) {
      const TokenMeta* ahead = metas.data() + tokens[i + kAhead];
      __builtin_prefetch(ahead);
      __builtin_prefetch(ahead - (tokens[i + kAhead] > 0 ? 1 : 0));
    }
    const int64_t t = tokens[i];
    const int32_t p = previous.empty() ? -1 : previous[i];
    int64_t key = t;
    if (p < 0 || spec_.recurrence <= 0) {
      key = draw_key_fast(metas, t, layer);
    } else if (recurs(t, layer)) {  // token t - 1 (same request) is at p < i: its key
      key = keys[static_cast<size_t>(p)];
      if (metas[t - 1].phase == metas[t].phase) {  // and its routing: the same draw
        keys[i] = key;
        copies.emplace_back(i, static_cast<size_t>(p));
        continue;
      }
    }
    keys[i] = key;
    draws.push_back({i, static_cast<uint64_t>(key), metas[t]});
  }
}

void SyntheticGenerator::route_layer(const std::vector<TokenMeta>& metas,
                                     std::span<const int64_t> tokens, int layer,
                                     std::span<int32_t> experts, std::span<float> weights,
                                     std::span<const int32_t> previous) const {
  const size_t k = static_cast<size_t>(model_.top_k);
  if (experts.size() < tokens.size() * k ||
      (!weights.empty() && weights.size() < tokens.size() * k))
    throw Error("SyntheticGenerator::route_layer: output spans too short");
  if (!previous.empty() && previous.size() != tokens.size())
    throw Error("SyntheticGenerator::route_layer: previous positions of another token list");
  thread_local std::vector<Draw> draws;
  thread_local std::vector<std::pair<size_t, size_t>> copies;
  plan_layer(metas, tokens, layer, previous, draws, copies);
  if (v2_) {
    for (const Draw& d : draws)
      route_v2(d.meta, d.key, layer, experts.subspan(d.i * k, k),
               weights.empty() ? weights : weights.subspan(d.i * k, k));
  } else {
    draw_v1(draws, layer, experts.data());
    if (!weights.empty())
      for (const Draw& d : draws) gate_weights(d.key, layer, weights.subspan(d.i * k, k));
  }
  for (const auto& [i, p] : copies) {  // in list order: a copy's source is final
    copy_row(experts.data() + p * k, k, experts.data() + i * k);
    if (!weights.empty()) copy_row(weights.data() + p * k, k, weights.data() + i * k);
  }
}

std::vector<int32_t> previous_positions(const std::vector<TokenMeta>& metas,
                                        std::span<const int64_t> tokens) {
  std::vector<int32_t> prev(tokens.size(), -1);
  if (tokens.empty() || tokens.size() > static_cast<size_t>(INT32_MAX)) return prev;
  const auto [lo, hi] = std::minmax_element(tokens.begin(), tokens.end());
  std::vector<int32_t> pos(static_cast<size_t>(*hi - *lo + 1), -1);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int64_t t = tokens[i];
    if (t > *lo && metas[t - 1].request_id == metas[t].request_id)
      prev[i] = pos[static_cast<size_t>(t - 1 - *lo)];  // -1 when t - 1 comes later or not at all
    pos[static_cast<size_t>(t - *lo)] = static_cast<int32_t>(i);
  }
  return prev;
}

RoutingTrace SyntheticGenerator::fetch(const std::vector<TokenMeta>& metas,
                                       std::span<const int64_t> tokens, int num_layers) const {
  const int64_t n = static_cast<int64_t>(tokens.size());
  RoutingTrace out(num_layers, model_.top_k, model_.num_experts, n);
  out.family_names = family_names();
  out.source = source();
  for (int64_t i = 0; i < n; ++i) out.meta(i) = metas[tokens[i]];
  if (n == 0) return out;
  const size_t span_len = static_cast<size_t>(n) * model_.top_k;
  const std::vector<int32_t> prev = previous_positions(metas, tokens);
  for (int l = 0; l < num_layers; ++l)
    route_layer(metas, tokens, l, {out.experts(l, 0).data(), span_len},
                {out.weights(l, 0).data(), span_len}, prev);
  return out;
}

RoutingTrace SyntheticGenerator::generate(int64_t tokens) const {
  auto metas = token_metas(tokens);
  std::vector<int64_t> idx(metas.size());
  std::iota(idx.begin(), idx.end(), 0);
  return fetch(metas, idx, model_.num_layers);
}

}  // namespace moeb
