#include "core/stats.hpp"

#include <algorithm>
#include <climits>
#include <cmath>

#include "core/error.hpp"
#include "core/parallel.hpp"
#include "core/rng.hpp"

namespace moeb {

namespace {
LayerStats empty_layer(int e) {
  LayerStats s;
  s.load.assign(e, 0.0);
  s.coact.assign(static_cast<size_t>(e) * e, 0.0f);
  return s;
}
void add_token(LayerStats& s, std::span<const int32_t> ids, int e) {
  for (size_t a = 0; a < ids.size(); ++a) {
    s.load[ids[a]] += 1.0;
    for (size_t b = a + 1; b < ids.size(); ++b) {
      s.coact[static_cast<size_t>(ids[a]) * e + ids[b]] += 1.0f;
      s.coact[static_cast<size_t>(ids[b]) * e + ids[a]] += 1.0f;
    }
  }
}

// Pair counts of one layer's tokens in one direction (c[a * E + b] for a listed before b in a
// token), integers, folded into a LayerStats afterwards: the same values as add_token's float
// increments (fold_pairs falls back to those where a float would not hold the count exactly).
struct PairCounts {
  int e = 0;
  std::vector<uint32_t> pairs;  // [E * E]
  std::vector<int64_t> load;    // [E]
  explicit PairCounts(int experts)
      : e(experts), pairs(static_cast<size_t>(experts) * experts, 0), load(experts, 0) {}
  void add(const int32_t* ids, size_t k) {
    for (size_t a = 0; a < k; ++a) {
      ++load[ids[a]];
      uint32_t* row = pairs.data() + static_cast<size_t>(ids[a]) * e;
      for (size_t b = a + 1; b < k; ++b) ++row[ids[b]];
    }
  }
  // Adds another matrix's counts (the same integers as its tokens added here one by one).
  void add_counts(const PairCounts& o) {
    for (size_t i = 0; i < pairs.size(); ++i) pairs[i] += o.pairs[i];
    for (int x = 0; x < e; ++x) load[x] += o.load[x];
  }
  // Adds the counts to `s` (both directions, as add_token does) and clears them.
  void fold_into(LayerStats& s) {
    for (int x = 0; x < e; ++x) {
      add_ones(s.load[x], load[x]);
      load[x] = 0;
      for (int y = x; y < e; ++y) {
        const size_t xy = static_cast<size_t>(x) * e + y, yx = static_cast<size_t>(y) * e + x;
        const int64_t n = x == y ? 2 * int64_t{pairs[xy]} : int64_t{pairs[xy]} + pairs[yx];
        pairs[xy] = pairs[yx] = 0;
        if (n == 0) continue;
        add_ones(s.coact[xy], n);
        if (x != y) add_ones(s.coact[yx], n);
      }
    }
  }
  // `n` additions of 1 to `v`, as add_token makes them one by one: at once where every
  // partial sum is an exact integer of T (up to 2^24 for a float, 2^53 for a double).
  template <typename T>
  static void add_ones(T& v, int64_t n) {
    constexpr double kExact = sizeof(T) == 4 ? 0x1.0p24 : 0x1.0p53;
    if (v == std::floor(v) && static_cast<double>(v) + static_cast<double>(n) <= kExact) {
      v = static_cast<T>(static_cast<double>(v) + static_cast<double>(n));
      return;
    }
    for (int64_t i = 0; i < n; ++i) v += T{1};
  }
};

// Token positions of each family, in order.
std::vector<std::vector<int64_t>> tokens_by_family(std::span<const TokenMeta> metas, int families) {
  std::vector<std::vector<int64_t>> out(static_cast<size_t>(families));
  for (size_t t = 0; t < metas.size(); ++t) out[metas[t].family].push_back(static_cast<int64_t>(t));
  return out;
}
}  // namespace

RoutingStats::RoutingStats(int num_layers, int num_experts, std::vector<std::string> family_names)
    : num_layers_(num_layers), num_experts_(num_experts), family_names_(std::move(family_names)) {
  if (family_names_.empty()) family_names_ = {"default"};
  all_.assign(num_layers, empty_layer(num_experts));
  prefill_.assign(num_layers, empty_layer(num_experts));
  per_family_.assign(family_names_.size(), std::vector<LayerStats>(num_layers, empty_layer(num_experts)));
  family_tokens_.assign(family_names_.size(), 0);
}

void RoutingStats::add_batch(const RoutingTrace& batch) {
  if (batch.num_layers() != num_layers_ || batch.num_experts() != num_experts_)
    throw InputError("routing statistics: batch has " + std::to_string(batch.num_layers()) +
                     " layers x " + std::to_string(batch.num_experts()) + " experts, expected " +
                     std::to_string(num_layers_) + " x " + std::to_string(num_experts_));
  std::vector<std::vector<double>> per_layer(num_layers_, std::vector<double>(num_experts_, 0.0));
  for (int64_t t = 0; t < batch.num_tokens(); ++t) {
    const auto& m = batch.meta(t);
    if (m.family < 0 || m.family >= num_families())
      throw InputError("routing statistics: token family " + std::to_string(m.family) +
                       " outside the family table");
    for (int l = 0; l < num_layers_; ++l) {
      auto ids = batch.experts(l, t);
      add_token(all_[l], ids, num_experts_);
      add_token(per_family_[m.family][l], ids, num_experts_);
      if (m.phase == Phase::kPrefill) add_token(prefill_[l], ids, num_experts_);
      for (int32_t e : ids) per_layer[l][e] += 1.0;
    }
    ++tokens_;
    ++family_tokens_[m.family];
    if (m.phase == Phase::kPrefill) ++prefill_tokens_;
  }
  if (batch_loads_.size() < kMaxBatches) batch_loads_.push_back(std::move(per_layer));
  sample_batch(batch);
  ++batches_;
}

void RoutingStats::sample_batch(const RoutingTrace& batch) {
  std::vector<int64_t> slot_token;
  if (!sample_slots(batch.num_tokens(), batch.top_k(), slot_token)) return;
  const size_t per_token = static_cast<size_t>(num_layers_) * sample_k_;
  for (size_t slot = 0; slot < slot_token.size(); ++slot) {
    if (slot_token[slot] < 0) continue;
    uint16_t* out = &sample_ids_[slot * per_token];
    for (int l = 0; l < num_layers_; ++l)
      for (int32_t e : batch.experts(l, slot_token[slot])) *out++ = static_cast<uint16_t>(e);
  }
}

bool RoutingStats::sample_slots(int64_t tokens, int top_k, std::vector<int64_t>& slot_token) {
  if (num_experts_ > 65536 || tokens > INT32_MAX) return false;
  if (sample_k_ == 0) sample_k_ = top_k;
  if (top_k != sample_k_) return false;  // a batch of another top-k: keep the sample consistent
  const size_t per_token = static_cast<size_t>(num_layers_) * top_k;
  auto key_less = [&](size_t a, size_t b) { return sample_key_[a] < sample_key_[b]; };
  slot_token.assign(sample_.size(), -1);
  for (int64_t t = 0; t < tokens; ++t) {
    const uint64_t key = hash_counters(0x5A3B1E, static_cast<uint64_t>(batches_),
                                       static_cast<uint64_t>(t));
    size_t slot;
    if (sample_.size() < kMaxSampleTokens) {
      slot = sample_.size();
      sample_.emplace_back();
      sample_key_.push_back(key);
      sample_ids_.resize(sample_ids_.size() + per_token);
      sample_heap_.push_back(slot);
      std::push_heap(sample_heap_.begin(), sample_heap_.end(), key_less);
      slot_token.push_back(-1);
    } else {
      if (key >= sample_key_[sample_heap_.front()]) continue;
      std::pop_heap(sample_heap_.begin(), sample_heap_.end(), key_less);
      slot = sample_heap_.back();
      sample_key_[slot] = key;
      std::push_heap(sample_heap_.begin(), sample_heap_.end(), key_less);
    }
    sample_[slot] = {batches_, static_cast<int32_t>(t), static_cast<int32_t>(tokens)};
    slot_token[slot] = t;
  }
  return true;
}

void RoutingStats::add_batch_layers(std::span<const TokenMeta> metas, int top_k,
                                    const std::function<void(int, std::span<int32_t>)>& fill,
                                    int threads) {
  for (const auto& m : metas)
    if (m.family < 0 || m.family >= num_families())
      throw InputError("routing statistics: token family " + std::to_string(m.family) +
                       " outside the family table");
  const size_t k = static_cast<size_t>(top_k);
  const int64_t T = static_cast<int64_t>(metas.size());
  std::vector<int64_t> slot_token;
  const bool sampled = sample_slots(T, top_k, slot_token);
  const size_t per_token = static_cast<size_t>(num_layers_) * k;
  std::vector<std::vector<double>> per_layer(num_layers_, std::vector<double>(num_experts_, 0.0));
  const std::vector<std::vector<int64_t>> by_family = tokens_by_family(metas, num_families());
  parallel_for(num_layers_, threads, [&](int l) {
    std::vector<int32_t> ids(metas.size() * k);
    fill(l, ids);
    for (int32_t e : ids)
      if (e < 0 || e >= num_experts_)
        throw InputError("routing statistics: expert id " + std::to_string(e) + " out of range");
    add_layer_counts(l, metas, by_family, ids, k, per_layer[l]);
    if (!sampled) return;
    for (size_t slot = 0; slot < slot_token.size(); ++slot) {
      if (slot_token[slot] < 0) continue;
      uint16_t* out = &sample_ids_[slot * per_token + l * k];
      for (size_t j = 0; j < k; ++j)
        out[j] = static_cast<uint16_t>(ids[static_cast<size_t>(slot_token[slot]) * k + j]);
    }
  });
  for (const auto& m : metas) {
    ++tokens_;
    ++family_tokens_[m.family];
    if (m.phase == Phase::kPrefill) ++prefill_tokens_;
  }
  if (batch_loads_.size() < kMaxBatches) batch_loads_.push_back(std::move(per_layer));
  ++batches_;
}

// One layer of a batch (add_batch_layers): every token into the layer's statistics, overall,
// by family and prefill, with the same values as add_token token by token. A family with few
// tokens in the batch takes add_token's increments directly (folding E * E counts would cost
// more).
void RoutingStats::add_layer_counts(int l, std::span<const TokenMeta> metas,
                                    const std::vector<std::vector<int64_t>>& by_family,
                                    std::span<const int32_t> ids, size_t k,
                                    std::vector<double>& batch_load) {
  const int e = num_experts_;
  PairCounts all(e), prefill(e), family(e);
  for (size_t f = 0; f < by_family.size(); ++f) {
    const auto& toks = by_family[f];
    if (toks.empty()) continue;
    const bool dense = toks.size() * k * k >= static_cast<size_t>(e) * e / 4;
    for (int64_t t : toks) {
      const int32_t* tok = ids.data() + static_cast<size_t>(t) * k;
      if (metas[t].phase == Phase::kPrefill) prefill.add(tok, k);
      if (dense) {
        family.add(tok, k);
      } else {
        all.add(tok, k);
        add_token(per_family_[f][l], {tok, k}, e);
      }
    }
    if (dense) {  // the overall counts are the sum over families: a dense family's added at once
      all.add_counts(family);
      family.fold_into(per_family_[f][l]);
    }
  }
  for (int x = 0; x < e; ++x) batch_load[x] += static_cast<double>(all.load[x]);
  all.fold_into(all_[l]);
  prefill.fold_into(prefill_[l]);
}

void RoutingStats::add_coactivation(int layer, int i, int j, double count, int family) {
  auto bump = [&](LayerStats& s) {
    s.coact[static_cast<size_t>(i) * num_experts_ + j] += static_cast<float>(count);
    s.coact[static_cast<size_t>(j) * num_experts_ + i] += static_cast<float>(count);
  };
  bump(all_[layer]);
  if (family >= 0) bump(per_family_[family][layer]);
}

void RoutingStats::add_load(int layer, int expert, double count, int family) {
  all_[layer].load[expert] += count;
  if (family >= 0) per_family_[family][layer].load[expert] += count;
}

}  // namespace moeb
