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
  int r = static_cast<int>((static_cast<__int128>(t) * num_ranks) / std::max<int64_t>(num_tokens, 1));
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
      : lp_(lp), policy_(policy), topo_(topo), load_(std::move(load)) {}

  // The replica rank for expert e chosen by a token owned by `owner`; hash() its choice's hash
  // (computed only for an expert with several replicas).
  template <class Hash>
  int choose(int e, int owner, const Hash& hash) {
    const auto& reps = lp_.replicas[e];
    int chosen = reps[0];
    if (reps.size() == 1) {
      load_[chosen] += 1.0;
      return chosen;
    }
    const uint64_t h = hash();
    if (reps.size() > 1) {
      switch (policy_) {
        case ReplicaPolicyKind::kPrimary: break;
        case ReplicaPolicyKind::kUniform: chosen = reps[bounded(h, reps.size())]; break;
        case ReplicaPolicyKind::kLocality:
        case ReplicaPolicyKind::kWeightedRR:
        case ReplicaPolicyKind::kLeastLoad: chosen = choose_near(e, owner, h, chosen); break;
      }
    }
    load_[chosen] += 1.0;
    return chosen;
  }

 private:
  // Locality-based policies: the owner's own replica, else one of the candidates.
  int choose_near(int e, int owner, uint64_t h, int chosen) {
    const auto& reps = lp_.replicas[e];
    if (std::find(reps.begin(), reps.end(), owner) != reps.end()) return owner;
    const bool local = fill_candidates(e, owner);
    if (policy_ == ReplicaPolicyKind::kLocality) return cand_[bounded(h, cand_.size())];
    if (policy_ == ReplicaPolicyKind::kWeightedRR) {
      uint64_t key = (static_cast<uint64_t>(e) << 32) ^
                     (local ? static_cast<uint64_t>(topo_.node_of(owner)) : 0xFFFFFFFFULL);
      return wrr_state_[key].pick(cand_, cand_w_);
    }
    double best = std::numeric_limits<double>::infinity();
    uint64_t best_tie = 0;
    for (size_t k = 0; k < cand_.size(); ++k) {
      uint64_t tie = hash_counters(h, static_cast<uint64_t>(cand_[k]));
      if (load_[cand_[k]] < best || (load_[cand_[k]] == best && tie < best_tie)) {
        best = load_[cand_[k]];
        best_tie = tie;
        chosen = cand_[k];
      }
    }
    return chosen;
  }

  // Candidate set: same-node replicas if any, else all (remote) replicas, with their weights (a
  // weight that is not a positive finite number makes the set unweighted). Returns whether the
  // candidates are on the owner's node.
  bool fill_candidates(int e, int owner) {
    const auto& reps = lp_.replicas[e];
    cand_.clear();
    cand_w_.clear();
    bool local = false;
    for (size_t k = 0; k < reps.size(); ++k)
      if (topo_.same_node(reps[k], owner)) local = true;
    for (size_t k = 0; k < reps.size(); ++k)
      if (!local || topo_.same_node(reps[k], owner)) {
        cand_.push_back(reps[k]);
        cand_w_.push_back(lp_.replica_weights.empty() ? 1.0 : lp_.replica_weights[e][k]);
      }
    for (double x : cand_w_)
      if (!(x > 0) || !std::isfinite(x)) {
        cand_w_.assign(cand_.size(), 1.0);
        break;
      }
    return local;
  }

  const LayerPlacement& lp_;
  ReplicaPolicyKind policy_;
  const Topology& topo_;
  std::vector<double> load_;
  std::unordered_map<uint64_t, SmoothWrr> wrr_state_;
  std::vector<int> cand_;
  std::vector<double> cand_w_;
};

}  // namespace

void route_layer(const LayerPlacement& lp, ReplicaPolicyKind policy, const Topology& topo,
                 std::span<const int32_t> experts, int top_k, const RouteContext& ctx,
                 std::span<int32_t> dest) {
  const int64_t num_tokens = static_cast<int64_t>(experts.size()) / top_k;
  const int num_ranks = topo.num_ranks();
  if (dest.size() != experts.size())
    throw Error("route_layer: dest size differs from experts size");
  // Every expert with one replica (most placements): the destination is a table lookup (the
  // chooser's running load is local to this call, so skipping it changes nothing).
  const int num_experts = lp.num_experts();
  std::vector<int32_t> only_rank(static_cast<size_t>(num_experts));
  bool single = true;
  for (int e = 0; e < num_experts && single; ++e) {
    single = lp.replicas[e].size() == 1;
    if (single) only_rank[e] = lp.replicas[e][0];
  }
  if (single) {
    for (size_t i = 0; i < dest.size(); ++i) dest[i] = only_rank[experts[i]];
    return;
  }
  ReplicaChooser chooser(lp, policy, topo, initial_load(lp, policy, num_ranks, experts.size()));
  int owner = 0;
  int64_t next_begin = token_begin(1, num_tokens, num_ranks);
  const uint64_t batch_prefix =
      hash_step_b(hash_prefix(ctx.seed, static_cast<uint64_t>(ctx.layer)),
                  static_cast<uint64_t>(ctx.batch_index));
  for (int64_t t = 0; t < num_tokens; ++t) {
    while (owner + 1 < num_ranks && t >= next_begin) {
      ++owner;
      next_begin = token_begin(owner + 1, num_tokens, num_ranks);
    }
    // hash_counters(seed, layer, batch_index, t, j), its shared prefix computed once.
    const uint64_t token_prefix = hash_step_c(batch_prefix, static_cast<uint64_t>(t));
    for (int j = 0; j < top_k; ++j) {
      const size_t i = static_cast<size_t>(t) * top_k + j;
      dest[i] = chooser.choose(experts[i], owner, [&] {
        return hash_step_d(token_prefix, static_cast<uint64_t>(j));
      });
    }
  }
}

}  // namespace moeb
