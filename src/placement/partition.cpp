#include "placement/partition.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace moeb::placement {

namespace {

struct State {
  int n, parts;
  const std::vector<double>& a;
  const std::vector<double>& load;
  const std::vector<int>& cap;
  std::vector<int> part, count;
  std::vector<double> part_load, conn;  // conn[i * parts + p]: affinity of i to part p
  double load_cap;

  double at(int i, int j) const { return a[static_cast<size_t>(i) * n + j]; }
  double& c(int i, int p) { return conn[static_cast<size_t>(i) * parts + p]; }

  void assign(int i, int p) {
    part[i] = p;
    ++count[p];
    part_load[p] += load[i];
    for (int j = 0; j < n; ++j) c(j, p) += at(j, i);
  }
  void unassign(int i) {
    const int p = part[i];
    --count[p];
    part_load[p] -= load[i];
    for (int j = 0; j < n; ++j) c(j, p) -= at(j, i);
    part[i] = -1;
  }
  bool load_ok(int p, double delta) const {
    return load_cap <= 0 || delta <= 0 || part_load[p] + delta <= load_cap;
  }
};

// Greedy seed order: items by decreasing total affinity (then load, then a seeded tie-break).
std::vector<int> seed_order(const std::vector<double>& strength, const std::vector<double>& load,
                            uint64_t seed) {
  std::vector<int> order(strength.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int x, int y) {
    if (strength[x] != strength[y]) return strength[x] > strength[y];
    if (load[x] != load[y]) return load[x] > load[y];
    return hash_counters(seed, static_cast<uint64_t>(x)) <
           hash_counters(seed, static_cast<uint64_t>(y));
  });
  return order;
}

// The part item i goes to in the greedy seed: the one it is most attached to among those with
// room, preferring parts with load headroom; among equals the emptier part (by load, then count).
int greedy_part(State& s, int i) {
  int best = -1;
  bool best_fits = false;
  for (int p = 0; p < s.parts; ++p) {
    if (s.count[p] >= s.cap[p]) continue;
    const bool fits = s.load_ok(p, s.load[i]);
    if (best < 0 || (fits && !best_fits)) {
      best = p;
      best_fits = fits;
      continue;
    }
    if (fits != best_fits) continue;
    const double cp = s.c(i, p), cb = s.c(i, best);
    if (cp > cb || (cp == cb && (s.part_load[p] < s.part_load[best] ||
                                 (s.part_load[p] == s.part_load[best] &&
                                  s.count[p] * s.cap[best] < s.count[best] * s.cap[p]))))
      best = p;
  }
  return best;
}

// One refinement step for item i: applies the best move (to a part with room) or swap (with an
// item j of another part) whose gain exceeds eps; returns whether anything moved.
bool refine_item(State& s, int i, double eps) {
  const int a = s.part[i];
  double best_gain = eps;
  int best_p = -1, best_j = -1;
  for (int p = 0; p < s.parts; ++p) {
    if (p == a || s.count[p] >= s.cap[p] || !s.load_ok(p, s.load[i])) continue;
    const double g = s.c(i, p) - s.c(i, a);
    if (g > best_gain) {
      best_gain = g;
      best_p = p;
      best_j = -1;
    }
  }
  for (int j = 0; j < s.n; ++j) {
    const int b = s.part[j];
    if (b == a) continue;
    const double dl = s.load[i] - s.load[j];
    if (!s.load_ok(b, dl) || !s.load_ok(a, -dl)) continue;
    const double g = (s.c(i, b) - s.c(i, a)) + (s.c(j, a) - s.c(j, b)) - 2 * s.at(i, j);
    if (g > best_gain) {
      best_gain = g;
      best_p = b;
      best_j = j;
    }
  }
  if (best_p < 0) return false;
  s.unassign(i);
  if (best_j >= 0) {
    s.unassign(best_j);
    s.assign(best_j, a);
  }
  s.assign(i, best_p);
  return true;
}

}  // namespace

