// tacg: Task-Aware Coactivation Grouping with GESR (Generic Expert Shared Replication).
// Paper: "Beyond Task-Agnostic: Task-Aware Grouping for Communication-Efficient Multi-Task MoE
// Inference" (arXiv 2606.01007). Reweights the co-activation graph by task-family preference,
// groups it onto nodes then ranks under exact capacity, and replicates generic experts.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/parallel.hpp"
#include "placement/common.hpp"
#include "placement/partition.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {

// The grouping graph of layer l (and, with families, each family's graph in `Wf`).
std::vector<double> family_graph(const PlacementInput& in, int l, const std::vector<int>& fams,
                                 const std::string& grouping, double boost,
                                 std::vector<std::vector<double>>& Wf) {
  const int E = in.model.num_experts;
  if (fams.empty()) return placement::affinity(in.stats.layer(l), E);
  const bool aware = grouping == "task_aware";
  // Preferences: task_aware from per-token frequencies (each family weighs the same whatever
  // its size), boost from raw loads.
  std::vector<std::vector<double>> freq;
  std::vector<double> total(E, 0.0);
  for (int f : fams) {
    const auto& fs = in.stats.family_layer(f, l);
    const double T = aware ? static_cast<double>(in.stats.family_tokens(f)) : 1.0;
    std::vector<double> q(E, 0.0);
    for (int e = 0; e < E; ++e) total[e] += q[e] = fs.load[e] / T;
    freq.push_back(std::move(q));
  }
  std::vector<double> W(static_cast<size_t>(E) * E, 0.0);
  for (size_t fi = 0; fi < fams.size(); ++fi) {
    const auto& fs = in.stats.family_layer(fams[fi], l);
    const double T = aware ? static_cast<double>(in.stats.family_tokens(fams[fi])) : 1.0;
    std::vector<double> pref(E, 0.0);
    for (int e = 0; e < E; ++e) pref[e] = total[e] > 0 ? freq[fi][e] / total[e] : 0.0;
    std::vector<double> wf(static_cast<size_t>(E) * E, 0.0);
    for (int i = 0; i < E; ++i)
      for (int j = 0; j < E; ++j) {
        const size_t k = static_cast<size_t>(i) * E + j;
        if (i == j) continue;
        wf[k] = aware ? fs.coact[k] / T * std::sqrt(pref[i] * pref[j])
                      : fs.coact[k] * (1.0 + boost * std::min(pref[i], pref[j]));
        W[k] += wf[k];
      }
    Wf.push_back(std::move(wf));
  }
  return W;
}

