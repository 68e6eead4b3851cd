#include "core/routing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
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

// Smooth weighted round robin (as nginx): deterministic, proportional to weights.
struct SmoothWrr {
  std::vector<double> current;
  int pick(const std::vector<int>& idx, const std::vector<double>& w) {
    if (current.size() != idx.size()) current.assign(idx.size(), 0.0);
    double total = 0;
    size_t best = 0;
    for (size_t i = 0; i < idx.size(); ++i) {
      current[i] += w[i];
      total += w[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= total;
    return idx[best];
  }
};

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

// Picks one replica of each (token, expert) choice under a policy; keeps the per-batch state
// (running load, smooth weighted round robin per (expert, node)).
class ReplicaChooser {
 public:
  ReplicaChooser(const LayerPlacement& lp, ReplicaPolicyKind policy, const Topology& topo,
                 std::vector<double> load)
      : lp_(lp),
        policy_(policy),
        topo_(topo),
        load_(std::move(load)),
        track_load_(policy == ReplicaPolicyKind::kLeastLoad),
        cand_of_(static_cast<size_t>(lp.num_experts()) * static_cast<size_t>(topo.num_nodes()),
                 -1) {}

  // The replica rank for expert e chosen by a token owned by `owner`; hash() its choice's hash
  // (computed only for an expert with several replicas).
  template <class Hash>
  int choose(int e, int owner, const Hash& hash) {
    const auto& reps = lp_.replicas[e];
    int chosen = reps[0];
    if (reps.size() == 1) {
      if (track_load_) load_[chosen] += 1.0;
      return chosen;
    }
    const uint64_t h = hash();
    if (reps.size() > 1) {
      switch (policy_) {
        case ReplicaPolicyKind::kPrimary:
          break;
        case ReplicaPolicyKind::kUniform:
          chosen = reps[bounded(h, reps.size())];
          break;
        case ReplicaPolicyKind::kLocality:
        case ReplicaPolicyKind::kWeightedRR:
        case ReplicaPolicyKind::kLeastLoad:
          chosen = choose_near(e, owner, h, chosen);
          break;
      }
    }
    if (track_load_) load_[chosen] += 1.0;
    return chosen;
  }

  // Whether choose() reads the running load (only least-load does; others skip keeping it).
  bool tracks_load() const { return track_load_; }
  // A choice sent to rank r without choosing (an expert with one replica), as choose() counts it.
  void add_load(int r) { load_[r] += 1.0; }

 private:
  // Locality-based policies: the owner's own replica, else one of the candidates.
  int choose_near(int e, int owner, uint64_t h, int chosen) {
    const auto& reps = lp_.replicas[e];
    if (std::find(reps.begin(), reps.end(), owner) != reps.end()) return owner;
    const Candidates& c = candidates(e, owner);
    if (policy_ == ReplicaPolicyKind::kLocality) return c.ranks[bounded(h, c.ranks.size())];
    if (policy_ == ReplicaPolicyKind::kWeightedRR) {
      uint64_t key = (static_cast<uint64_t>(e) << 32) ^
                     (c.local ? static_cast<uint64_t>(topo_.node_of(owner)) : 0xFFFFFFFFULL);
      return wrr_state_[key].pick(c.ranks, c.weights);
    }
    // The least loaded candidate; among equal loads the lowest hash_counters(h, rank) (hashed
    // only when loads tie).
    double best = std::numeric_limits<double>::infinity();
    uint64_t best_tie = 0;
    bool best_tie_known = false;
    for (const int r : c.ranks) {
      const double load = load_[r];
      if (load > best) continue;
      if (load < best) {
        best = load;
        chosen = r;
        best_tie_known = false;
        continue;
      }
      if (!best_tie_known) best_tie = hash_counters(h, static_cast<uint64_t>(chosen));
      best_tie_known = true;
      const uint64_t tie = hash_counters(h, static_cast<uint64_t>(r));
      if (tie < best_tie) {
        best_tie = tie;
        chosen = r;
      }
    }
    return chosen;
  }

  // Candidate set of expert e for a token owned by `owner`: same-node replicas if any, else all
  // (remote) replicas, with their weights (a weight that is not a positive finite number makes
  // the set unweighted), and whether they are on the owner's node. Depends on the owner's node
  // only: built once per (expert, node) in this call.
  struct Candidates {
    std::vector<int> ranks;
    std::vector<double> weights;
    bool local = false;
  };
  const Candidates& candidates(int e, int owner) {
    int32_t& at = cand_of_[static_cast<size_t>(e) * topo_.num_nodes() + topo_.node_of(owner)];
    if (at < 0) {
      at = static_cast<int32_t>(cand_sets_.size());
      cand_sets_.push_back(make_candidates(e, owner));
    }
    return cand_sets_[static_cast<size_t>(at)];
  }

  Candidates make_candidates(int e, int owner) const {
    const auto& reps = lp_.replicas[e];
    Candidates c;
    for (size_t k = 0; k < reps.size(); ++k)
      if (topo_.same_node(reps[k], owner)) c.local = true;
    for (size_t k = 0; k < reps.size(); ++k)
      if (!c.local || topo_.same_node(reps[k], owner)) {
        c.ranks.push_back(reps[k]);
        c.weights.push_back(lp_.replica_weights.empty() ? 1.0 : lp_.replica_weights[e][k]);
      }
    for (double x : c.weights)
      if (!(x > 0) || !std::isfinite(x)) {
        c.weights.assign(c.ranks.size(), 1.0);
        break;
      }
    return c;
  }

  const LayerPlacement& lp_;
  ReplicaPolicyKind policy_;
  const Topology& topo_;
  std::vector<double> load_;
  bool track_load_;
  std::unordered_map<uint64_t, SmoothWrr> wrr_state_;
  std::vector<int32_t> cand_of_;  // [expert * nodes + node]: index into cand_sets_, -1 = not yet
  std::vector<Candidates> cand_sets_;
};

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

void route_layer(const LayerPlacement& lp, ReplicaPolicyKind policy, const Topology& topo,
                 std::span<const int32_t> experts, int top_k, const RouteContext& ctx,
                 std::span<int32_t> dest) {
  const int64_t num_tokens = static_cast<int64_t>(experts.size()) / top_k;
  const int num_ranks = topo.num_ranks();
  if (dest.size() != experts.size())
    throw Error("route_layer: dest size differs from experts size");
  // An expert with one replica goes to it: a table lookup (-1: several replicas, the chooser
  // decides). With every expert single (most placements) the layer is lookups alone (the
  // chooser's running load is local to this call, so skipping it changes nothing).
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
  const uint64_t batch_prefix = hash_step_b(hash_prefix(ctx.seed, static_cast<uint64_t>(ctx.layer)),
                                            static_cast<uint64_t>(ctx.batch_index));
  if (StatelessRoute::applies(policy)) {
    const StatelessRoute route(lp, policy, ctx);
    for (int64_t t = 0; t < num_tokens; ++t) {
      int32_t* d = dest.data() + static_cast<size_t>(t) * top_k;
      route.token(t, experts.data() + static_cast<size_t>(t) * top_k, top_k,
                  [d](int j, int32_t rank) { d[j] = rank; });
    }
    return;
  }
  ReplicaChooser chooser(lp, policy, topo, initial_load(lp, policy, num_ranks, experts.size()));
  const bool tracks_load = chooser.tracks_load();
  int owner = 0;
  int64_t next_begin = token_begin(1, num_tokens, num_ranks);
  for (int64_t t = 0; t < num_tokens; ++t) {
    while (owner + 1 < num_ranks && t >= next_begin) {
      ++owner;
      next_begin = token_begin(owner + 1, num_tokens, num_ranks);
    }
    // hash_counters(seed, layer, batch_index, t, j), its shared prefix computed once.
    const uint64_t token_prefix = hash_step_c(batch_prefix, static_cast<uint64_t>(t));
    for (int j = 0; j < top_k; ++j) {
      const size_t i = static_cast<size_t>(t) * top_k + j;
      const int32_t only = only_rank[experts[i]];
      if (only >= 0) {
        if (tracks_load) chooser.add_load(only);
        dest[i] = only;
        continue;
      }
      dest[i] = chooser.choose(experts[i], owner,
                               [&] { return hash_step_d(token_prefix, static_cast<uint64_t>(j)); });
    }
  }
}

}  // namespace moeb
