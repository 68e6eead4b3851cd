// coact_uniform: a reference for the grouping strategies: lossless co-activation grouping with
// uniform group sizes and no task awareness. Experts are partitioned (nodes, then ranks) to
// keep co-activated pairs together, every rank holding ceil/floor(E/R) experts, no replicas.
// It isolates what grouping alone gives, against which tacg's task awareness, GRACE's
// replication and C2R's routing change are measured.
#include "placement/common.hpp"
#include "placement/partition.hpp"
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
            {{"load_slack", OptionType::kFloat, 0.2,
              "(ours) a rank group's calibration load may exceed the mean by this share; <= 0 = "
              "no load limit",
              {}, -1, 1e6},
             {"refine_passes", OptionType::kInt, int64_t{8},
              "(ours) Kernighan-Lin/FM refinement sweeps per level", {}, 0, 1000}}};
  }
  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }
  PlacementPlan place(const PlacementInput& in) const override {
    const int R = in.topo.num_ranks(), E = in.model.num_experts;
    placement::PartitionOptions popt;
    popt.refine_passes = static_cast<int>(in.options.get_int("refine_passes"));
    popt.load_slack = in.options.get_float("load_slack");
    popt.seed = in.seed;
    const std::vector<int> cap = placement::even_capacity(E, R, in.slots_per_rank);
    PlacementPlan plan;
    plan.placement.num_ranks = R;
    plan.placement.layers.resize(in.model.num_layers);
    for (int l = 0; l < in.model.num_layers; ++l) {
      const std::vector<double> A = placement::affinity(in.stats.layer(l), E);
      const std::vector<double> w = placement::expert_loads(in.stats, l, in.model.top_k);
      const std::vector<int> rank_of = placement::hierarchical_partition(A, w, in.topo, cap, popt);
      auto& lp = plan.placement.layers[l];
      lp.replicas.assign(E, {});
      for (int e = 0; e < E; ++e) lp.replicas[e] = {rank_of[e]};
      lp.predicted_rank_load = placement::rank_loads(lp, w, R);
    }
    plan.policy.kind = ReplicaPolicyKind::kPrimary;
    return plan;
  }
};
}  // namespace

std::unique_ptr<PlacementStrategy> make_coact_uniform() { return std::make_unique<CoactUniform>(); }

}  // namespace moeb
