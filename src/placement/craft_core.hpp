// CRAFT's building blocks (arXiv 2603.28768; code Accelsnow/CRAFT_core): EPLB replication +
// packing of one layer with a given number of extra replicas, the replay of calibration batches
// through a layer placement, and a monotone ladder of placements over increasing replica counts.
// Internal to the placement layer; exposed for the unit tests.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/placement.hpp"
#include "core/topology.hpp"

namespace moeb::placement::craft {

// Calibration data of one layer: the aggregate loads (what the placement is built from) and the
// per-batch loads it is replayed on (empty = replay the aggregate as one batch).
struct Replay {
  std::vector<double> aggregate;                  // [E]
  std::vector<const std::vector<double>*> batches;  // each [E]
};

// Mean over replayed batches, each expert's load split evenly over its replicas:
// balancedness = mean rank load / max rank load; max_load = max rank load (rows), the layer's
// predicted compute time in rows (the knapsack's objective).
struct Score {
  double balancedness = 0;
  double max_load = 0;
};
Score score(const LayerPlacement& lp, const Replay& replay, int num_ranks);

// Per-rank slot limits for `items` physical experts.
using CapacityFn = std::function<std::vector<int>(int items)>;

// EPLB replication (eplb.py replicate_experts) into E + extra physical experts, packed
// heaviest-first onto the lightest rank with room under `cap`, replicas of one expert on
// distinct nodes first, then distinct ranks; never above `slots` per rank. A copy with no rank
// left is dropped and counted in `dropped`.
LayerPlacement eplb_pack(const std::vector<double>& w, int extra, const Topology& topo,
                         const std::vector<int>& cap, int slots, int& dropped);

// Extra replicas (beyond one per expert) of a layer placement.
int extra_replicas(const LayerPlacement& lp);

struct Rung {
  int count = 0;         // replicas allowed
  int used = 0;          // replicas the chosen placement holds (<= count)
  LayerPlacement placement;
  Score score;
};

// Placements for increasing replica counts (ascending; `counts[0]` should be 0). Rung c is the
// best of: a fresh EPLB pack with counts[c] replicas; rung c-1 plus greedy extra replicas
// (hottest per replica to the least-loaded rank with room); rung c-1 itself. Only placements
// that score no worse than rung c-1 on both balancedness and max load qualify, so more replicas
// never score worse than fewer on the calibration data (ours; the released code packs afresh).
std::vector<Rung> ladder(const Replay& replay, const std::vector<int>& counts, const Topology& topo,
                         const CapacityFn& cap, int slots, int& dropped);

}  // namespace moeb::placement::craft