std::vector<int> even_capacity(int num_items, int num_ranks, int slots) {
  std::vector<int> cap(num_ranks);
  for (int r = 0; r < num_ranks; ++r)
    cap[r] = std::min(slots, (num_items * (r + 1)) / num_ranks - (num_items * r) / num_ranks);
  // Spread rounding so that capacities sum to num_items when the slots allow it.
  int total = std::accumulate(cap.begin(), cap.end(), 0);
  for (int r = 0; total < num_items && r < num_ranks; ++r)
    while (cap[r] < slots && total < num_items) {
      ++cap[r];
      ++total;
    }
  return cap;
}

double cut_weight(const std::vector<double>& affinity, const std::vector<int>& part) {
  const int n = static_cast<int>(part.size());
  double cut = 0;
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (part[i] != part[j]) cut += affinity[static_cast<size_t>(i) * n + j];
  return cut;
}

std::vector<int> partition(const std::vector<double>& affinity, const std::vector<double>& item_load,
                           const std::vector<int>& capacity, const PartitionOptions& opt) {
  const int n = static_cast<int>(item_load.size());
  const int parts = static_cast<int>(capacity.size());
  if (std::accumulate(capacity.begin(), capacity.end(), 0LL) < n)
    throw Error("partition: capacities hold fewer items than there are");
  const double total_load = std::accumulate(item_load.begin(), item_load.end(), 0.0);
  State s{n, parts, affinity, item_load, capacity, std::vector<int>(n, -1),
          std::vector<int>(parts, 0), std::vector<double>(parts, 0.0),
          std::vector<double>(static_cast<size_t>(n) * parts, 0.0),
          opt.load_slack > 0 && total_load > 0 ? (1 + opt.load_slack) * total_load / parts : -1};
  if (parts == 1) return std::vector<int>(n, 0);

  std::vector<double> strength(n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) strength[i] += s.at(i, j);
  const std::vector<int> order = seed_order(strength, item_load, opt.seed);
  for (int i : order) s.assign(i, greedy_part(s, i));

  // Refinement: per item, the best positive-gain move to a part with room, else the best
  // positive-gain swap with an item of another part; capacities and load caps always hold.
  const double eps = 1e-9 * (1 + std::accumulate(strength.begin(), strength.end(), 0.0));
  for (int pass = 0; pass < opt.refine_passes; ++pass) {
    bool changed = false;
    for (int i : order) changed = refine_item(s, i, eps) || changed;
    if (!changed) break;
  }
  return s.part;
}

std::vector<int> hierarchical_partition(const std::vector<double>& affinity,
                                        const std::vector<double>& item_load,
                                        const Topology& topo, const std::vector<int>& rank_capacity,
                                        const PartitionOptions& opt) {
  const int n = static_cast<int>(item_load.size());
  const int N = topo.num_nodes();
  std::vector<int> node_cap(N, 0);
  for (int r = 0; r < topo.num_ranks(); ++r) node_cap[topo.node_of(r)] += rank_capacity[r];
  const std::vector<int> node_of_item = partition(affinity, item_load, node_cap, opt);
  std::vector<int> rank_of_item(n, -1);
  for (int node = 0; node < N; ++node) {
    std::vector<int> items;
    for (int i = 0; i < n; ++i)
      if (node_of_item[i] == node) items.push_back(i);
    const auto& ranks = topo.ranks_of_node(node);
    const int m = static_cast<int>(items.size());
    std::vector<double> sub(static_cast<size_t>(m) * m), sub_load(m);
    for (int x = 0; x < m; ++x) {
      sub_load[x] = item_load[items[x]];
      for (int y = 0; y < m; ++y)
        sub[static_cast<size_t>(x) * m + y] = affinity[static_cast<size_t>(items[x]) * n + items[y]];
    }
    std::vector<int> cap;
    for (int r : ranks) cap.push_back(rank_capacity[r]);
    PartitionOptions o = opt;
    o.seed = hash_counters(opt.seed, static_cast<uint64_t>(node));
    const std::vector<int> local = partition(sub, sub_load, cap, o);
    for (int x = 0; x < m; ++x) rank_of_item[items[x]] = ranks[local[x]];
  }
  return rank_of_item;
}

}  // namespace moeb::placement
