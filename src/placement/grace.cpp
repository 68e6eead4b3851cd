// grace: GRACE-MoE, Grouping and Replication with Locality-Aware Routing (arXiv 2509.25041).
// Spectral clustering of co-activation into node groups (fully non-uniform, bounded by node
// capacity), controlled non-uniform rank groups inside each node with the paper's size repair,
// dynamic replication of the heaviest group's hottest experts, and TAR + WRR routing weights.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/rng.hpp"
#include "placement/common.hpp"
#include "core/parallel.hpp"
#include "placement/spectral.hpp"
#include "placement/strategy.hpp"

namespace moeb {

namespace {

std::vector<double> sub_affinity(const std::vector<double>& a, int n, const std::vector<int>& items) {
  const int m = static_cast<int>(items.size());
  std::vector<double> s(static_cast<size_t>(m) * m);
  for (int x = 0; x < m; ++x)
    for (int y = 0; y < m; ++y)
      s[static_cast<size_t>(x) * m + y] = a[static_cast<size_t>(items[x]) * n + items[y]];
  return s;
}

class Grace final : public PlacementStrategy {
 public:
  StrategySpec spec() const override {
    return {"grace",
            "minimizes inter-node then inter-rank dispatch: spectral grouping of co-activated "
            "experts, dynamic replication of the heaviest group, locality-aware weighted routing",
            "GRACE-MoE, arXiv 2509.25041 (full text); spectral/k-means details ours",
            {{"size_ratio", OptionType::kFloat, 0.15,
              "r: rank groups within a node hold E_n/G +- max(1, round(r * E_n/G)) experts", {},
              0, 10},
             {"node_size_ratio", OptionType::kFloat, 0.5,
              "node groups hold E/N +- max(1, round(r * E/N)) experts (then at most the node's "
              "slots), a bound independent of spare memory; the paper bounds group sizes by a "
              "ratio, the value is ours; < 0 = only the node's slots bound them (old behaviour)",
              {}, -1, 10},
             {"replicate", OptionType::kBool, true, "dynamic replication of the heaviest group", {}},
             {"kmeans_restarts", OptionType::kInt, int64_t{8},
              "(ours) seeded k-means++ restarts on the spectral embedding", {}, 1, 1000},
             replica_policy_option("wrr")}};
  }

  std::optional<std::string> constraints(const ModelSpec& m, const Topology& topo, int slots,
                                         const Options&) const override {
    return placement::check_min_slots(m, topo, slots);
  }

  PlacementPlan place(const PlacementInput& in) const override {
    const int R = in.topo.num_ranks(), E = in.model.num_experts, L = in.model.num_layers;
    PlacementPlan plan;
    plan.placement.num_ranks = R;
    plan.placement.layers.resize(L);
    // Layers are independent: placed on threads (MOEB_THREADS), each writing its own slots, and
    // the notes reduced after in layer order, so the plan does not depend on the thread count.
    std::vector<LayerNotes> notes(L);
    parallel_for(L, default_threads(),
                 [&](int l) { notes[l] = place_layer(in, l, plan.placement.layers[l]); });
    int replicated = 0, n_replica_max = 0, min_node = E, max_node = 0;
    for (const LayerNotes& n : notes) {
      replicated += n.replicated;
      n_replica_max = std::max(n_replica_max, n.n_replica);
      min_node = std::min(min_node, n.min_node);
      max_node = std::max(max_node, n.max_node);
    }
    plan.policy.kind = placement::policy_option(in.options);
    plan.notes.push_back({"replicated_experts", std::to_string(replicated)});
    plan.notes.push_back({"max_n_replica", std::to_string(n_replica_max)});
    plan.notes.push_back(
        {"node_group_sizes", std::to_string(min_node) + ".." + std::to_string(max_node)});
    return plan;
  }

 private:
  // What one layer adds to the plan's notes.
  struct LayerNotes {
    int replicated = 0, n_replica = 0, min_node = 0, max_node = 0;
  };

  // Places layer `l` into `lp`: node groups by spectral clustering, rank groups within each
  // node, then GRACE's replication of the heaviest rank's experts.
  static LayerNotes place_layer(const PlacementInput& in, int l, LayerPlacement& lp) {
    const int R = in.topo.num_ranks(), E = in.model.num_experts;
    const int N = in.topo.num_nodes(), S = in.slots_per_rank;
    const double ratio = in.options.get_float("size_ratio");
    const int restarts = static_cast<int>(in.options.get_int("kmeans_restarts"));
    LayerNotes out;
    out.min_node = E;
    const std::vector<double> w = placement::expert_loads(in.stats, l, in.model.top_k);
    const std::vector<double> A = placement::affinity(in.stats.layer(l), E);
    const uint64_t seed = hash_counters(in.seed, static_cast<uint64_t>(l));
    // Level 1: node groups, sizes follow the clustering up to each node's capacity.
    std::vector<int> node_of = placement::spectral_clusters(A, E, N, seed, restarts);
    const auto [lo, hi] = node_bounds(in.topo, E, S, in.options.get_float("node_size_ratio"));
    placement::repair_group_sizes(node_of, A, lo, hi);
    std::vector<int> sizes(N, 0);
    for (int e = 0; e < E; ++e) ++sizes[node_of[e]];
    for (int n = 0; n < N; ++n) {
      out.min_node = std::min(out.min_node, sizes[n]);
      out.max_node = std::max(out.max_node, sizes[n]);
    }
    lp.replicas.assign(E, {});
    // Level 2: controlled non-uniform rank groups within each node.
    for (int n = 0; n < N; ++n) {
      std::vector<int> items;
      for (int e = 0; e < E; ++e)
        if (node_of[e] == n) items.push_back(e);
      const auto& ranks = in.topo.ranks_of_node(n);
      const int G = static_cast<int>(ranks.size()), En = static_cast<int>(items.size());
      if (En == 0) continue;
      const std::vector<double> sub = sub_affinity(A, E, items);
      std::vector<int> local =
          placement::spectral_clusters(sub, En, G, hash_counters(seed, 1 + n), restarts);
      const double mean = static_cast<double>(En) / G;
      const int delta = std::max(1, static_cast<int>(std::lround(ratio * mean)));
      std::vector<int> glo(G), ghi(G);
      for (int g = 0; g < G; ++g) {
        glo[g] = std::max(0, static_cast<int>(std::floor(mean)) - delta);
        ghi[g] = std::min(S, static_cast<int>(std::ceil(mean)) + delta);
      }
      placement::repair_group_sizes(local, sub, glo, ghi);
      for (int x = 0; x < En; ++x) lp.replicas[items[x]] = {ranks[local[x]]};
    }
    lp.replica_weights.assign(E, {});
    for (int e = 0; e < E; ++e) lp.replica_weights[e] = {1.0};
    if (in.options.get_bool("replicate"))
      out.n_replica = replicate_heaviest(lp, w, in.topo, S, out.replicated);
    lp.predicted_rank_load = placement::rank_loads(lp, w, R);
    return out;
  }

