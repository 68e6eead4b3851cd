#include "placement/eplb_core.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "core/error.hpp"

namespace moeb::eplb {

Replication replicate_experts(std::span<const float> weight, int num_phy) {
  const int num_log = static_cast<int>(weight.size());
  if (num_phy < num_log) throw Error("eplb: fewer physical slots than logical experts");
  Replication r;
  r.phy2log.resize(num_phy);
  std::iota(r.phy2log.begin(), r.phy2log.begin() + num_log, 0);
  r.rank.assign(num_phy, 0);
  r.logcnt.assign(num_log, 1);
  for (int i = num_log; i < num_phy; ++i) {
    int best = 0;
    float best_v = weight[0] / static_cast<float>(r.logcnt[0]);
    for (int e = 1; e < num_log; ++e) {
      const float v = weight[e] / static_cast<float>(r.logcnt[e]);
      if (v > best_v) {  // torch max: first index among equal maxima
        best_v = v;
        best = e;
      }
    }
    r.phy2log[i] = best;
    r.rank[i] = r.logcnt[best];
    ++r.logcnt[best];
  }
  return r;
}

Packing balanced_packing(std::span<const float> weight, int num_packs) {
  const int n = static_cast<int>(weight.size());
  if (num_packs <= 0 || n % num_packs != 0)
    throw Error("eplb: " + std::to_string(n) + " items do not divide into " +
                std::to_string(num_packs) + " packs");
  const int per_pack = n / num_packs;
  Packing p;
  if (per_pack == 1) {
    p.pack_index.resize(n);
    std::iota(p.pack_index.begin(), p.pack_index.end(), 0);
    p.rank_in_pack.assign(n, 0);
    return p;
  }
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return weight[a] > weight[b]; });
  p.pack_index.assign(n, -1);
  p.rank_in_pack.assign(n, -1);
  // eplb.py accumulates pack weights as Python numbers from float32 tensor elements.
  std::vector<float> pack_w(num_packs, 0.0f);
  std::vector<int> pack_items(num_packs, 0);
  for (int item : order) {
    int pack = -1;
    for (int k = 0; k < num_packs; ++k)
      if (pack_items[k] < per_pack && (pack < 0 || pack_w[k] < pack_w[pack])) pack = k;
    p.pack_index[item] = pack;
    p.rank_in_pack[item] = pack_items[pack];
    pack_w[pack] += weight[item];
    ++pack_items[pack];
  }
  return p;
}

namespace {
std::vector<int> inverse(const std::vector<int>& perm) {
  std::vector<int> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<int>(i);
  return inv;
}
}  // namespace

Rebalance rebalance_hierarchical(std::span<const float> weight, int num_phy, int num_groups,
                                 int num_nodes, int num_gpus) {
  const int E = static_cast<int>(weight.size());
  if (num_groups <= 0 || E % num_groups != 0 || num_groups % num_nodes != 0 ||
      num_gpus % num_nodes != 0 || num_phy % num_gpus != 0 || num_phy < E)
    throw Error("eplb: hierarchical policy needs experts % groups == 0, groups % nodes == 0, "
                "gpus % nodes == 0 and slots % gpus == 0");
  const int group_size = E / num_groups;
  const int groups_per_node = num_groups / num_nodes;
  const int phy_per_gpu = num_phy / num_gpus;
  const int log_per_node = E / num_nodes;
  const int phy_per_node = num_phy / num_nodes;
  const int gpus_per_node = num_gpus / num_nodes;

  // Step 1: pack groups to nodes.
  std::vector<float> tokens_per_group(num_groups, 0.0f);
  for (int g = 0; g < num_groups; ++g)
    for (int i = 0; i < group_size; ++i) tokens_per_group[g] += weight[g * group_size + i];
  const Packing gp = balanced_packing(tokens_per_group, num_nodes);
  std::vector<int> log2mlog(E);
  for (int e = 0; e < E; ++e) {
    const int g = e / group_size;
    log2mlog[e] = (gp.pack_index[g] * groups_per_node + gp.rank_in_pack[g]) * group_size +
                  e % group_size;
  }
  const std::vector<int> mlog2log = inverse(log2mlog);

  Rebalance out;
  out.phy2log.assign(num_phy, -1);
  out.phyrank.assign(num_phy, 0);
  std::vector<int> mlogcnt(E, 1);
  for (int n = 0; n < num_nodes; ++n) {
    // Step 2: replicate within the node.
    std::vector<float> tokens_per_mlog(log_per_node);
    for (int i = 0; i < log_per_node; ++i) tokens_per_mlog[i] = weight[mlog2log[n * log_per_node + i]];
    const Replication rep = replicate_experts(tokens_per_mlog, phy_per_node);
    for (int i = 0; i < log_per_node; ++i) mlogcnt[n * log_per_node + i] = rep.logcnt[i];
    // Step 3: pack the node's physical experts onto its GPUs.
    std::vector<float> tokens_per_phy(phy_per_node);
    for (int i = 0; i < phy_per_node; ++i) {
      const int m = rep.phy2log[i];
      tokens_per_phy[i] = tokens_per_mlog[m] / static_cast<float>(rep.logcnt[m]);
    }
    const Packing pk = balanced_packing(tokens_per_phy, gpus_per_node);
    std::vector<int> phy2pphy(phy_per_node);
    for (int i = 0; i < phy_per_node; ++i)
      phy2pphy[i] = pk.pack_index[i] * phy_per_gpu + pk.rank_in_pack[i];
    const std::vector<int> pphy2phy = inverse(phy2pphy);
    for (int j = 0; j < phy_per_node; ++j) {
      const int phy = pphy2phy[j];
      const int mlog = rep.phy2log[phy] + n * log_per_node;
      out.phy2log[n * phy_per_node + j] = mlog2log[mlog];
      out.phyrank[n * phy_per_node + j] = rep.rank[phy];
    }
  }
  out.logcnt.resize(E);
  for (int e = 0; e < E; ++e) out.logcnt[e] = mlogcnt[log2mlog[e]];
  return out;
}

Rebalance rebalance_experts(std::span<const float> weight, int num_phy, int num_groups,
                            int num_nodes, int num_gpus) {
  if (num_groups % num_nodes == 0) {
    Rebalance r = rebalance_hierarchical(weight, num_phy, num_groups, num_nodes, num_gpus);
    r.hierarchical = num_nodes > 1;
    return r;
  }
  return rebalance_hierarchical(weight, num_phy, 1, 1, num_gpus);
}

}  // namespace moeb::eplb
