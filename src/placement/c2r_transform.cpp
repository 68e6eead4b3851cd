#include "placement/c2r_transform.hpp"

#include <algorithm>
#include <numeric>

#include "placement/common.hpp"
#include "placement/partition.hpp"

namespace moeb {

std::vector<std::vector<std::vector<int>>> C2rTransform::build_lists(const RoutingStats& stats,
                                                                     int top_t) {
  const int E = stats.num_experts();
  std::vector<std::vector<std::vector<int>>> out(stats.num_layers());
  for (int l = 0; l < stats.num_layers(); ++l) {
    const auto& s = stats.layer(l);
    out[l].resize(E);
    for (int e = 0; e < E; ++e) {
      std::vector<int> others;
      for (int j = 0; j < E; ++j)
        if (j != e) others.push_back(j);
      std::stable_sort(others.begin(), others.end(),
                       [&](int a, int b) { return s.coact_at(e, a, E) > s.coact_at(e, b, E); });
      others.resize(std::min<size_t>(others.size(), static_cast<size_t>(std::max(top_t, 0))));
      out[l][e] = std::move(others);
    }
  }
  return out;
}

void C2rTransform::apply(int layer, RoutingTrace& batch) const {
  const int k = batch.top_k();
  if (k < 2 || layer >= static_cast<int>(lists_.size())) return;
  std::vector<std::pair<double, int>> scored;
  std::vector<int> orig(k), chosen;
  std::vector<float> orig_w(k);
  std::vector<std::pair<float, int>> by_weight(k);
  for (int64_t t = 0; t < batch.num_tokens(); ++t) {
    auto ids = batch.experts(layer, t);
    auto ws = batch.weights(layer, t);
    // Rank the token's choices by gate weight (descending, stable): slot 0 is then the top-1
    // expert whatever order the trace stored them in.
    for (int j = 0; j < k; ++j) by_weight[j] = {ws[j], ids[j]};
    std::stable_sort(by_weight.begin(), by_weight.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (int j = 0; j < k; ++j) {
      ws[j] = by_weight[j].first;
      ids[j] = by_weight[j].second;
    }
    std::copy(ids.begin(), ids.end(), orig.begin());
    std::copy(ws.begin(), ws.end(), orig_w.begin());
    const auto& list = lists_[layer][orig[0]];
    scored.clear();
    for (size_t p = 0; p < list.size(); ++p) {
      const auto it = std::find(orig.begin() + 1, orig.end(), list[p]);
      const double score = it != orig.end()
                               ? 1.0 + orig_w[it - orig.begin()]
                               : 1.0 - static_cast<double>(p + 1) / (list.size() + 1.0);
      scored.push_back({score, list[p]});
    }
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    chosen.clear();
    for (const auto& [score, e] : scored) {
      if (static_cast<int>(chosen.size()) == k - 1) break;
      chosen.push_back(e);
    }
    // Too short a list: keep original choices to fill the top-k.
    for (int j = 1; j < k && static_cast<int>(chosen.size()) < k - 1; ++j)
      if (std::find(chosen.begin(), chosen.end(), orig[j]) == chosen.end()) chosen.push_back(orig[j]);
    // Kept experts keep their slot and weight; replacements take the freed slots in order.
    std::vector<int> slot_of(chosen.size(), -1);
    std::vector<bool> slot_used(k, false);
    for (size_t c = 0; c < chosen.size(); ++c)
      for (int j = 1; j < k; ++j)
        if (orig[j] == chosen[c]) {
          slot_of[c] = j;
          slot_used[j] = true;
        }
    int next = 1;
    for (size_t c = 0; c < chosen.size(); ++c) {
      if (slot_of[c] >= 0) continue;
      while (slot_used[next]) ++next;
      slot_of[c] = next;
      slot_used[next] = true;
    }
    for (size_t c = 0; c < chosen.size(); ++c) ids[slot_of[c]] = chosen[c];
  }
}

Placement collaboration_grouping(const PlacementInput& in,
                                 const std::vector<std::vector<std::vector<int>>>& lists) {
  const int R = in.topo.num_ranks(), E = in.model.num_experts, L = in.model.num_layers;
  placement::PartitionOptions popt;
  popt.refine_passes = static_cast<int>(in.options.get_int("refine_passes"));
  popt.load_slack = in.options.get_float("load_slack");
  popt.seed = in.seed;
  const std::vector<int> cap = placement::even_capacity(E, R, in.slots_per_rank);
  Placement p;
  p.num_ranks = R;
  p.layers.resize(L);
  for (int l = 0; l < L; ++l) {
    const std::vector<double> A = placement::affinity(in.stats.layer(l), E);
    std::vector<double> W(A.size(), 0.0);
    for (int e = 0; e < E; ++e)
      for (int j : lists[l][e]) {
        W[static_cast<size_t>(e) * E + j] = A[static_cast<size_t>(e) * E + j];
        W[static_cast<size_t>(j) * E + e] = A[static_cast<size_t>(j) * E + e];
      }
    const std::vector<double> w = placement::expert_loads(in.stats, l, in.model.top_k);
    const std::vector<int> rank_of = placement::hierarchical_partition(W, w, in.topo, cap, popt);
    auto& lp = p.layers[l];
    lp.replicas.assign(E, {});
    for (int e = 0; e < E; ++e) lp.replicas[e] = {rank_of[e]};
    lp.predicted_rank_load = placement::rank_loads(lp, w, R);
  }
  return p;
}

int c2r_top_t(const PlacementInput& in) {
  const int E = in.model.num_experts;
  int T = static_cast<int>(in.options.get_int("top_t"));
  if (T <= 0) T = std::max(in.model.top_k - 1, (E + 1) / 2);
  return std::min(T, E - 1);
}

}  // namespace moeb