class Tacg final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"tacg",
            "minimizes (inter-node first) dispatch traffic: groups experts that task families "
            "co-activate onto one node/rank under exact capacity; GESR replicates generic experts",
            "arXiv 2606.01007 (TACG + GESR); grouping algorithm and GESR details ours",
            placement::with_grouping_options(
                {{"grouping", OptionType::kString, std::string("task_aware"),
                  "task_aware = the paper's family-specific grouping: each family's co-activation "
                  "per token of that family, weighted by both experts' family preferences "
                  "(W_ij = sum_f A_f,ij / T_f * sqrt(p_i(f) p_j(f)), p from per-token family "
                  "frequencies); boost = ours, W_ij = sum_f A_f,ij (1 + family_boost min(p_i(f), "
                  "p_j(f))) with p from raw loads; agnostic = overall co-activation, no families",
                  {"task_aware", "boost", "agnostic"}},
                 {"family_boost", OptionType::kFloat, 2.0,
                  "(ours) the boost grouping's factor", {}, 0, 1e6},
                 {"gesr", OptionType::kBool, true, "replicate generic experts (GESR)", {}},
                 {"generic_fraction", OptionType::kFloat, 0.1,
                  "(ours) share of experts, by centrality, treated as generic", {}, 0, 1},
                 {"secondary_replicas", OptionType::kInt, int64_t{1},
                  "(ours) copies of each generic expert, on least-loaded ranks of other nodes", {},
                  0, 1 << 20}},
                {replica_policy_option("least_load")})};
  }

  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }

  PlacementPlan place(const PlacementInput& in) const override {
    const int R = in.topo.num_ranks(), E = in.model.num_experts, L = in.model.num_layers;
    const double boost = in.options.get_float("family_boost");
    const std::string grouping = in.options.get_string("grouping");
    const bool gesr = in.options.get_bool("gesr");
    const double generic_fraction = in.options.get_float("generic_fraction");
    const int copies = static_cast<int>(in.options.get_int("secondary_replicas"));
    const placement::PartitionOptions popt = placement::partition_options(in);

    // Families with routing data of their own.
    std::vector<int> fams;
    for (int f = 0; f < in.stats.num_families(); ++f)
      if (in.stats.family_tokens(f) > 0 && grouping != "agnostic") fams.push_back(f);

    PlacementPlan plan;
    plan.placement.num_ranks = R;
    plan.placement.layers.resize(L);
    const std::vector<int> cap = placement::even_capacity(E, R, in.slots_per_rank);
    // Layers are independent: placed on threads (MOEB_THREADS), each writing its own layer and
    // counts, summed after in layer order (the plan does not depend on the thread count).
    std::vector<int> generic_of(static_cast<size_t>(L), 0), added_of(static_cast<size_t>(L), 0);
    parallel_for(L, default_threads(), [&](int l) {
      int& generic_total = generic_of[static_cast<size_t>(l)];
      int& replicas_added = added_of[static_cast<size_t>(l)];
      const std::vector<double> w = placement::expert_loads(in.stats, l, in.model.top_k);
      std::vector<std::vector<double>> Wf;  // per-family graphs (GESR centrality)
      const std::vector<double> W = family_graph(in, l, fams, grouping, boost, Wf);
      const std::vector<int> rank_of =
          placement::hierarchical_partition(W, w, in.topo, cap, popt);
      auto& lp = plan.placement.layers[l];
      lp.replicas.assign(E, {});
      for (int e = 0; e < E; ++e) lp.replicas[e] = {rank_of[e]};

      if (gesr && copies > 0 && generic_fraction > 0) {
        // Centrality: min over families of e's weighted degree in W_f over W_f's total; with
        // fewer than two families, e's share of the overall graph (ours).
        std::vector<double> c(E, 0.0);
        auto degree_share = [&](const std::vector<double>& g, std::vector<double>& out, bool first) {
          const double tot = std::accumulate(g.begin(), g.end(), 0.0);
          for (int e = 0; e < E; ++e) {
            double d = 0;
            for (int j = 0; j < E; ++j) d += g[static_cast<size_t>(e) * E + j];
            const double v = tot > 0 ? d / tot : 0.0;
            out[e] = first ? v : std::min(out[e], v);
          }
        };
        if (Wf.size() >= 2)
          for (size_t f = 0; f < Wf.size(); ++f) degree_share(Wf[f], c, f == 0);
        else
          degree_share(W, c, true);
        std::vector<int> order(E);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return c[a] > c[b]; });
        const int n_generic = static_cast<int>(generic_fraction * E + 0.5);
        std::vector<int> used = lp.slots_used(R);
        for (int k = 0; k < n_generic && k < E; ++k) {
          const int e = order[k];
          if (c[e] <= 0) break;
          ++generic_total;
          const std::vector<double> rl = placement::rank_loads(lp, w, R);
          replicas_added += static_cast<int>(
              placement::add_replicas(lp, e, copies, rl, used, in.slots_per_rank, in.topo, true)
                  .size());
        }
      }
      lp.predicted_rank_load = placement::rank_loads(lp, w, R);
    });
    const int generic_total = std::accumulate(generic_of.begin(), generic_of.end(), 0);
    const int replicas_added = std::accumulate(added_of.begin(), added_of.end(), 0);
    plan.policy.kind = placement::policy_option(in.options);
    plan.notes.push_back({"families_used", std::to_string(fams.size())});
    plan.notes.push_back({"grouping", grouping});
    plan.notes.push_back({"generic_experts", std::to_string(generic_total)});
    plan.notes.push_back({"gesr_replicas_added", std::to_string(replicas_added)});
    if (gesr && replicas_added < generic_total * copies)
      plan.notes.push_back({"gesr_limited_by_budget", "fewer spare slots than generic copies"});
    return plan;
  }
};

}  // namespace

std::unique_ptr<PlacementStrategy> make_tacg() { return std::make_unique<Tacg>(); }

}  // namespace moeb
