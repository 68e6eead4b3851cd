// Token ownership and replica routing: which rank owns a token, and which replica rank serves
// each (token, expert) pair. Shared by the runtime (both backends) and the pure evaluator, so a
// measured run and a prediction route identically. Every rank computes the whole batch's routing
// in global token order, so load-aware policies are deterministic on any rank count.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/placement.hpp"
#include "core/rng.hpp"
#include "core/topology.hpp"

namespace moeb {

// Rank r owns tokens [token_begin(r), token_begin(r + 1)) of a T-token batch.
inline int64_t token_begin(int rank, int64_t num_tokens, int num_ranks) {
  return static_cast<int64_t>((static_cast<__int128>(rank) * num_tokens) / num_ranks);
}
// Owner rank of token t (inverse of token_begin).
int owner_of_token(int64_t t, int64_t num_tokens, int num_ranks);

struct RouteContext {
  uint64_t seed = 0;
  int layer = 0;
  int64_t batch_index = 0;
};

// Routing under a policy without state (primary: the first replica; uniform: a replica drawn
// by hash_counters(seed, layer, batch_index, t, j), drawn only for an expert with several
// replicas), from flat tables: what route_layer does for those policies, one token at a time,
// so that a counter can consume the ranks without an array of them.
class StatelessRoute {
 public:
  static bool applies(ReplicaPolicyKind policy) {
    return policy == ReplicaPolicyKind::kPrimary || policy == ReplicaPolicyKind::kUniform;
  }
  StatelessRoute(const LayerPlacement& lp, ReplicaPolicyKind policy, const RouteContext& ctx);
  // Calls sink(j, rank) for every choice j of token t; `x` holds its top_k expert ids.
  template <class Sink>
  void token(int64_t t, const int32_t* x, int top_k, Sink&& sink) const {
    uint64_t token_prefix = 0;
    bool prefixed = false;
    for (int j = 0; j < top_k; ++j) {
      const int32_t e = x[j];
      const int32_t n = count_[e];
      if (n == 1) {
        sink(j, first_[e]);
        continue;
      }
      if (!prefixed) token_prefix = hash_step_c(batch_prefix_, static_cast<uint64_t>(t));
      prefixed = true;
      const uint64_t h = hash_step_d(token_prefix, static_cast<uint64_t>(j));
      sink(j, flat_[static_cast<size_t>(offset_[e]) + bounded(h, static_cast<uint64_t>(n))]);
    }
  }
  // The tables token() reads, for a counter that routes in its own loop: choice j of token t
  // of expert e goes to flat[offset[e] + i], i = 0 when count[e] == 1, else
  // bounded(hash_step_d(hash_step_c(batch_prefix, t), j), count[e]).
  std::span<const int32_t> count() const { return count_; }
  std::span<const int32_t> offset() const { return offset_; }
  std::span<const int32_t> flat() const { return flat_; }
  uint64_t batch_prefix() const { return batch_prefix_; }

 private:
  std::vector<int32_t> first_, count_, offset_, flat_;  // [expert], then the replicas in a row
  uint64_t batch_prefix_ = 0;
};

// Routing under a policy with state (locality, weighted round robin, least load), token by
// token in token order (t = 0, 1, ... of one layer of one batch), from flat tables: what
// route_layer does for those policies, so that a counter can consume the ranks without an array
// of them. An expert with one replica goes to it (counted in the running load); with several,
// the owner's own replica, else a candidate of the (expert, owner's node) set: drawn by hash
// (locality), by smooth weighted round robin per set (wrr), or the least loaded, equal loads
// broken by the lowest hash_counters(h, rank) (least load). h = hash_counters(seed, layer,
// batch_index, t, j), computed only when read.
class StatefulRoute {
 public:
  // `num_choices`: the layer's num_tokens * top_k (least load's running load starts from the
  // placement's predicted load scaled to it).
  StatefulRoute(const LayerPlacement& lp, ReplicaPolicyKind policy, const Topology& topo,
                const RouteContext& ctx, size_t num_choices);
  // Calls sink(j, rank) for every choice j of token t, owned by rank `owner`. Tokens must come
  // in order. A choice's rank comes from the owner's table (owner_codes), the policy's choice
  // only where the table has none; least load adds one to the chosen rank's running load.
  template <class Sink>
  void token(int64_t t, int owner, const int32_t* x, int top_k, Sink&& sink) {
    const int32_t* const code = owner_codes(owner);
    double* const load = track_load_ ? load_.data() : nullptr;
    for (int j = 0; j < top_k; ++j) {
      const int32_t e = x[j];
      int32_t r = code[e];
      if (r < 0) r = choose(sets_[static_cast<size_t>(~r)], e, t, j);
      if (load) load[r] += 1.0;
      sink(j, r);
    }
  }

 private:
  // A candidate set: ranks_[begin, begin + size) with their weights and, for wrr, its state.
  struct Candidates {
    int32_t begin = 0, size = 0;
    bool local = false;
  };
  // The table of tokens owned by `owner`, [expert]: a rank >= 0 where every choice of the
  // expert goes there (its one replica, the owner's own, or a lone candidate without load
  // tracking), else ~(its candidate set's index). Built when the owner changes.
  const int32_t* owner_codes(int owner);
  void set_owner(int owner);
  int32_t build_candidates(int32_t e);
  int32_t choose(const Candidates& c, int32_t e, int64_t t, int j);
  uint64_t choice_hash(int64_t t, int j);

  const LayerPlacement& lp_;
  ReplicaPolicyKind policy_;
  const Topology& topo_;
  bool track_load_;
  std::vector<double> load_;            // [rank]: running load (least load)
  std::vector<int32_t> first_, count_;  // [expert]
  size_t rank_words_ = 0;               // 64-bit words per expert in replica_bits_
  std::vector<uint64_t> replica_bits_;  // [expert * rank_words_]: bit r: r hosts it
  std::vector<int32_t> cand_of_;        // [node * experts + expert], -1: not built
  std::vector<int32_t> remote_of_;      // [expert]: the shared remote set, or -1
  std::vector<Candidates> sets_;
  std::vector<int32_t> ranks_;             // candidate ranks, set after set
  std::vector<double> weights_, current_;  // their weights and wrr's running values
  std::vector<int32_t> codes_;  // owner_codes' table, for owner_
  int owner_ = -1, owner_node_ = -1;
  int32_t* node_sets_ = nullptr;  // the owner's node's row of cand_of_
  uint64_t batch_prefix_ = 0, token_prefix_ = 0;
  int64_t prefix_token_ = -1;  // the token token_prefix_ is for
};

// Fills dest[t * top_k + j] with the rank serving expert experts[t * top_k + j] of token t.
// `experts` holds num_tokens * top_k ids of one layer.
void route_layer(const LayerPlacement& lp, ReplicaPolicyKind policy, const Topology& topo,
                 std::span<const int32_t> experts, int top_k, const RouteContext& ctx,
                 std::span<int32_t> dest);

}  // namespace moeb
