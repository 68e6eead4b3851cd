#include "report/aggregate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/metrics.hpp"
#include "core/rng.hpp"
#include "report/columns.hpp"

namespace moeb::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

uint64_t text_hash(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

// Per-iteration groups of a column over every sample with data (iterations x repetitions).
std::vector<std::vector<double>> pooled_groups(const std::vector<const StrategyFigures*>& with,
                                               const std::string& column) {
  std::vector<std::vector<double>> groups;
  for (const auto* f : with) {
    auto it = f->per_iteration.find(column);
    if (it == f->per_iteration.end()) continue;
    for (const auto& g : it->second) {
      std::vector<double> finite;
      for (double v : g)
        if (std::isfinite(v)) finite.push_back(v);
      if (!finite.empty()) groups.push_back(std::move(finite));
    }
  }
  return groups;
}

// The noise interval of a whole-run figure: over iterations and repetitions where the column
// has per-iteration values, else over the files' values.
void set_interval(Stat& st, const std::string& column, const std::vector<double>& file_values,
                  const std::vector<std::vector<double>>& groups, const ReportOptions& opt) {
  if (st.n == 0) return;
  if (groups.empty()) {
    st.samples = st.n;
    if (opt.spread == Spread::kCi && st.n > 1) {
      std::vector<std::vector<double>> g;
      for (double v : file_values)
        if (std::isfinite(v)) g.push_back({v});
      std::tie(st.lo, st.hi) = bootstrap_interval("median", g, opt.bootstrap_resamples);
    }
    return;
  }
  st.samples = static_cast<int>(groups.size());
  if (opt.spread == Spread::kCi) {
    std::tie(st.lo, st.hi) = bootstrap_interval(column, groups, opt.bootstrap_resamples);
    return;
  }
  for (const auto& g : groups) {
    const double v = column_statistic(column, g);
    st.lo = std::min(st.lo, v);
    st.hi = std::max(st.hi, v);
  }
}

std::vector<Stat> layer_stats(const std::vector<const StrategyFigures*>& with,
                              const std::string& column, int num_layers) {
  std::vector<Stat> layers;
  for (int l = 0; l < num_layers; ++l) {
    std::vector<double> v;
    for (const auto* f : with) {
      auto it = f->per_layer.find(column);
      if (it != f->per_layer.end() && l < static_cast<int>(it->second.size()))
        v.push_back(it->second[l]);
    }
    layers.push_back(make_stat(v));
  }
  return layers;
}

}  // namespace

Stat make_stat(std::vector<double> values) {
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
      values.end());
  Stat s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  s.n = static_cast<int>(n);
  s.min = values.front();
  s.max = values.back();
  s.median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  s.lo = s.min;
  s.hi = s.max;
  s.samples = s.n;
  return s;
}

std::pair<double, double> bootstrap_interval(const std::string& column,
                                             const std::vector<std::vector<double>>& groups,
                                             int resamples) {
  if (groups.empty()) return {kNaN, kNaN};
  const uint64_t seed = text_hash(column) ^ (groups.size() * 0x9E3779B97F4A7C15ULL);
  std::vector<double> stats;
  stats.reserve(static_cast<size_t>(resamples));
  std::vector<double> pooled;
  for (int b = 0; b < resamples; ++b) {
    pooled.clear();
    for (size_t k = 0; k < groups.size(); ++k) {
      const auto& g = groups[bounded(hash_counters(seed, static_cast<uint64_t>(b), k),
                                     groups.size())];
      pooled.insert(pooled.end(), g.begin(), g.end());
    }
    stats.push_back(column_statistic(column, pooled));
  }
  return {percentile(stats, 2.5), percentile(stats, 97.5)};
}

void aggregate_cell(const CellSamples& samples, int num_layers, const ReportOptions& opt,
                    Cell& cell) {
  // Skipped and failed strategies carry no figures; interrupted ones those they measured.
  std::vector<const StrategyFigures*> with;
  for (const auto& s : samples)
    if (s.figures.has_data) with.push_back(&s.figures);
  for (const auto& col : report_columns()) {
    std::vector<double> w;
    for (const auto* f : with) {
      auto it = f->whole.find(col.id);
      if (it != f->whole.end()) w.push_back(it->second);
    }
    // Placement-only figures exist without measurements too (a skipped run has none).
    if (with.empty() && (col.id == "placement_s" || col.id == "routing_dev_pct"))
      for (const auto& s : samples)
        if (to_string(s.result->status) != "skipped" && to_string(s.result->status) != "failed") {
          auto it = s.figures.whole.find(col.id);
          if (it != s.figures.whole.end()) w.push_back(it->second);
        }
    Stat st = make_stat(w);
    set_interval(st, col.id, w, col.time_derived ? pooled_groups(with, col.id)
                                                 : std::vector<std::vector<double>>{},
                 opt);
    cell.whole[col.id] = st;
    cell.per_layer[col.id] = layer_stats(with, col.id, num_layers);
  }
}

double expert_bytes_of(const Fingerprint& fp) {
  auto num = [&](const char* key) {
    auto it = fp.keys.find(key);
    if (it == fp.keys.end()) return 0.0;
    try {
      return std::stod(it->second);
    } catch (...) {
      return 0.0;
    }
  };
  const double hidden = num("model.hidden"), ffn = num("model.ffn_hidden");
  auto dt = fp.keys.find("placement.expert_dtype");
  if (dt == fp.keys.end()) dt = fp.keys.find("act_dtype");
  if (dt == fp.keys.end()) return 0.0;
  const std::string& d = dt->second;
  const double bytes = d == "fp32" ? 4 : d == "bf16" || d == "fp16" ? 2 : d == "fp8" ? 1 : 0;
  return 3.0 * hidden * ffn * bytes;
}

}  // namespace moeb::report