  // Node group size bounds: E/N +- max(1, round(r E/N)) (r < 0: 0 .. the node's slots), always
  // within the node's slots and feasible (sum lo <= E <= sum hi).
  static std::pair<std::vector<int>, std::vector<int>> node_bounds(const Topology& topo, int E,
                                                                   int S, double r) {
    const int N = topo.num_nodes();
    std::vector<int> lo(N, 0), hi(N);
    const double mean = static_cast<double>(E) / N;
    const int delta = std::max(1, static_cast<int>(std::lround(r * mean)));
    for (int n = 0; n < N; ++n) {
      const int cap = static_cast<int>(topo.ranks_of_node(n).size()) * S;
      hi[n] = r < 0 ? cap : std::min(cap, static_cast<int>(std::ceil(mean)) + delta);
      lo[n] = r < 0 ? 0 : std::min(hi[n], std::max(0, static_cast<int>(std::floor(mean)) - delta));
    }
    // Uneven nodes: widen toward capacity until the bounds can hold every expert.
    int64_t sum_hi = 0;
    for (int h : hi) sum_hi += h;
    for (int n = 0; n < N && sum_hi < E; ++n) {
      const int cap = static_cast<int>(topo.ranks_of_node(n).size()) * S;
      const int add = static_cast<int>(std::min<int64_t>(cap - hi[n], E - sum_hi));
      hi[n] += add;
      sum_hi += add;
    }
    int64_t sum_lo = 0;
    for (int x : lo) sum_lo += x;
    for (int n = 0; n < N && sum_lo > E; ++n) {
      const int cut = static_cast<int>(std::min<int64_t>(lo[n], sum_lo - E));
      lo[n] -= cut;
      sum_lo -= cut;
    }
    return {lo, hi};
  }

  // GRACE dynamic replication: rho = W_max / mean(W), n_replica = min(max(1, floor(rho)), R-1);
  // the heaviest rank group's hottest experts, up to W_max * n / (1 + n) cumulative load, each
  // get n replicas on the least-loaded ranks with spare slots. Replica weights follow the paper:
  // 1 / predicted load, primary W_max - W_r + W_p, replica rank i W_i + W_p, W_p = W_r / (n+1).
  static int replicate_heaviest(LayerPlacement& lp, const std::vector<double>& w,
                                const Topology& topo, int slots, int& replicated) {
    const int R = topo.num_ranks(), E = lp.num_experts();
    const std::vector<double> W = placement::rank_loads(lp, w, R);
    const double total = std::accumulate(W.begin(), W.end(), 0.0);
    if (R < 2 || total <= 0) return 0;
    const int heavy = static_cast<int>(std::max_element(W.begin(), W.end()) - W.begin());
    const double w_max = W[heavy], rho = w_max / (total / R);
    const int n_rep = std::min(std::max(1, static_cast<int>(std::floor(rho))), R - 1);
    std::vector<int> hot;
    for (int e = 0; e < E; ++e)
      if (lp.replicas[e][0] == heavy && w[e] > 0) hot.push_back(e);
    std::stable_sort(hot.begin(), hot.end(), [&](int a, int b) { return w[a] > w[b]; });
    const double target = w_max * n_rep / (1.0 + n_rep);
    std::vector<int> chosen;
    double w_r = 0;
    for (int e : hot) {
      if (w_r >= target) break;
      chosen.push_back(e);
      w_r += w[e];
    }
    const double w_p = w_r / (n_rep + 1);
    std::vector<int> used = lp.slots_used(R);
    std::vector<double> cur = W;
    for (int e : chosen) {
      const auto added = placement::add_replicas(lp, e, n_rep, cur, used, slots, topo, false);
      if (added.empty()) continue;
      ++replicated;
      const double share = w[e] / (added.size() + 1.0);
      cur[heavy] -= w[e] - share;
      auto& wt = lp.replica_weights[e];
      wt = {1.0 / std::max(w_max - w_r + w_p, 1e-12)};
      for (int r : added) {
        cur[r] += share;
        wt.push_back(1.0 / std::max(W[r] + w_p, 1e-12));
      }
    }
    return n_rep;
  }
};

}  // namespace

std::unique_ptr<PlacementStrategy> make_grace() { return std::make_unique<Grace>(); }

}  // namespace moeb
