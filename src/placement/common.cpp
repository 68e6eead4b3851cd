#include "placement/common.hpp"

#include <algorithm>
#include <limits>

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
