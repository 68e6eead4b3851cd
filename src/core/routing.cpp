#include "core/routing.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>
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

}  // namespace

void route_layer(const LayerPlacement& lp, ReplicaPolicyKind policy, const Topology& topo,
                 std::span<const int32_t> experts, int top_k, const RouteContext& ctx,
                 std::span<int32_t> dest) {
  const int64_t num_tokens = static_cast<int64_t>(experts.size()) / top_k;
  const int num_ranks = topo.num_ranks();
  if (dest.size() != experts.size())
    throw Error("route_layer: dest size differs from experts size");
  // Running load per rank in this batch (load-aware policies), seeded with the prediction.
  std::vector<double> load(num_ranks, 0.0);
  if (policy == ReplicaPolicyKind::kLeastLoad && !lp.predicted_rank_load.empty()) {
    double pred_total = 0;
    for (double x : lp.predicted_rank_load) pred_total += x;
    if (pred_total > 0)
      for (int r = 0; r < num_ranks; ++r)
        load[r] = lp.predicted_rank_load[r] / pred_total * static_cast<double>(experts.size());
  }
  std::unordered_map<uint64_t, SmoothWrr> wrr_state;
  std::vector<int> cand;
  std::vector<double> cand_w;

  int owner = 0;
  int64_t next_begin = token_begin(1, num_tokens, num_ranks);
  for (int64_t t = 0; t < num_tokens; ++t) {
    while (owner + 1 < num_ranks && t >= next_begin) {
      ++owner;
      next_begin = token_begin(owner + 1, num_tokens, num_ranks);
    }
    for (int j = 0; j < top_k; ++j) {
      const size_t i = static_cast<size_t>(t) * top_k + j;
      const int e = experts[i];
      const auto& reps = lp.replicas[e];
      const uint64_t h = hash_counters(ctx.seed, static_cast<uint64_t>(ctx.layer),
                                       static_cast<uint64_t>(ctx.batch_index),
                                       static_cast<uint64_t>(t), static_cast<uint64_t>(j));
      int chosen = reps[0];
      if (reps.size() > 1) {
        switch (policy) {
          case ReplicaPolicyKind::kPrimary: break;
          case ReplicaPolicyKind::kUniform: chosen = reps[bounded(h, reps.size())]; break;
          case ReplicaPolicyKind::kLocality:
          case ReplicaPolicyKind::kWeightedRR:
          case ReplicaPolicyKind::kLeastLoad: {
            if (std::find(reps.begin(), reps.end(), owner) != reps.end()) {
              chosen = owner;
              break;
            }
            // Candidate set: same-node replicas if any, else all (remote) replicas.
            cand.clear();
            cand_w.clear();
            bool local = false;
            for (size_t k = 0; k < reps.size(); ++k)
              if (topo.same_node(reps[k], owner)) local = true;
            for (size_t k = 0; k < reps.size(); ++k)
              if (!local || topo.same_node(reps[k], owner)) {
                cand.push_back(reps[k]);
                cand_w.push_back(lp.replica_weights.empty() ? 1.0 : lp.replica_weights[e][k]);
              }
            // A weight that is not a positive finite number makes the set unweighted.
            for (double x : cand_w)
              if (!(x > 0) || !std::isfinite(x)) {
                cand_w.assign(cand.size(), 1.0);
                break;
              }
            if (policy == ReplicaPolicyKind::kLocality) {
              chosen = cand[bounded(h, cand.size())];
            } else if (policy == ReplicaPolicyKind::kWeightedRR) {
              uint64_t key = (static_cast<uint64_t>(e) << 32) ^
                             (local ? static_cast<uint64_t>(topo.node_of(owner)) : 0xFFFFFFFFULL);
              chosen = wrr_state[key].pick(cand, cand_w);
            } else {
              double best = std::numeric_limits<double>::infinity();
              uint64_t best_tie = 0;
              for (size_t k = 0; k < cand.size(); ++k) {
                uint64_t tie = hash_counters(h, static_cast<uint64_t>(cand[k]));
                if (load[cand[k]] < best || (load[cand[k]] == best && tie < best_tie)) {
                  best = load[cand[k]];
                  best_tie = tie;
                  chosen = cand[k];
                }
              }
            }
            break;
          }
        }
      }
      dest[i] = chosen;
      load[chosen] += 1.0;
    }
  }
}

}  // namespace moeb
