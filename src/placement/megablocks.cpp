// megablocks: a MegaBlocks-like reference (Gale et al., MLSys 2023, arXiv 2211.15841):
// contiguous expert parallelism that sends one copy per (token, expert) pair (no per-rank
// deduplication of a token's copies). C2R reports its 20-30% against this kind of baseline.
#include "placement/common.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {
class Megablocks final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"megablocks",
            "reference: contiguous expert parallelism without deduplication (one copy per "
            "(token, expert) pair), expert e on rank floor(e*R/E)",
            "MegaBlocks-like dispatch, arXiv 2211.15841 (the baseline C2R reports against)", {}};
  }
  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }
  PlacementPlan place(const PlacementInput& in) const override {
    PlacementPlan plan;
    plan.placement = placement::fixed_layout(in, placement::contiguous_rank);
    plan.policy.kind = ReplicaPolicyKind::kPrimary;
    plan.dedup = false;
    plan.notes.push_back({"dedup", "off: one copy per (token, expert) pair, whatever the run's "
                                   "dedup setting"});
    return plan;
  }
};
}  // namespace

std::unique_ptr<PlacementStrategy> make_megablocks() { return std::make_unique<Megablocks>(); }

}  // namespace moeb
