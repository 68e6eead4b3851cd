// c2r_group: C2R's grouping without its routing change (a reference): the same collaboration
// graph partition as c2r, with the model's routing left as it is. Separates what C2R's
// placement gives from what its constrained routing gives (and costs in routing deviation).
#include "placement/c2r_transform.hpp"
#include "placement/common.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {

class C2rGroup final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"c2r_group",
            "reference: C2R's collaborator grouping with the model's routing unchanged (no "
            "routing deviation)",
            "C2R, NAACL 2025, arXiv 2504.01337 (placement step only)",
            c2r_options("T, collaborators per expert kept in the grouping graph; 0 = ceil(E/2), "
                        "at least k-1")};
  }

  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }

  PlacementPlan place(const PlacementInput& in) const override {
    const int T = c2r_top_t(in);
    PlacementPlan plan;
    plan.placement = collaboration_grouping(in, C2rTransform::build_lists(in.stats, T));
    plan.policy.kind = ReplicaPolicyKind::kPrimary;
    plan.notes.push_back({"top_t", std::to_string(T)});
    return plan;
  }
};

}  // namespace

std::unique_ptr<PlacementStrategy> make_c2r_group() { return std::make_unique<C2rGroup>(); }

}  // namespace moeb
