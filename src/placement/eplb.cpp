// eplb: DeepSeek's Expert Parallelism Load Balancer (deepseek-ai/EPLB eplb.py, MIT). Replicates
// the heaviest experts into every spare slot of the memory budget and packs the physical
// experts onto ranks (hierarchically through nodes when expert groups divide the nodes).
#include <algorithm>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "placement/common.hpp"
#include "placement/eplb_core.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {

// True when rank r sits on node r / G for every rank (the layout eplb.py assumes).
bool contiguous_nodes(const Topology& topo) {
  if (!topo.is_uniform()) return false;
  const int g = topo.ranks_per_node();
  for (int r = 0; r < topo.num_ranks(); ++r)
    if (topo.node_of(r) != r / g) return false;
  return true;
}

class Eplb final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"eplb",
            "balances per-rank expert load: replicates the heaviest experts into spare slots, "
            "packs physical experts onto ranks (hierarchical through nodes when groups allow)",
            "DeepSeek EPLB, deepseek-ai/EPLB eplb.py (MIT)",
            {{"policy", OptionType::kString, std::string("auto"),
              "auto = eplb.py's rule (hierarchical when expert groups divide the nodes, else "
              "global); hierarchical falls back to global when the shapes do not allow it",
              {"auto", "global", "hierarchical"}},
             {"num_groups", OptionType::kInt, int64_t{0},
              "expert groups for the hierarchical policy; 0 = the model's num_expert_groups", {},
              0, 1 << 20},
             {"redundant_experts", OptionType::kInt, int64_t{-1},
              "redundant (replica) slots per layer; -1 = every spare slot of the budget "
              "(R * slots_per_rank - E); experts + redundant must be a multiple of R", {}, -1,
              1 << 24},
             replica_policy_option("uniform")}};
  }

  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options& opt) const override {
    if (auto r = placement::check_min_slots(m, topo, slots)) return r;
    if (!product_within(topo.num_ranks(), slots, limits::kMaxSlots))
      return std::to_string(topo.num_ranks()) + " ranks x " + std::to_string(slots) +
             " slots exceed the documented limit of " + std::to_string(limits::kMaxSlots) +
             " physical slots per layer";
    const int64_t red = opt.get_int("redundant_experts");
    if (red >= 0) {
      const int64_t phy = m.num_experts + red, cap = int64_t{topo.num_ranks()} * slots;
      if (phy % topo.num_ranks() != 0)
        return "experts + redundant_experts = " + std::to_string(phy) +
               " is not a multiple of the " + std::to_string(topo.num_ranks()) + " ranks";
      if (phy > cap)
        return "experts + redundant_experts = " + std::to_string(phy) + " exceeds the " +
               std::to_string(cap) + " slots of the budget";
    }
    return std::nullopt;
  }

  PlacementPlan place(const PlacementInput& in) const override {
    const int R = in.topo.num_ranks(), E = in.model.num_experts, N = in.topo.num_nodes();
    const int64_t red = in.options.get_int("redundant_experts");
    // int64_t first: R * slots_per_rank overflows int for large budgets (constraints() bounds it).
    const int64_t phy64 = red >= 0 ? int64_t{E} + red : int64_t{R} * in.slots_per_rank;
    if (phy64 > limits::kMaxSlots)
      throw ConfigError("eplb: " + std::to_string(phy64) +
                        " physical slots per layer exceed the documented limit of " +
                        std::to_string(limits::kMaxSlots));
    const int num_phy = static_cast<int>(phy64);
    int groups = static_cast<int>(in.options.get_int("num_groups"));
    if (groups <= 0) groups = std::max(1, in.model.num_expert_groups);
    const std::string& policy = in.options.get_string("policy");
    const bool shapes_ok = contiguous_nodes(in.topo) && E % groups == 0 && groups % N == 0;
    bool hierarchical = false;
    PlacementPlan plan;
    if (policy == "auto") {
      hierarchical = shapes_ok;
    } else if (policy == "hierarchical") {
      hierarchical = shapes_ok;
      if (!shapes_ok)
        plan.notes.push_back({"eplb_fallback", "hierarchical needs experts % groups == 0, groups % "
                                               "nodes == 0 and contiguous nodes; used global"});
    }
    plan.placement.num_ranks = R;
    plan.placement.layers.resize(in.model.num_layers);
    int merged = 0;
    for (int l = 0; l < in.model.num_layers; ++l) {
      const std::vector<double> w = placement::expert_loads(in.stats, l, in.model.top_k);
      const std::vector<float> wf(w.begin(), w.end());
      const eplb::Rebalance rb = hierarchical
                                     ? eplb::rebalance_hierarchical(wf, num_phy, groups, N, R)
                                     : eplb::rebalance_hierarchical(wf, num_phy, 1, 1, R);
      const int per_gpu = num_phy / R;
      // Replicas in replica-index order (index 0 = the primary).
      std::vector<std::vector<std::pair<int, int>>> by_expert(E);
      for (int p = 0; p < num_phy; ++p)
        by_expert[rb.phy2log[p]].push_back({rb.phyrank[p], p / per_gpu});
      auto& lp = plan.placement.layers[l];
      lp.replicas.resize(E);
      for (int e = 0; e < E; ++e) {
        std::sort(by_expert[e].begin(), by_expert[e].end());
        for (auto [idx, rank] : by_expert[e]) {
          auto& reps = lp.replicas[e];
          // eplb.py may pack two replicas of one expert onto one GPU; one copy serves them.
          if (std::find(reps.begin(), reps.end(), rank) != reps.end()) {
            ++merged;
            continue;
          }
          reps.push_back(rank);
        }
      }
      lp.predicted_rank_load = placement::rank_loads(lp, w, R);
    }
    plan.policy.kind = placement::policy_option(in.options);
    plan.notes.push_back({"eplb_policy", hierarchical ? "hierarchical" : "global"});
    if (policy == "auto")
      plan.notes.push_back(
          {"eplb_policy_reason",
           hierarchical ? "auto picked hierarchical as eplb.py does (expert groups divide the "
                          "nodes): groups packed onto nodes, replicas kept inside each node"
                        : "auto picked global as eplb.py does (expert groups do not divide the "
                          "nodes)"});
    plan.notes.push_back({"physical_slots_per_layer", std::to_string(num_phy)});
    if (merged > 0)
      plan.notes.push_back({"same_rank_replicas_merged", std::to_string(merged)});
    return plan;
  }
};

}  // namespace

std::unique_ptr<PlacementStrategy> make_eplb() { return std::make_unique<Eplb>(); }

}  // namespace moeb
