// coact_uniform: a reference for the grouping strategies: lossless co-activation grouping with
// uniform group sizes and no task awareness. Experts are partitioned (nodes, then ranks) to
// keep co-activated pairs together, every rank holding ceil/floor(E/R) experts, no replicas.
// It isolates what grouping alone gives, against which tacg's task awareness, GRACE's
// replication and C2R's routing change are measured.
#include "placement/common.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {
class CoactUniform final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"coact_uniform",
            "reference: co-activation grouping with uniform group sizes, no task awareness, no "
            "replicas, routing unchanged",
            "ours: the grouping step shared by TACG, GRACE and C2R without their additions",
            placement::with_grouping_options({})};
  }
  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }
  PlacementPlan place(const PlacementInput& in) const override {
    PlacementPlan plan;
    plan.placement = placement::grouped_placement(in);
    plan.policy.kind = ReplicaPolicyKind::kPrimary;
    return plan;
  }
};
}  // namespace

std::unique_ptr<PlacementStrategy> make_coact_uniform() { return std::make_unique<CoactUniform>(); }

}  // namespace moeb
