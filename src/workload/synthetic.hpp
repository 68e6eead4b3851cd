// Synthetic routing generators: uniform, zipf and task families (co-activation blocks), with
// request structure (prefill then decode tokens), prefill/decode ranking drift and adjacent-token
// recurrence. Every draw is counter-based (core/rng.hpp): the routing of token t at layer l is a
// pure function of (seed, t, l, the request table), so the same seed gives the same trace no
// matter how it is batched, split or which rank asks.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/model.hpp"
#include "core/trace.hpp"

namespace moeb {

struct SyntheticSpec {
  std::string distribution = "zipf";  // uniform | zipf | families
  double zipf_s = 1.0;                // Zipf exponent over a per-layer expert permutation
  int num_families = 1;               // task families (families only; else 1)
  double family_hot_share = 0.0;      // families: P(a pick comes from the token's block)
  int block_experts = 0;              // families: co-activation block size (0 = 2 * top_k)
  int hot_blocks = 0;                 // families: blocks per family hot set (0 = fill E / families)
  double recurrence = 0.0;            // P(token reuses the previous token's draws), per layer
  double phase_mix = 1.0;             // decode ranking = prefill ranking (1) ... independent (0)
  int request_tokens = 64;            // mean request length (uniform in [m/2, 3m/2])
  double prefill_share = 0.5;         // leading share of each request in the prefill phase
  // 1: each pick drawn from the mixture and rejected when taken or outside the group limit
  // (values of every file before the key existed). 2: top-k drawn without replacement from the
  // group-limited distribution itself (groups by mass, then experts in them), no rejection.
  int generator_version = 1;
};

// Throws ConfigError naming `where` (e.g. "workload") and the key when a value is out of range.
void validate_synthetic(const SyntheticSpec& spec, const ModelSpec& model,
                        const std::string& where);

// sample_cdf (below) with a guide table: the same index for every u, in O(1) expected steps.
// Bucket b of the table covers u in [b / M, (b + 1) / M) (M a power of two, so u * M is exact)
// and holds the first index whose cdf exceeds (b / M) * total, a lower bound of the answer.
class CdfSampler {
 public:
  CdfSampler() = default;
  explicit CdfSampler(std::vector<double> cdf);
  int sample(double u) const {
    const double x = u * cdf_.back();
    int i = guide_[static_cast<size_t>(u * static_cast<double>(guide_.size()))];
    const int last = static_cast<int>(cdf_.size()) - 1;
    while (i < last && cdf_[i] <= x) ++i;
    return i;
  }
  // The same sampler by plain pointers (valid while this sampler lives): lets a caller choose
  // between samplers by a select instead of a branch.
  struct View {
    const double* cdf;
    const int32_t* guide;
    double total, buckets;
    int last;
    int sample(double u) const {
      const double x = u * total;
      int i = guide[static_cast<size_t>(u * buckets)];
      i += i < last && cdf[i] <= x;  // the one step most draws take, without a branch
      while (i < last && cdf[i] <= x) ++i;
      return i;
    }
  };
  View view() const {
    return {cdf_.data(), guide_.data(), cdf_.back(), static_cast<double>(guide_.size()),
            static_cast<int>(cdf_.size()) - 1};
  }
  // sample(u) for u = m * 2^-53 (unit_double of a hash: m = h >> 11), in integers: the bucket
  // is m's top bits, and cdf[i] <= u * total holds exactly when m >= threshold[i] (the least m
  // for which it holds; 2^64 - 1 for none). A bucket entry holds its first index, that index's
  // threshold (one step decides between it and the next) and whether the bucket spans more than
  // one step (then the plain walk on thresholds finishes).
  struct Bucket {
    uint64_t threshold;
    int32_t index;
    int32_t more;
  };
  struct BitsView {
    const Bucket* buckets;
    const uint64_t* threshold;
    int shift, last;
    int sample(uint64_t m) const {
      const Bucket& b = buckets[m >> shift];
      int i = b.index + static_cast<int>(m >= b.threshold);
      if (b.more)
        while (i < last && m >= threshold[i]) ++i;
      return i;
    }
  };
  BitsView bits_view() const {
    return {buckets_.data(), threshold_.data(), shift_, static_cast<int>(cdf_.size()) - 1};
  }

 private:
  std::vector<double> cdf_;
  std::vector<int32_t> guide_;
  std::vector<uint64_t> threshold_;
  std::vector<Bucket> buckets_;
  int shift_ = 0;
};

struct SyntheticV2Tables;  // generator_version 2's tables (synthetic_v2.cpp)
namespace synthetic_v1 {
struct TokenDraw;  // a token being drawn by version 1 (synthetic.cpp)
}

class SyntheticGenerator {
 public:
  SyntheticGenerator(SyntheticSpec spec, const ModelSpec& model, uint64_t seed);

