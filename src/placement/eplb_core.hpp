// DeepSeek's Expert Parallelism Load Balancer (deepseek-ai/EPLB eplb.py, MIT), one layer at a
// time, step for step: replicate_experts, balanced_packing, rebalance_experts_hierarchical and
// the rebalance_experts entry point (hierarchical when groups divide nodes, else global).
// Weights are float32 as eplb.py computes them (weight.float()); ties resolve as torch does on
// CPU for these calls (max -> first index, sort -> stable descending, min -> first pack).
#pragma once

#include <span>
#include <vector>

namespace moeb::eplb {

struct Replication {
  std::vector<int> phy2log;  // [num_phy] logical expert of each physical slot
  std::vector<int> rank;     // [num_phy] replica index of that slot within its expert
  std::vector<int> logcnt;   // [num_log] replicas per logical expert
};
// Fills the num_phy - num_log redundant slots one at a time with argmax(w / count).
Replication replicate_experts(std::span<const float> weight, int num_phy);

struct Packing {
  std::vector<int> pack_index;    // [n] pack of each item
  std::vector<int> rank_in_pack;  // [n] position of the item within its pack
};
// Packs n items into num_packs packs of exactly n / num_packs items, heaviest first into the
// lightest pack with room. Requires n % num_packs == 0.
Packing balanced_packing(std::span<const float> weight, int num_packs);

struct Rebalance {
  std::vector<int> phy2log;  // [num_phy] physical slot -> logical expert; slot p on GPU p / (P/G)
  std::vector<int> phyrank;  // [num_phy] replica index
  std::vector<int> logcnt;   // [num_log]
  bool hierarchical = false;
};
// rebalance_experts_hierarchical. Requires E % groups == 0, groups % nodes == 0,
// gpus % nodes == 0, num_phy % gpus == 0 (throws moeb::Error otherwise).
Rebalance rebalance_hierarchical(std::span<const float> weight, int num_phy, int num_groups,
                                 int num_nodes, int num_gpus);
// rebalance_experts: hierarchical when num_groups % num_nodes == 0, else global (1 group,
// 1 node).
Rebalance rebalance_experts(std::span<const float> weight, int num_phy, int num_groups,
                            int num_nodes, int num_gpus);

}  // namespace moeb::eplb
