#include "placement/craft_core.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/metrics.hpp"
#include "placement/common.hpp"
#include "placement/eplb_core.hpp"

namespace moeb::placement::craft {

Score score(const LayerPlacement& lp, const Replay& replay, int num_ranks) {
  Score s;
  auto add = [&](const std::vector<double>& w) {
    const std::vector<double> rl = rank_loads(lp, w, num_ranks);
    s.balancedness += balancedness(rl);
    s.max_load += rl.empty() ? 0.0 : *std::max_element(rl.begin(), rl.end());
  };
  if (replay.batches.empty()) {
    add(replay.aggregate);
    return s;
  }
  for (const auto* b : replay.batches) add(*b);
  s.balancedness /= static_cast<double>(replay.batches.size());
  s.max_load /= static_cast<double>(replay.batches.size());
  return s;
}

int extra_replicas(const LayerPlacement& lp) {
  int n = 0;
  for (const auto& r : lp.replicas) n += static_cast<int>(r.size()) - 1;
  return n;
}

namespace {

// The lightest rank with room under `cap` that does not host `reps`, a rank on a node without a
// replica first; -1 when none.
int pick_rank(const std::vector<int>& reps, const std::vector<int>& used,
              const std::vector<int>& cap, const std::vector<double>& load, const Topology& topo) {
  int best = -1;
  bool best_new_node = false;
  for (int r = 0; r < topo.num_ranks(); ++r) {
    if (used[r] >= cap[r] || std::find(reps.begin(), reps.end(), r) != reps.end()) continue;
    bool new_node = true;
    for (int h : reps)
      if (topo.same_node(h, r)) new_node = false;
    if (best < 0 || (new_node && !best_new_node) ||
        (new_node == best_new_node && load[r] < load[best])) {
      best = r;
      best_new_node = new_node;
    }
  }
  return best;
}

}  // namespace

LayerPlacement eplb_pack(const std::vector<double>& w, int extra, const Topology& topo,
                         const std::vector<int>& cap, int slots, int& dropped) {
  const int E = static_cast<int>(w.size()), R = topo.num_ranks();
  const std::vector<float> wf(w.begin(), w.end());
  const eplb::Replication rep = eplb::replicate_experts(wf, E + extra);
  struct Item {
    float weight;
    int expert, index;
  };
  std::vector<Item> items;
  for (int p = 0; p < E + extra; ++p) {
    const int e = rep.phy2log[p];
    items.push_back({wf[e] / static_cast<float>(rep.logcnt[e]), e, rep.rank[p]});
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.weight > b.weight || (a.weight == b.weight && a.index < b.index);
  });
  LayerPlacement lp;
  lp.replicas.assign(E, {});
  std::vector<int> used(R, 0);
  const std::vector<int> hard(R, slots);
  std::vector<double> load(R, 0.0);
  for (const Item& it : items) {
    auto& reps = lp.replicas[it.expert];
    int best = pick_rank(reps, used, cap, load, topo);
    // Only ranks already hosting this expert have room under `cap`: relax it up to `slots`,
    // else drop this copy (counted).
    if (best < 0) best = pick_rank(reps, used, hard, load, topo);
    if (best < 0) {
      if (reps.empty()) throw Error("craft: no slot left for an expert's first copy");
      ++dropped;
      continue;
    }
    if (it.index == 0)
      reps.insert(reps.begin(), best);  // keep the primary first
    else
      reps.push_back(best);
    ++used[best];
    load[best] += it.weight;
  }
  return lp;
}

namespace {

// `base` plus up to `copies` replicas, one at a time: the expert with the most load per replica
// that still has a rank with room, onto the least-loaded such rank (other nodes first).
LayerPlacement augment(const LayerPlacement& base, int copies, const std::vector<double>& w,
                       const Topology& topo, const std::vector<int>& cap) {
  LayerPlacement lp = base;
  const int E = lp.num_experts(), R = topo.num_ranks();
  std::vector<int> used = lp.slots_used(R);
  std::vector<double> load = rank_loads(lp, w, R);
  for (int c = 0; c < copies; ++c) {
    int best_e = -1, best_r = -1;
    double best_per = -1;
    for (int e = 0; e < E; ++e) {
      const double per = w[e] / static_cast<double>(lp.replicas[e].size());
      if (per <= best_per) continue;
      const int r = pick_rank(lp.replicas[e], used, cap, load, topo);
      if (r < 0) continue;
      best_e = e;
      best_r = r;
      best_per = per;
    }
    if (best_e < 0) break;
    auto& reps = lp.replicas[best_e];
    const double n = static_cast<double>(reps.size());
    for (int r : reps) load[r] -= w[best_e] / n - w[best_e] / (n + 1);
    load[best_r] += w[best_e] / (n + 1);
    reps.push_back(best_r);
    ++used[best_r];
  }
  return lp;
}

bool no_worse(const Score& a, const Score& b) {
  return a.balancedness >= b.balancedness && a.max_load <= b.max_load;
}

}  // namespace

std::vector<Rung> ladder(const Replay& replay, const std::vector<int>& counts, const Topology& topo,
                         const CapacityFn& cap, int slots, int& dropped) {
  const int E = static_cast<int>(replay.aggregate.size()), R = topo.num_ranks();
  std::vector<Rung> out;
  for (int count : counts) {
    const std::vector<int> c = cap(E + count);
    Rung best;
    best.count = count;
    int fresh_dropped = 0;
    best.placement = eplb_pack(replay.aggregate, count, topo, c, slots, fresh_dropped);
    best.score = score(best.placement, replay, R);
    if (!out.empty()) {
      const Rung& prev = out.back();
      std::vector<int> hard(R, slots);
      for (int r = 0; r < R; ++r) hard[r] = std::min(slots, std::max(c[r], 0));
      LayerPlacement aug = augment(prev.placement, count - prev.used, replay.aggregate, topo, hard);
      const Score as = score(aug, replay, R);
      // Candidates must not be worse than the previous rung; among those, the lowest max load.
      const bool fresh_ok = no_worse(best.score, prev.score);
      const bool aug_ok = no_worse(as, prev.score);
      if (aug_ok && (!fresh_ok || as.max_load < best.score.max_load)) {
        best.placement = std::move(aug);
        best.score = as;
        fresh_dropped = 0;
      } else if (!fresh_ok) {
        best.placement = prev.placement;
        best.score = prev.score;
        fresh_dropped = 0;
      }
    }
    dropped += fresh_dropped;
    best.used = extra_replicas(best.placement);
    out.push_back(std::move(best));
  }
  return out;
}

}  // namespace moeb::placement::craft
