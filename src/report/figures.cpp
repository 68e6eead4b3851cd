#include "report/figures.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/metrics.hpp"
#include "core/summary.hpp"

namespace moeb::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kBytesPerGb = 1e9;

const Cube<double>* time_cube(const StrategyResult& s, const char* name) {
  auto it = s.times.find(name);
  return it == s.times.end() || it->second.data.empty() ? nullptr : &it->second;
}

double ratio_reduction(double x, double base) {
  if (!std::isfinite(x) || !std::isfinite(base) || base == 0) return kNaN;
  return 100.0 * (1.0 - x / base);
}
double ratio_speedup(double t, double base_t) {
  if (!std::isfinite(t) || !std::isfinite(base_t) || t <= 0) return kNaN;
  return base_t / t;
}

}  // namespace

StrategyFigures compute_figures(const StrategyResult& s, bool simulated) {
  StrategyFigures f;
  f.whole["routing_dev_pct"] = s.routing_deviation >= 0 ? 100.0 * s.routing_deviation : kNaN;
  f.whole["placement_s"] = s.placement_time_s;
  const Cube<double>* t_layer = time_cube(s, "t_layer");
  if (!t_layer || t_layer->iterations == 0 || t_layer->layers == 0 || t_layer->ranks == 0) return f;
  // The per-layer statistics are the results file's own summary (core/summary.hpp), so the
  // table and the file's /summary datasets never disagree.
  const StrategySummary sum = summarize(s);
  const int I = t_layer->iterations, L = t_layer->layers, R = t_layer->ranks;
  f.has_data = true;
  f.iterations = I;
  f.layers = L;

  auto scaled = [](const std::vector<double>& x, double k) {
    std::vector<double> y;
    for (double v : x) y.push_back(v * k);
    return y;
  };
  f.per_layer["comm_gb"] = scaled(sum.comm_bytes, 1.0 / kBytesPerGb);
  f.per_layer["inter_gb"] = scaled(sum.inter_node_bytes, 1.0 / kBytesPerGb);
  auto& share = f.per_layer["inter_share"];
  for (int l = 0; l < L; ++l)
    share.push_back(sum.comm_bytes[l] > 0 ? 100.0 * sum.inter_node_bytes[l] / sum.comm_bytes[l]
                                          : 0.0);
  f.per_layer["idle_pct"] = scaled(sum.idle_fraction, 100.0);
  f.per_layer["jain"] = sum.jain;
  f.per_layer["balancedness"] = sum.balancedness;
  f.per_layer["throughput"] = sum.throughput;
  f.per_layer["p50_ms"] = scaled(sum.t_layer_p50, 1e3);
  f.per_layer["p99_ms"] = scaled(sum.t_layer_p99, 1e3);
  f.per_layer["_t_layer_s"] = sum.t_layer_p50;

  f.whole["comm_gb"] = sum.total_comm_bytes / kBytesPerGb;
  f.whole["inter_gb"] = sum.total_inter_node_bytes / kBytesPerGb;
  f.whole["inter_share"] =
      sum.total_comm_bytes > 0 ? 100.0 * sum.total_inter_node_bytes / sum.total_comm_bytes : 0.0;
  f.whole["idle_pct"] = 100.0 * sum.mean_idle_fraction;
  f.whole["jain"] = sum.mean_jain;
  f.whole["balancedness"] = sum.mean_balancedness;
  f.whole["throughput"] = sum.batch_throughput;

  // Batch time per iteration (sum over layers of max_r t_layer) and the pooled layer latencies.
  std::vector<double> batch_time(I, 0.0);
  std::vector<double> layer_max;
  for (int i = 0; i < I; ++i)
    for (int l = 0; l < L; ++l) {
      double t_max = 0;
      for (int r = 0; r < R; ++r) t_max = std::max(t_max, t_layer->at(i, l, r));
      batch_time[i] += t_max;
      layer_max.push_back(t_max);
    }
  const double t_batch = median(batch_time);
  f.whole["_t_batch_s"] = t_batch;
  f.whole["p50_ms"] = 1e3 * percentile(layer_max, 50);
  f.whole["p99_ms"] = 1e3 * percentile(layer_max, 99);

  // Measured over predicted, when the cost model's times are stored next to measured ones.
  auto pred = s.predicted.find("t_layer");
  if (!simulated && pred != s.predicted.end() && static_cast<int>(pred->second.size()) == L) {
    // Sum over layers of the median layer time over the predicted sum, as `moebench run`
    // prints it, so the run's table and the report agree.
    auto& mp = f.per_layer["meas_pred"];
    double pred_total = 0, meas_total = 0;
    for (int l = 0; l < L; ++l) {
      pred_total += pred->second[l];
      meas_total += sum.t_layer_p50[l];
      mp.push_back(pred->second[l] > 0 ? sum.t_layer_p50[l] / pred->second[l] : kNaN);
    }
    f.whole["meas_pred"] = pred_total > 0 ? meas_total / pred_total : kNaN;
  }
  return f;
}

void add_baseline_ratios(StrategyFigures& f, const StrategyFigures& baseline) {
  auto whole = [](const StrategyFigures& x, const char* key) {
    auto it = x.whole.find(key);
    return it == x.whole.end() ? kNaN : it->second;
  };
  auto layer = [](const StrategyFigures& x, const char* key, int l) {
    auto it = x.per_layer.find(key);
    return it == x.per_layer.end() || l >= static_cast<int>(it->second.size()) ? kNaN
                                                                               : it->second[l];
  };
  if (!f.has_data) return;
  const bool ok = baseline.has_data;
  f.whole["comm_reduction"] =
      ok ? ratio_reduction(whole(f, "comm_gb"), whole(baseline, "comm_gb")) : kNaN;
  f.whole["inter_reduction"] =
      ok ? ratio_reduction(whole(f, "inter_gb"), whole(baseline, "inter_gb")) : kNaN;
  f.whole["speedup"] =
      ok ? ratio_speedup(whole(f, "_t_batch_s"), whole(baseline, "_t_batch_s")) : kNaN;
  auto& cr = f.per_layer["comm_reduction"];
  auto& ir = f.per_layer["inter_reduction"];
  auto& sp = f.per_layer["speedup"];
  cr.clear();
  ir.clear();
  sp.clear();
  for (int l = 0; l < f.layers; ++l) {
    const bool lok = ok && l < baseline.layers;
    cr.push_back(lok ? ratio_reduction(layer(f, "comm_gb", l), layer(baseline, "comm_gb", l))
                     : kNaN);
    ir.push_back(lok ? ratio_reduction(layer(f, "inter_gb", l), layer(baseline, "inter_gb", l))
                     : kNaN);
    sp.push_back(lok ? ratio_speedup(layer(f, "_t_layer_s", l), layer(baseline, "_t_layer_s", l))
                     : kNaN);
  }
}

}  // namespace moeb::report
