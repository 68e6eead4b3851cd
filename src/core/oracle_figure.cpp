#include "core/oracle_figure.hpp"

#include <algorithm>
#include <cmath>

namespace moeb {

namespace {

// Per layer: mean over iterations of f(iteration, layer), summed over layers.
template <class F>
double layer_means(int iterations, int layers, F f) {
  double total = 0;
  for (int l = 0; l < layers; ++l) {
    double sum = 0;
    for (int i = 0; i < iterations; ++i) sum += f(i, l);
    total += sum / iterations;
  }
  return total;
}

// Sum over ranks of the listed count cubes at (i, l).
double rank_sum(const StrategyResult& s, std::initializer_list<const char*> keys, int i, int l) {
  double t = 0;
  for (const char* k : keys) {
    const auto& c = s.counts.at(k);
    for (int r = 0; r < c.ranks; ++r) t += static_cast<double>(c.at(i, l, r));
  }
  return t;
}

}  // namespace

std::optional<double> measured_objective(const StrategyResult& s, const std::string& objective) {
  if (s.status != StrategyStatus::kComplete) return std::nullopt;
  if (objective == "layer_time") {
    auto it = s.predicted.find("t_layer");
    if (it == s.predicted.end() || it->second.empty()) return std::nullopt;
    double t = 0;
    for (double x : it->second) t += x;
    return t;
  }
  auto rows = s.counts.find("rows_computed");
  if (rows == s.counts.end() || rows->second.iterations < 1) return std::nullopt;
  const int I = rows->second.iterations, L = rows->second.layers;
  if (objective == "inter_node_bytes")
    return layer_means(I, L, [&](int i, int l) {
      return rank_sum(s, {"bytes_sent_inter", "bytes_sent_inter_combine"}, i, l);
    });
  if (objective == "total_bytes")
    return layer_means(I, L, [&](int i, int l) {
      return rank_sum(s,
                      {"bytes_sent_inter", "bytes_sent_inter_combine", "bytes_sent_intra",
                       "bytes_sent_intra_combine"},
                      i, l);
    });
  if (objective == "max_rank_load")
    return layer_means(I, L, [&](int i, int l) {
      int64_t m = 0;
      for (int r = 0; r < rows->second.ranks; ++r) m = std::max(m, rows->second.at(i, l, r));
      return static_cast<double>(m);
    });
  return std::nullopt;
}

std::optional<double> of_oracle_pct(double base, double value, double oracle) {
  const double reachable = base - oracle;
  if (!std::isfinite(base) || !std::isfinite(value) || !std::isfinite(oracle) || reachable == 0)
    return std::nullopt;
  return 100.0 * (base - value) / reachable;
}

std::string oracle_objective_of(const StrategyResult& s) {
  for (const auto& [k, v] : s.notes)
    if (k == kOracleObjectiveNote) return v;
  return "";
}

}  // namespace moeb
