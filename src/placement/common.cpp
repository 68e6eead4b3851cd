#include "placement/common.hpp"

#include <algorithm>
#include <limits>

#include "core/parallel.hpp"

namespace moeb::placement {

int min_slots(int num_experts, int num_ranks) { return (num_experts + num_ranks - 1) / num_ranks; }

std::optional<std::string> check_min_slots(const ModelSpec& m, const Topology& topo, int slots) {
  const int need = min_slots(m.num_experts, topo.num_ranks());
  if (slots < need)
    return "needs " + std::to_string(need) + " slots per rank to hold " +
           std::to_string(m.num_experts) + " experts on " + std::to_string(topo.num_ranks()) +
           " ranks, budget is " + std::to_string(slots);
  return std::nullopt;
}

std::vector<double> expert_loads(const LayerStats& s, int num_experts, int top_k) {
  std::vector<double> w(s.load.begin(), s.load.end());
  w.resize(num_experts, 0.0);
  double total = 0;
  for (double x : w) total += x;
  if (total > 0 || s.coact.empty()) return w;
  const double per = top_k > 1 ? 1.0 / (top_k - 1) : 1.0;
  for (int i = 0; i < num_experts; ++i) {
    double row = 0;
    for (int j = 0; j < num_experts; ++j) row += s.coact[static_cast<size_t>(i) * num_experts + j];
    w[i] = row * per;
  }
  return w;
}

std::vector<double> expert_loads(const RoutingStats& stats, int layer, int top_k) {
  return expert_loads(stats.layer(layer), stats.num_experts(), top_k);
}

std::vector<double> affinity(const LayerStats& s, int num_experts) {
  std::vector<double> a(static_cast<size_t>(num_experts) * num_experts, 0.0);
  if (s.coact.size() == a.size())
    for (size_t i = 0; i < a.size(); ++i) a[i] = s.coact[i];
  for (int i = 0; i < num_experts; ++i) a[static_cast<size_t>(i) * num_experts + i] = 0.0;
  return a;
}

Placement fixed_layout(const PlacementInput& in,
                       int (*rank_of)(int e, int num_ranks, int num_experts)) {
  const int R = in.topo.num_ranks(), E = in.model.num_experts;
  Placement p;
  p.num_ranks = R;
  p.layers.resize(in.model.num_layers);
  for (auto& lp : p.layers) {
    lp.replicas.resize(E);
    for (int e = 0; e < E; ++e) lp.replicas[e] = {rank_of(e, R, E)};
  }
  return p;
}

int contiguous_rank(int e, int num_ranks, int num_experts) {
  return static_cast<int>(static_cast<long long>(e) * num_ranks / num_experts);
}

std::vector<OptionSpec> with_grouping_options(std::vector<OptionSpec> first,
                                              const std::vector<OptionSpec>& last) {
  first.push_back({"load_slack", OptionType::kFloat, 0.2,
                   "(ours) a rank group's calibration load may exceed the mean by this share; "
                   "<= 0 = no load limit",
                   {}, -1, 1e6});
  first.push_back({"refine_passes", OptionType::kInt, int64_t{8},
                   "(ours) Kernighan-Lin/FM refinement sweeps per level", {}, 0, 1000});
  first.insert(first.end(), last.begin(), last.end());
  return first;
}

PartitionOptions partition_options(const PlacementInput& in) {
  PartitionOptions popt;
  popt.refine_passes = static_cast<int>(in.options.get_int("refine_passes"));
  popt.load_slack = in.options.get_float("load_slack");
  popt.seed = in.seed;
  return popt;
}

Placement grouped_placement(const PlacementInput& in, const GroupingGraph& graph) {
  const int R = in.topo.num_ranks(), E = in.model.num_experts, L = in.model.num_layers;
  const PartitionOptions popt = partition_options(in);
  const std::vector<int> cap = even_capacity(E, R, in.slots_per_rank);
  Placement p;
  p.num_ranks = R;
  p.layers.resize(L);
  // Layers are independent: placed on threads (MOEB_THREADS), each writing its own layer, so the
  // placement does not depend on the thread count (`graph` is called from those threads).
  parallel_for(L, default_threads(), [&](int l) {
    std::vector<double> A = affinity(in.stats.layer(l), E);
    const std::vector<double> W = graph ? graph(l, std::move(A)) : std::move(A);
    const std::vector<double> w = expert_loads(in.stats, l, in.model.top_k);
    const std::vector<int> rank_of = hierarchical_partition(W, w, in.topo, cap, popt);
    auto& lp = p.layers[l];
    lp.replicas.assign(E, {});
    for (int e = 0; e < E; ++e) lp.replicas[e] = {rank_of[e]};
    lp.predicted_rank_load = rank_loads(lp, w, R);
  });
  return p;
}

ReplicaPolicyKind policy_option(const Options& opt) {
  return parse_replica_policy(opt.get_string("replica_policy"), "option replica_policy");
}

std::vector<double> rank_loads(const LayerPlacement& lp, const std::vector<double>& load,
                               int num_ranks) {
  std::vector<double> out(num_ranks, 0.0);
  for (int e = 0; e < lp.num_experts(); ++e) {
    const auto& reps = lp.replicas[e];
    if (reps.empty()) continue;
    const double share = load[e] / static_cast<double>(reps.size());
    for (int r : reps) out[r] += share;
  }
  return out;
}

std::vector<int> add_replicas(LayerPlacement& lp, int expert, int copies,
                              const std::vector<double>& rank_load, std::vector<int>& used,
                              int slots, const Topology& topo, bool prefer_other_nodes) {
  std::vector<int> added;
  auto& reps = lp.replicas[expert];
  for (int c = 0; c < copies; ++c) {
    int best = -1;
    bool best_new_node = false;
    for (int r = 0; r < topo.num_ranks(); ++r) {
      if (used[r] >= slots || std::find(reps.begin(), reps.end(), r) != reps.end()) continue;
      bool new_node = true;
      for (int h : reps)
        if (topo.same_node(h, r)) new_node = false;
      if (!prefer_other_nodes) new_node = false;
      if (best < 0 || (new_node && !best_new_node) ||
          (new_node == best_new_node && rank_load[r] < rank_load[best])) {
        best = r;
        best_new_node = new_node;
      }
    }
    if (best < 0) break;
    reps.push_back(best);
    ++used[best];
    added.push_back(best);
  }
  return added;
}

}  // namespace moeb::placement
