#include "core/routing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace moeb {

int owner_of_token(int64_t t, int64_t num_tokens, int num_ranks) {
  // Largest r with token_begin(r) <= t; start from the proportional guess and fix up.
  int r =
      static_cast<int>((static_cast<__int128>(t) * num_ranks) / std::max<int64_t>(num_tokens, 1));
  r = std::clamp(r, 0, num_ranks - 1);
  while (r > 0 && token_begin(r, num_tokens, num_ranks) > t) --r;
  while (r + 1 < num_ranks && token_begin(r + 1, num_tokens, num_ranks) <= t) ++r;
  return r;
}

namespace {

// Running load per rank in this batch (load-aware policies), seeded with the prediction scaled
// to the batch's choices.
std::vector<double> initial_load(const LayerPlacement& lp, ReplicaPolicyKind policy, int num_ranks,
                                 size_t num_choices) {
  std::vector<double> load(num_ranks, 0.0);
  if (policy == ReplicaPolicyKind::kLeastLoad && !lp.predicted_rank_load.empty()) {
    double pred_total = 0;
    for (double x : lp.predicted_rank_load) pred_total += x;
    if (pred_total > 0)
      for (int r = 0; r < num_ranks; ++r)
        load[r] = lp.predicted_rank_load[r] / pred_total * static_cast<double>(num_choices);
  }
  return load;
}

}  // namespace

StatelessRoute::StatelessRoute(const LayerPlacement& lp, ReplicaPolicyKind policy,
                               const RouteContext& ctx)
    : batch_prefix_(hash_step_b(hash_prefix(ctx.seed, static_cast<uint64_t>(ctx.layer)),
                                static_cast<uint64_t>(ctx.batch_index))) {
  if (!applies(policy)) throw Error("StatelessRoute: the policy keeps state");
  const bool uniform = policy == ReplicaPolicyKind::kUniform;
  const size_t E = static_cast<size_t>(lp.num_experts());
  first_.resize(E);
  count_.resize(E);
  offset_.resize(E);
  for (size_t e = 0; e < E; ++e) {
    const auto& reps = lp.replicas[e];
    first_[e] = reps[0];
    count_[e] = uniform ? static_cast<int32_t>(reps.size()) : 1;
    offset_[e] = static_cast<int32_t>(flat_.size());
    flat_.insert(flat_.end(), reps.begin(), reps.end());
  }
}

StatefulRoute::StatefulRoute(const LayerPlacement& lp, ReplicaPolicyKind policy,
                             const Topology& topo, const RouteContext& ctx, size_t num_choices)
    : lp_(lp),
      policy_(policy),
      topo_(topo),
      track_load_(policy == ReplicaPolicyKind::kLeastLoad),
      load_(initial_load(lp, policy, topo.num_ranks(), num_choices)),
      rank_words_(static_cast<size_t>(topo.num_ranks() + 63) / 64),
      cand_of_(static_cast<size_t>(lp.num_experts()) * static_cast<size_t>(topo.num_nodes()), -1),
      remote_of_(static_cast<size_t>(lp.num_experts()), -1),
      batch_prefix_(hash_step_b(hash_prefix(ctx.seed, static_cast<uint64_t>(ctx.layer)),
                                static_cast<uint64_t>(ctx.batch_index))) {
  if (StatelessRoute::applies(policy)) throw Error("StatefulRoute: the policy keeps no state");
  const size_t E = static_cast<size_t>(lp.num_experts());
  const int R = topo.num_ranks();
  first_.resize(E);
  count_.resize(E);
  replica_bits_.assign(E * rank_words_, 0);
  for (size_t e = 0; e < E; ++e) {
    const auto& reps = lp.replicas[e];
    first_[e] = reps[0];
    count_[e] = static_cast<int32_t>(reps.size());
    for (const int r : reps)
      if (r >= 0 && r < R)
        replica_bits_[e * rank_words_ + static_cast<size_t>(r) / 64] |= uint64_t{1} << (r % 64);
  }
}

void StatefulRoute::set_owner(int owner) {
  owner_ = owner;
  owner_node_ = topo_.node_of(owner);
  node_sets_ = cand_of_.data() + static_cast<size_t>(owner_node_) * first_.size();
}

const int32_t* StatefulRoute::owner_codes(int owner) {
  if (owner == owner_) return codes_.data();
  set_owner(owner);
  const size_t E = first_.size();
  codes_.resize(E);
  for (size_t e = 0; e < E; ++e) {
    const int32_t x = static_cast<int32_t>(e);
    if (count_[e] == 1) {
      codes_[e] = first_[e];
      continue;
    }
    const size_t bit = e * rank_words_ + (static_cast<unsigned>(owner_) >> 6);
    if ((replica_bits_[bit] >> (owner_ & 63)) & 1) {
      codes_[e] = owner_;
      continue;
    }
    int32_t at = node_sets_[e];
    if (at < 0) at = build_candidates(x);  // sets built ahead of use: the same sets and states
    const Candidates& c = sets_[static_cast<size_t>(at)];
    codes_[e] = c.size == 1 && !track_load_ ? ranks_[static_cast<size_t>(c.begin)] : ~at;
  }
  return codes_.data();
}

uint64_t StatefulRoute::choice_hash(int64_t t, int j) {
  if (prefix_token_ != t) {
    token_prefix_ = hash_step_c(batch_prefix_, static_cast<uint64_t>(t));
    prefix_token_ = t;
  }
  return hash_step_d(token_prefix_, static_cast<uint64_t>(j));
}

