// Placement objectives counted exactly per token, with incremental re-evaluation: the tokens of
// one layer (owner rank, top-k ids, routing hashes) are held once, and changing the replicas of
// a few experts re-routes only the tokens that chose one of them. The counts follow the
// evaluator (core/evaluator.hpp: dedup per destination rank, combine mirroring dispatch) and the
// layer time is the cost model's (core/cost_model.hpp) t_layer of those counts.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/cost_model.hpp"
#include "core/placement.hpp"
#include "core/stats.hpp"
#include "core/topology.hpp"
#include "core/trace.hpp"

namespace moeb {

enum class ObjectiveKind {
  kInterNodeBytes,  // dispatch + combine bytes between nodes
  kTotalBytes,      // dispatch + combine bytes between distinct ranks
  kMaxRankLoad,     // (token, expert) pairs computed by the busiest rank
  kLayerTime,       // the cost model's t_layer (needs a system model and a model spec)
};
const char* to_string(ObjectiveKind k);
// Every kind, in the order above.
std::span<const ObjectiveKind> objective_kinds();
// Parses inter_node_bytes | total_bytes | max_rank_load | layer_time; ConfigError naming `where`.
ObjectiveKind parse_objective(const std::string& s, const std::string& where);
// The unit of an objective's value ("bytes", "rows", "s").
const char* objective_unit(ObjectiveKind k);

struct ObjectiveConfig {
  ObjectiveKind kind = ObjectiveKind::kInterNodeBytes;
  // primary, uniform or locality: the policies whose choice for one (token, expert) depends on
  // that pair alone, which is what makes re-evaluating only the affected tokens exact.
  ReplicaPolicyKind policy = ReplicaPolicyKind::kPrimary;
  uint64_t seed = 0;  // RouteContext seed
  int64_t dispatch_row_bytes = 1, combine_row_bytes = 1;
  const SystemModel* system = nullptr;  // kLayerTime only
  const ModelSpec* model = nullptr;     // kLayerTime only
};
// True for the policies ObjectiveConfig accepts.
bool stateless_policy(ReplicaPolicyKind k);

// The tokens of one layer an objective is evaluated on.
struct LayerTokens {
  int top_k = 0;
  std::vector<int32_t> owner;         // [T] owner rank (contiguous ownership within its batch)
  std::vector<int32_t> experts;       // [T * k]
  std::vector<uint64_t> route_hash;   // [T * k] the RouteContext hash of each choice
  int64_t num_tokens() const { return static_cast<int64_t>(owner.size()); }
  // Appends the tokens of layer `layer` of one batch, owned and hashed as route_layer does for
  // RouteContext{seed, layer, batch_index}.
  void append_batch(const RoutingTrace& batch, int layer, int num_ranks, uint64_t seed,
                    int64_t batch_index);
};
// Layer `layer` of the token sample of calibration statistics (RoutingStats::sample_*); with
// 0 < max_tokens < the sample's size, a uniform sub-sample of max_tokens of them (the smallest
// hashes of (batch, position)), the same for every layer.
LayerTokens sample_layer_tokens(const RoutingStats& stats, int layer, int num_ranks,
                                uint64_t seed, int64_t max_tokens = 0);

// One replica choice of a stateless policy, exactly as route_layer makes it.
int route_choice(const std::vector<int>& reps, ReplicaPolicyKind policy, const Topology& topo,
                 int owner, uint64_t hash);

// The objective of one layer under a placement, kept up to date under replica changes.
class LayerObjective {
 public:
  LayerObjective(const ObjectiveConfig& cfg, const Topology& topo, int num_experts,
                 LayerTokens tokens);
  // Evaluates `lp` from scratch (each expert needs >= 1 replica).
  void reset(const LayerPlacement& lp);
  double value() const;
  const LayerPlacement& placement() const { return lp_; }
  // Sets the replicas of the listed experts (each list non-empty, distinct ranks) and
  // re-evaluates only the tokens that chose one of them, each once. Call with the old lists to
  // undo.
  using ReplicaChanges = std::vector<std::pair<int, std::vector<int>>>;
  void set_replicas(const ReplicaChanges& changes);
  void set_replicas(int e, const std::vector<int>& ranks) { set_replicas({{e, ranks}}); }
  int64_t tokens_of(int e) const { return tok_begin_[e + 1] - tok_begin_[e]; }
  const LayerTokens& tokens() const { return tok_; }
  // Counts of the current placement (tests hold them against the evaluator).
  int64_t inter_node_copies() const { return inter_copies_; }
  int64_t off_rank_copies() const { return off_rank_copies_; }
  const std::vector<int64_t>& rows_computed() const { return rows_computed_; }

 private:
  void remove_token(int64_t t);
  void add_token(int64_t t);
  void bump_row(int owner, int dest, int64_t by);
  void bump_expert(int e, int dest, int64_t by);
  double layer_time() const;

  ObjectiveConfig cfg_;
  const Topology* topo_;
  int R_, E_;
  LayerTokens tok_;
  std::vector<int64_t> tok_begin_;  // [E + 1] CSR offsets into tok_list_
  std::vector<int64_t> tok_list_;   // tokens choosing each expert (a token once per expert)
  LayerPlacement lp_;
  std::vector<int32_t> dest_;            // [T * k]
  std::vector<int64_t> rows_;            // [R * R] deduplicated copies owner -> dest
  std::vector<int64_t> rows_computed_;   // [R]
  std::vector<int64_t> copies_sent_;     // [R] row sums of rows_ (local copies included)
  std::vector<int64_t> tokens_owned_;    // [R]
  std::vector<int64_t> expert_rows_;     // [E * R] rows of expert e computed on rank r
  std::vector<int64_t> touched_;         // [R] experts with >= 1 row on the rank
  int64_t inter_copies_ = 0, off_rank_copies_ = 0;
  std::vector<uint32_t> stamp_;  // [T] dedup of affected tokens
  uint32_t epoch_ = 0;
};

// The best placement that holds each expert exactly once with at most `slots` experts per rank,
// for the objectives that add up over ranks (inter_node_bytes, total_bytes: a token's copies are
// one per destination rank; max_rank_load: a maximum over ranks): dynamic programming over
// ranks and subsets of experts. For up to 20 experts and 16 ranks; throws Error otherwise or
// for layer_time. With slots * R == E this is the optimum over every placement (no spare slot
// can hold a replica).
struct ExactResult {
  LayerPlacement placement;
  double value = 0;
};
ExactResult exact_single_copy(const ObjectiveConfig& cfg, const Topology& topo, int num_experts,
                              int slots, const LayerTokens& tokens);
// The same optimum by enumerating every such placement through LayerObjective (any objective,
// layer_time included); for up to 10 experts and 8 ranks.
ExactResult enumerate_single_copy(const ObjectiveConfig& cfg, const Topology& topo,
                                  int num_experts, int slots, const LayerTokens& tokens);

}  // namespace moeb
