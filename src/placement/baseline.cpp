// baseline: contiguous expert parallelism. Expert e lives on rank floor(e * R / E); no replicas.
// What DeepEP, Megatron and vLLM do by default, and the reference every ratio is taken against.
#include "core/placement.hpp"
#include "placement/common.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {
class Baseline final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"baseline", "contiguous expert parallelism, expert e on rank floor(e*R/E), no replicas",
            "DeepEP / Megatron-LM / vLLM default expert parallelism", {}};
  }
  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }
  PlacementPlan place(const PlacementInput& in) const override {
    PlacementPlan plan;
    plan.placement = placement::fixed_layout(in, placement::contiguous_rank);
    plan.policy.kind = ReplicaPolicyKind::kPrimary;
    return plan;
  }
};
}  // namespace

std::unique_ptr<PlacementStrategy> make_baseline() { return std::make_unique<Baseline>(); }

}  // namespace moeb