// Candidate set of expert e for a token of the current owner (not a replica itself): the
// same-node replicas if any (one set per (expert, node)), else all the (remote) replicas (one
// set per expert, and so one wrr state), with their weights (a weight that is not a positive
// finite number makes the set unweighted). Returns its index, stored for the owner's node.
int32_t StatefulRoute::build_candidates(int32_t e) {
  const int node = owner_node_;
  int32_t& at = node_sets_[e];
  const auto& reps = lp_.replicas[e];
  Candidates c;
  for (const int r : reps) c.local |= topo_.node_of(r) == node;
  if (!c.local && remote_of_[e] >= 0) return at = remote_of_[e];
  c.begin = static_cast<int32_t>(ranks_.size());
  for (size_t k = 0; k < reps.size(); ++k)
    if (!c.local || topo_.node_of(reps[k]) == node) {
      ranks_.push_back(reps[k]);
      weights_.push_back(lp_.replica_weights.empty() ? 1.0 : lp_.replica_weights[e][k]);
      ++c.size;
    }
  const auto w = weights_.begin() + c.begin;
  if (std::any_of(w, weights_.end(), [](double x) { return !(x > 0) || !std::isfinite(x); }))
    std::fill(w, weights_.end(), 1.0);
  current_.resize(ranks_.size(), 0.0);
  at = static_cast<int32_t>(sets_.size());
  if (!c.local) remote_of_[e] = at;
  sets_.push_back(c);
  return at;
}

// A candidate of `c` (not holding the owner) for choice j of token t.
int32_t StatefulRoute::choose(const Candidates& c, int32_t e, int64_t t, int j) {
  const int32_t* ranks = ranks_.data() + c.begin;
  if (policy_ == ReplicaPolicyKind::kLocality)
    return ranks[bounded(choice_hash(t, j), static_cast<uint64_t>(c.size))];
  if (policy_ == ReplicaPolicyKind::kWeightedRR) {  // smooth weighted round robin (as nginx)
    double* cur = current_.data() + c.begin;
    const double* w = weights_.data() + c.begin;
    double total = 0;
    int best = 0;
    for (int i = 0; i < c.size; ++i) {
      cur[i] += w[i];
      total += w[i];
      if (cur[i] > cur[best]) best = i;
    }
    cur[best] -= total;
    return ranks[best];
  }
  // The least loaded candidate; among equal loads the lowest hash_counters(h, rank) (hashed
  // only when loads tie).
  int32_t chosen = first_[e];
  double best = std::numeric_limits<double>::infinity();
  uint64_t h = 0, best_tie = 0;
  bool best_tie_known = false;
  for (int i = 0; i < c.size; ++i) {
    const int32_t r = ranks[i];
    const double load = load_[r];
    if (load > best) continue;
    if (load < best) {
      best = load;
      chosen = r;
      best_tie_known = false;
      continue;
    }
    if (!best_tie_known) {
      h = choice_hash(t, j);
      best_tie = hash_counters(h, static_cast<uint64_t>(chosen));
    }
    best_tie_known = true;
    const uint64_t tie = hash_counters(h, static_cast<uint64_t>(r));
    if (tie < best_tie) {
      best_tie = tie;
      chosen = r;
    }
  }
  return chosen;
}

void route_layer(const LayerPlacement& lp, ReplicaPolicyKind policy, const Topology& topo,
                 std::span<const int32_t> experts, int top_k, const RouteContext& ctx,
                 std::span<int32_t> dest) {
  const int64_t num_tokens = static_cast<int64_t>(experts.size()) / top_k;
  const int num_ranks = topo.num_ranks();
  if (dest.size() != experts.size())
    throw Error("route_layer: dest size differs from experts size");
  // An expert with one replica goes to it: a table lookup. With every expert single (most
  // placements) the layer is lookups alone (least load's running load is local to this call, so
  // skipping it changes nothing).
  const int num_experts = lp.num_experts();
  std::vector<int32_t> only_rank(static_cast<size_t>(num_experts));
  bool single = true;
  for (int e = 0; e < num_experts; ++e) {
    const bool one = lp.replicas[e].size() == 1;
    only_rank[e] = one ? lp.replicas[e][0] : -1;
    single &= one;
  }
  if (single) {
    for (size_t i = 0; i < dest.size(); ++i) dest[i] = only_rank[experts[i]];
    return;
  }
  if (StatelessRoute::applies(policy)) {
    const StatelessRoute route(lp, policy, ctx);
    for (int64_t t = 0; t < num_tokens; ++t) {
      int32_t* d = dest.data() + static_cast<size_t>(t) * top_k;
      route.token(t, experts.data() + static_cast<size_t>(t) * top_k, top_k,
                  [d](int j, int32_t rank) { d[j] = rank; });
    }
    return;
  }
  StatefulRoute route(lp, policy, topo, ctx, experts.size());
  int owner = 0;
  int64_t next_begin = token_begin(1, num_tokens, num_ranks);
  for (int64_t t = 0; t < num_tokens; ++t) {
    while (owner + 1 < num_ranks && t >= next_begin) {
      ++owner;
      next_begin = token_begin(owner + 1, num_tokens, num_ranks);
    }
    int32_t* d = dest.data() + static_cast<size_t>(t) * top_k;
    route.token(t, owner, experts.data() + static_cast<size_t>(t) * top_k, top_k,
                [d](int j, int32_t rank) { d[j] = rank; });
  }
}

}  // namespace moeb
