// round_robin: expert e on rank e mod R; no replicas. Spreads adjacent expert ids (which
// contiguous placement keeps together) over ranks; a second layout for placement-independence
// checks and a common alternative in serving systems.
#include "core/placement.hpp"
#include "placement/common.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {
class RoundRobin final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"round_robin", "expert e on rank e mod R, no replicas", "common EP alternative", {}};
  }
  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }
  PlacementPlan place(const PlacementInput& in) const override {
    PlacementPlan plan;
    plan.placement = placement::fixed_layout(in, [](int e, int R, int) { return e % R; });
    plan.policy.kind = ReplicaPolicyKind::kPrimary;
    return plan;
  }
};
}  // namespace

std::unique_ptr<PlacementStrategy> make_round_robin() { return std::make_unique<RoundRobin>(); }

}  // namespace moeb
