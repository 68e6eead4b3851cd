// Helpers shared by the strategy files: budget checks, per-layer loads and affinity from the
// calibration statistics, replica bookkeeping. Internal to the placement layer.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/placement.hpp"
#include "core/stats.hpp"
#include "placement/partition.hpp"
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

// One copy of every expert, expert e on rank rank_of(e, R, E) in every layer.
Placement fixed_layout(const PlacementInput& in,
                       int (*rank_of)(int e, int num_ranks, int num_experts));
// Contiguous expert parallelism (baseline): expert e on rank floor(e * R / E).
int contiguous_rank(int e, int num_ranks, int num_experts);

// The options of a strategy that partitions a co-activation graph: `first`, load_slack and
// refine_passes (read back by partition_options), then `last`.
std::vector<OptionSpec> with_grouping_options(std::vector<OptionSpec> first,
                                              const std::vector<OptionSpec>& last = {});
// PartitionOptions from the grouping options and the run's seed.
PartitionOptions partition_options(const PlacementInput& in);
// One copy of every expert, grouped layer by layer: hierarchical_partition (nodes, then ranks;
// ceil/floor(E/R) experts a rank) of `graph(l, A)`, A being layer l's co-activation (affinity),
// or of A itself when `graph` is empty; predicted rank loads filled. Reads the grouping options.
// Layers are placed on threads: `graph` must be safe to call from several at once.
using GroupingGraph = std::function<std::vector<double>(int layer, std::vector<double> A)>;
Placement grouped_placement(const PlacementInput& in, const GroupingGraph& graph = {});

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
