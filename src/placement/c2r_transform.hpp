// C2R's route transform (Collaboration-Constrained Routing, NAACL 2025, arXiv 2504.01337; code
// UNITES-Lab/c2r-moe, MIT): keep each token's top-1 expert and replace the other k-1 choices by
// the best-scoring experts among the first T of top-1's collaborative list.
#pragma once

#include <vector>

#include "core/placement.hpp"
#include "core/stats.hpp"
#include "placement/strategy.hpp"

namespace moeb {

class C2rTransform final : public RouteTransform {
 public:
  // lists[layer][e]: the first T collaborators of e (others sorted by co-activation, desc).
  explicit C2rTransform(std::vector<std::vector<std::vector<int>>> lists);
  // Collaborative lists of every layer from calibration co-activation, truncated to `top_t`.
  static std::vector<std::vector<std::vector<int>>> build_lists(const RoutingStats& stats, int top_t);

  std::string name() const override { return "c2r"; }
  // The top-1 is the first largest weight and the others are ranked by weight (ties by slot):
  // the choices depend on the weights' order only.
  bool reads_weight_order_only() const override { return true; }
  // Each token's choices are first ranked by gate weight (descending; the trace may store them
  // in any order), so slot 0 is the top-1 expert. Scores (ours, for traces with only top-k ids and weights): an expert the token already
  // chose scores its gate weight plus 1 (so chosen collaborators stay first); another list
  // member scores 1 - position / (T + 1). A replacement takes the gate weight of the choice it
  // replaces. With fewer than k-1 list members available the original choices fill in.
  // The first k-1 of that score order are found from a per-layer position table in O(k) per
  // token when every weight is >= 0 (same choices as sorting the list; the sort otherwise).
  void apply_layer(int layer, int top_k, std::span<int32_t> experts,
                   std::span<float> weights) const override;
  // count_layer counts the set of each token's choices (all count_experts and
  // count_changed_choices read) without ranking and slots when a token allows it (distinct
  // choices, weights >= 0, a list of at least k-1), else transforms that token as apply_layer.
  int64_t count_layer(int layer, int top_k, std::span<const int32_t> experts,
                      std::span<const float> weights, int num_ranks, int num_experts,
                      ExpertCounts& out) const override;
  const std::vector<std::vector<std::vector<int>>>& lists() const { return lists_; }

 private:
  struct TokenScratch;
  // apply_layer on one token's k choices and weights (rewritten in place).
  void transform_token(int layer, int k, int32_t* ids, float* ws, TokenScratch& s) const;
  std::vector<std::vector<std::vector<int>>> lists_;
  // pos_[layer][e * E + x]: position of x in lists_[layer][e], -1 if absent (empty when E is
  // above 32767 or a list repeats a member: that layer then sorts).
  std::vector<std::vector<int16_t>> pos_;
};

// C2R's placement: each layer's collaboration graph (co-activation kept only between an expert
// and its first T collaborators, symmetrized; ours) partitioned onto nodes then ranks, one copy
// per expert, ceil/floor(E/R) per rank. Reads options load_slack and refine_passes.
Placement collaboration_grouping(const PlacementInput& in,
                                 const std::vector<std::vector<std::vector<int>>>& lists);

// The options of c2r and c2r_group: top_t (described by `top_t_description`), then the
// grouping options (placement::with_grouping_options).
std::vector<OptionSpec> c2r_options(const std::string& top_t_description);

// T from the top_t option: 0 = max(k - 1, ceil(E/2)), never above E - 1.
int c2r_top_t(const PlacementInput& in);

}  // namespace moeb
