// Helpers shared by the strategy files: budget checks, per-layer loads and affinity from the
// calibration statistics, replica bookkeeping. Internal to the placement layer.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/placement.hpp"
#include "core/stats.hpp"
#include "placement/strategy.hpp"

namespace moeb::placement {

// ceil(E / R): the fewest slots per rank that hold every expert once.
int min_slots(int num_experts, int num_ranks);
// Reason when `slots` cannot hold every expert once, else nullopt.
std::optional<std::string> check_min_slots(const ModelSpec& m, const Topology& topo, int slots);

// Per-expert load of layer l. When the statistics hold no loads (co-activation-only import),
// falls back to co-activation row sums / (k - 1), the tokens that routed to each expert.
std::vector<double> expert_loads(const RoutingStats& stats, int layer, int top_k);
std::vector<double> expert_loads(const LayerStats& s, int num_experts, int top_k);
// Dense E x E co-activation (double) of one layer's statistics.
std::vector<double> affinity(const LayerStats& s, int num_experts);

// The replica_policy option as a kind.
ReplicaPolicyKind policy_option(const Options& opt);

// Predicted per-rank load when each expert's load splits evenly over its replicas.
std::vector<double> rank_loads(const LayerPlacement& lp, const std::vector<double>& load,
                               int num_ranks);

// Adds up to `copies` replicas of `expert` on the least-loaded ranks (by `rank_load`, ties by
// rank id) that do not host it yet and have a free slot (`used` < `slots`). With
// `prefer_other_nodes`, ranks on nodes without a replica come first. Updates `used`. Returns
// the ranks added (possibly fewer than asked when slots run out).
std::vector<int> add_replicas(LayerPlacement& lp, int expert, int copies,
                              const std::vector<double>& rank_load, std::vector<int>& used,
                              int slots, const Topology& topo, bool prefer_other_nodes);

}  // namespace moeb::placement