  const SyntheticSpec& spec() const { return spec_; }
  // "family0", "family1", ...
  std::vector<std::string> family_names() const;
  // Metadata of exactly `tokens` tokens, requests in order, each request's tokens contiguous
  // (the last request may be cut short).
  std::vector<TokenMeta> token_metas(int64_t tokens) const;
  // Routing of token `t` (an index into `metas`) at `layer`: top_k distinct experts, best first,
  // and decreasing gate weights summing to 1.
  void route(const std::vector<TokenMeta>& metas, int64_t t, int layer, std::span<int32_t> experts,
             std::span<float> weights) const;
  // Bulk form of route() for one layer: the listed tokens (indices into `metas`), token-major,
  // experts [tokens * top_k] and, when `weights` is not empty, weights likewise. Same values as
  // route() token by token (hash prefixes shared per stream and per (token, layer), guide-table
  // sampling, weights skipped when not asked for).
  // `previous`, when given (previous_positions of `tokens`), lets a token whose draw key is its
  // predecessor's (recurrence) copy that token's routing instead of drawing it again.
  void route_layer(const std::vector<TokenMeta>& metas, std::span<const int64_t> tokens, int layer,
                   std::span<int32_t> experts, std::span<float> weights,
                   std::span<const int32_t> previous = {}) const;
  // The listed tokens (indices into `metas`), first `num_layers` layers, in the listed order.
  RoutingTrace fetch(const std::vector<TokenMeta>& metas, std::span<const int64_t> tokens,
                     int num_layers) const;
  // Whole trace of `tokens` tokens (convenience for tests and the calibrated solver).
  RoutingTrace generate(int64_t tokens) const;
  std::string source() const { return label_.empty() ? "synthetic:" + spec_.distribution : label_; }
  void set_source(std::string label) { label_ = std::move(label); }

 private:
  int64_t draw_key(const std::vector<TokenMeta>& metas, int64_t t, int layer) const;
  int32_t sample_pick(int layer, int family, Phase phase, int block, uint64_t h1,
                      uint64_t h2) const;
  int64_t draw_key_fast(const std::vector<TokenMeta>& metas, int64_t t, int layer) const;
  // One step of the draw key's walk: token t (same request as t - 1) reuses t - 1's draws.
  bool recurs(int64_t t, int layer) const;
  // route_layer's parts: the plan (drawn tokens with their keys, copies) and version 1's draw.
  struct Draw;
  void plan_layer(const std::vector<TokenMeta>& metas, std::span<const int64_t> tokens, int layer,
                  std::span<const int32_t> previous, std::vector<Draw>& draws,
                  std::vector<std::pair<size_t, size_t>>& copies) const;
  void draw_v1(std::span<const Draw> items, int layer, int32_t* experts) const;
  void start_v1(synthetic_v1::TokenDraw& l, const Draw& d, int layer) const;
  void finish_v1(synthetic_v1::TokenDraw& l, const Draw& d, int layer, int32_t* experts) const;

  SyntheticSpec spec_;
  std::string label_;
  ModelSpec model_;
  uint64_t seed_;
  int block_size_ = 0, num_blocks_ = 0;
  std::vector<double> zipf_cdf_;      // [E] over ranks
  std::vector<double> block_cdf_;     // [num_blocks] over blocks of a family hot set
  std::vector<double> in_block_cdf_;  // [block_size] within a block
  std::vector<std::vector<int32_t>> perm_prefill_, perm_decode_;  // [L][rank] -> expert
  std::vector<std::vector<int32_t>> hot_;  // [L * F][num_blocks * block_size] -> expert
  // Fast path: the same CDFs with guide tables, and hash_prefix(seed, stream) per stream.
  CdfSampler zipf_sampler_, block_sampler_, in_block_sampler_;
  std::vector<uint64_t> stream_prefix_;
  std::vector<uint8_t> group_of_;  // [E]: expert group of each expert (all 0 without groups)

  // Version 2 (synthetic_v2.cpp): integer tables of the group-limited distribution.
  std::shared_ptr<const SyntheticV2Tables> v2_;
  void build_v2();
  void build_v2_hot(SyntheticV2Tables& t) const;
  void route_v2(const TokenMeta& meta, uint64_t key, int layer, std::span<int32_t> experts,
                std::span<float> weights) const;
  void gate_weights(uint64_t key, int layer, std::span<float> weights) const;
};

// For each listed token (indices into `metas`), the position in `tokens` of token t - 1 of the
// same request when it is listed before it, else -1 (route_layer's `previous`).
std::vector<int32_t> previous_positions(const std::vector<TokenMeta>& metas,
                                        std::span<const int64_t> tokens);

// Index i with cdf[i-1] <= u * cdf.back() < cdf[i] (cdf non-decreasing, last > 0).
int sample_cdf(const std::vector<double>& cdf, double u);
// Cumulative Zipf weights 1/(r+1)^s for r in [0, n).
std::vector<double> zipf_cdf(int n, double s);

}  // namespace moeb
