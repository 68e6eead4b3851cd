// Routing statistics that placement strategies consume: per-layer expert loads and co-activation
// counts, overall, per task family, for prefill tokens, and per calibration batch.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/trace.hpp"

namespace moeb {

struct LayerStats {
  std::vector<double> load;   // [E]: (token, expert) pairs routed to each expert
  std::vector<float> coact;   // [E*E]: tokens whose top-k holds both i and j (symmetric, diag 0)
  double coact_at(int i, int j, int num_experts) const {
    return coact[static_cast<size_t>(i) * num_experts + j];
  }
};

class RoutingStats {
 public:
  RoutingStats() = default;
  RoutingStats(int num_layers, int num_experts, std::vector<std::string> family_names);

  int num_layers() const { return num_layers_; }
  int num_experts() const { return num_experts_; }
  int num_families() const { return static_cast<int>(family_names_.size()); }
  const std::vector<std::string>& family_names() const { return family_names_; }

  // Adds every token of `batch` (one calibration batch); also records its per-layer loads.
  void add_batch(const RoutingTrace& batch);
  // add_batch one layer at a time, for a batch that is never held whole: `fill(layer, experts)`
  // writes that layer's routing of the batch's tokens (token-major, top_k ids each; `metas` in
  // the same order). Layers run on up to `threads` threads (fill is called concurrently for
  // distinct layers); the result is add_batch's, for any thread count.
  void add_batch_layers(std::span<const TokenMeta> metas, int top_k,
                        const std::function<void(int, std::span<int32_t>)>& fill, int threads);
  // Adds loads/co-activation directly (statistics-only import). `family` < 0: overall only.
  void add_coactivation(int layer, int i, int j, double count, int family = -1);
  void add_load(int layer, int expert, double count, int family = -1);

  const LayerStats& layer(int l) const { return all_[l]; }
  const LayerStats& family_layer(int f, int l) const { return per_family_[f][l]; }
  const LayerStats& prefill_layer(int l) const { return prefill_[l]; }
  int64_t tokens() const { return tokens_; }
  int64_t family_tokens(int f) const { return family_tokens_[f]; }
  int64_t prefill_tokens() const { return prefill_tokens_; }
  // Per calibration batch, per layer expert loads: [batch][layer][E] (capped at kMaxBatches).
  const std::vector<std::vector<std::vector<double>>>& batch_loads() const { return batch_loads_; }
  static constexpr size_t kMaxBatches = 256;
  // A uniform sample of the calibration tokens kept whole (every layer's top-k ids), for
  // objectives counted per token (core/objective.hpp). Bottom-k by a hash of (batch index,
  // position in batch): deterministic, independent of how batches arrive, at most
  // kMaxSampleTokens tokens; empty for statistics-only imports or more than 65536 experts.
  struct SampledToken {
    int64_t batch_index = 0;   // calibration batch (order of add_batch calls)
    int32_t position = 0;      // index of the token within its batch
    int32_t batch_tokens = 0;  // size of its batch (token ownership needs it)
  };
  static constexpr size_t kMaxSampleTokens = 65536;
  size_t sample_size() const { return sample_.size(); }
  const SampledToken& sample_token(size_t i) const { return sample_[i]; }
  // Top-k ids of sampled token i at `layer` (top_k entries, in gate order).
  std::span<const uint16_t> sample_experts(size_t i, int layer) const {
    return {&sample_ids_[(i * num_layers_ + layer) * sample_k_], static_cast<size_t>(sample_k_)};
  }
  int sample_top_k() const { return sample_k_; }
  // True when loads were given without any per-token trace (co-activation CSV import).
  bool statistics_only() const { return tokens_ == 0; }

 private:
  void add_layer_counts(int l, std::span<const TokenMeta> metas,
                        const std::vector<std::vector<int64_t>>& by_family,
                        std::span<const int32_t> ids, size_t k, std::vector<double>& batch_load);
  int num_layers_ = 0, num_experts_ = 0;
  std::vector<std::string> family_names_;
  std::vector<LayerStats> all_, prefill_;
  std::vector<std::vector<LayerStats>> per_family_;
  int64_t tokens_ = 0, prefill_tokens_ = 0;
  std::vector<int64_t> family_tokens_;
  std::vector<std::vector<std::vector<double>>> batch_loads_;
  int64_t batches_ = 0;
  int sample_k_ = 0;
  std::vector<SampledToken> sample_;
  std::vector<uint64_t> sample_key_;   // hash key per slot
  std::vector<size_t> sample_heap_;    // slots, max-heap by key
  std::vector<uint16_t> sample_ids_;   // [slot][layer][k]
  void sample_batch(const RoutingTrace& batch);
  // The sample's slot choice for a batch of `tokens` tokens (the keys depend on the batch's
  // position only): the token each slot now holds from this batch, -1 for slots it left alone.
  // Returns false when this batch's tokens are not sampled.
  bool sample_slots(int64_t tokens, int top_k, std::vector<int64_t>& slot_token);
};

}  // namespace moeb
