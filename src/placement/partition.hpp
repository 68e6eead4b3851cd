// Capacity-constrained graph partitioning for grouping co-activated experts: a greedy seed
// followed by Kernighan-Lin / Fiduccia-Mattheyses style refinement (single moves and pairwise
// swaps with positive cut gain) that never breaks the capacity limits. Used by tacg and c2r.
// (Ours: the papers name the objective, not the algorithm.)
#pragma once

#include <cstdint>
#include <vector>

#include "core/topology.hpp"

namespace moeb::placement {

struct PartitionOptions {
  int refine_passes = 8;      // refinement sweeps (stops early when a sweep changes nothing)
  double load_slack = -1;     // > 0: a part's load may not exceed (1 + slack) * mean part load
  uint64_t seed = 0;          // breaks ties between equal candidates
};

// Partitions items 0..n-1 (n = item_load.size()) into capacity.size() parts; part p holds at
// most capacity[p] items. `affinity` is n x n, symmetric. Returns the part of each item.
// Requires sum(capacity) >= n. Deterministic for a given seed.
std::vector<int> partition(const std::vector<double>& affinity, const std::vector<double>& item_load,
                           const std::vector<int>& capacity, const PartitionOptions& opt);

// Sum of affinity between items in different parts (each pair once).
double cut_weight(const std::vector<double>& affinity, const std::vector<int>& part);

// Two-level grouping onto a topology: items to nodes (capacity per node = sum of its ranks'
// capacities), then within each node to its ranks. `rank_capacity` is per rank. Returns the
// rank of each item.
std::vector<int> hierarchical_partition(const std::vector<double>& affinity,
                                        const std::vector<double>& item_load,
                                        const Topology& topo, const std::vector<int>& rank_capacity,
                                        const PartitionOptions& opt);

// Balanced per-rank capacities for n items: ceil/floor of n / R, never above `slots`.
std::vector<int> even_capacity(int num_items, int num_ranks, int slots);

}  // namespace moeb::placement
