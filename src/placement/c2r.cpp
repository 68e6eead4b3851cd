// c2r: Collaboration-Constrained Routing (NAACL 2025, arXiv 2504.01337; UNITES-Lab/c2r-moe,
// MIT). Changes routing (top-1 kept, the rest drawn from top-1's first T collaborators) and
// groups each expert with its collaborators so a token's experts mostly share a rank. Because
// it changes the model's routing, its routing deviation must be reported next to any speedup.
#include <algorithm>

#include "placement/c2r_transform.hpp"
#include "placement/common.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {

class C2r final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"c2r",
            "cuts all-to-all by changing routing: experts only collaborate within top-1's T "
            "collaborators, and collaborators are grouped on one rank (routing deviates!)",
            "C2R, NAACL 2025, arXiv 2504.01337; UNITES-Lab/c2r-moe (MIT)",
            c2r_options("T, collaborators per expert (paper: 30 of 60 for Qwen1.5-MoE, 5 of 8 for "
                        "LLaMA-MoE); 0 = ceil(E/2), at least k-1")};
  }

  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }

  PlacementPlan place(const PlacementInput& in) const override {
    const int T = c2r_top_t(in);
    auto lists = C2rTransform::build_lists(in.stats, T);
    PlacementPlan plan;
    plan.placement = collaboration_grouping(in, lists);
    plan.transform = std::make_shared<C2rTransform>(std::move(lists));
    plan.policy.kind = ReplicaPolicyKind::kPrimary;  // no replicas
    plan.notes.push_back({"top_t", std::to_string(T)});
    plan.notes.push_back({"changes_routing",
                          "yes: the result's routing_deviation is the share of (token, expert) "
                          "choices changed on the evaluation batches"});
    return plan;
  }
};

}  // namespace

std::unique_ptr<PlacementStrategy> make_c2r() { return std::make_unique<C2r>(); }

}  // namespace moeb
