#include "report/figures.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/metrics.hpp"
#include "core/summary.hpp"
#include "report/columns.hpp"

namespace moeb::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kBytesPerGb = 1e9;
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

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
double rate(double bytes, double seconds) { return seconds > 0 ? bytes / seconds : 0.0; }

std::vector<double> scaled(const std::vector<double>& x, double k) {
  std::vector<double> y;
  for (double v : x) y.push_back(v * k);
  return y;
}

// Per (iteration, layer): the maxima over ranks that batch times and bandwidths are made of.
struct IterationLayer {
  double t_layer = 0, t_ffn = 0, t_dispatch = 0, t_combine = 0, idle = 0;
  double dispatch_bytes = 0, combine_bytes = 0;  // max_r max(sent, recv) of the phase
};

std::vector<std::vector<IterationLayer>> iteration_layers(const StrategyResult& s, int I, int L,
                                                          int R) {
  auto cnt = [&](const char* n, int i, int l, int r) {
    auto it = s.counts.find(n);
    return it == s.counts.end() || it->second.data.empty()
               ? 0.0
               : static_cast<double>(it->second.at(i, l, r));
  };
  auto tim = [&](const char* n, int i, int l, int r) {
    const Cube<double>* c = time_cube(s, n);
    return c ? c->at(i, l, r) : 0.0;
  };
  std::vector<std::vector<IterationLayer>> out(I, std::vector<IterationLayer>(L));
  for (int i = 0; i < I; ++i)
    for (int l = 0; l < L; ++l) {
      IterationLayer& x = out[i][l];
      double idle_sum = 0, tl_sum = 0;
      for (int r = 0; r < R; ++r) {
        x.t_layer = std::max(x.t_layer, tim("t_layer", i, l, r));
        x.t_ffn = std::max(x.t_ffn, tim("t_ffn", i, l, r));
        x.t_dispatch = std::max(x.t_dispatch, tim("t_dispatch", i, l, r));
        x.t_combine = std::max(x.t_combine, tim("t_combine", i, l, r));
        idle_sum += tim("t_wait_dispatch", i, l, r) + tim("t_wait_combine", i, l, r);
        tl_sum += tim("t_layer", i, l, r);
        x.dispatch_bytes = std::max(
            {x.dispatch_bytes, cnt("bytes_sent_intra", i, l, r) + cnt("bytes_sent_inter", i, l, r),
             cnt("bytes_recv_intra", i, l, r) + cnt("bytes_recv_inter", i, l, r)});
        x.combine_bytes =
            std::max({x.combine_bytes,
                      cnt("bytes_sent_intra_combine", i, l, r) +
                          cnt("bytes_sent_inter_combine", i, l, r),
                      cnt("bytes_recv_intra_combine", i, l, r) +
                          cnt("bytes_recv_inter_combine", i, l, r)});
      }
      x.idle = tl_sum > 0 ? idle_sum / tl_sum : 0.0;
    }
  return out;
}

// Whole-batch and per-iteration values of the time-derived columns (and bandwidths).
void add_iteration_figures(StrategyFigures& f, const StrategyResult& s,
                           const std::vector<std::vector<IterationLayer>>& il, int R) {
  const int I = static_cast<int>(il.size());
  const double bus = R > 0 ? static_cast<double>(R - 1) / R : 0.0;
  std::vector<double> batch(I), ffn(I), disp(I), comb(I), dbytes(I), cbytes(I);
  auto& pi = f.per_iteration;
  for (int i = 0; i < I; ++i) {
    double idle = 0;
    std::vector<double> layer_max_ms;
    for (const auto& x : il[i]) {
      batch[i] += x.t_layer;
      ffn[i] += x.t_ffn;
      disp[i] += x.t_dispatch;
      comb[i] += x.t_combine;
      dbytes[i] += x.dispatch_bytes;
      cbytes[i] += x.combine_bytes;
      idle += x.idle;
      layer_max_ms.push_back(1e3 * x.t_layer);
    }
    const double tokens = i < static_cast<int>(s.batch_tokens.size()) ? s.batch_tokens[i] : 0.0;
    pi["throughput"].push_back({rate(tokens, batch[i])});
    pi["idle_pct"].push_back({il[i].empty() ? 0.0 : 100.0 * idle / il[i].size()});
    pi["batch_ms"].push_back({1e3 * batch[i]});
    pi["ffn_ms"].push_back({1e3 * ffn[i]});
    pi["dispatch_ms"].push_back({1e3 * disp[i]});
    pi["combine_ms"].push_back({1e3 * comb[i]});
    pi["algbw_gbps"].push_back({rate(dbytes[i], disp[i]) / kBytesPerGb});
    pi["busbw_gbps"].push_back({bus * rate(dbytes[i], disp[i]) / kBytesPerGb});
    pi["combine_algbw_gbps"].push_back({rate(cbytes[i], comb[i]) / kBytesPerGb});
    pi["combine_busbw_gbps"].push_back({bus * rate(cbytes[i], comb[i]) / kBytesPerGb});
    for (const char* p : {"p50_ms", "p95_ms", "p99_ms"}) pi[p].push_back(layer_max_ms);
  }
  f.whole["_t_batch_s"] = median(batch);
  f.whole["batch_ms"] = 1e3 * median(batch);
  f.whole["ffn_ms"] = 1e3 * median(ffn);
  f.whole["dispatch_ms"] = 1e3 * median(disp);
  f.whole["combine_ms"] = 1e3 * median(comb);
  f.whole["algbw_gbps"] = rate(median(dbytes), median(disp)) / kBytesPerGb;
  f.whole["busbw_gbps"] = bus * f.whole["algbw_gbps"];
  f.whole["combine_algbw_gbps"] = rate(median(cbytes), median(comb)) / kBytesPerGb;
  f.whole["combine_busbw_gbps"] = bus * f.whole["combine_algbw_gbps"];
  for (const char* p : {"p50_ms", "p95_ms", "p99_ms"}) {
    std::vector<double> pooled;
    for (const auto& v : pi[p]) pooled.insert(pooled.end(), v.begin(), v.end());
    f.whole[p] = column_statistic(p, pooled);
  }
}

// Per-layer phase medians (over iterations) of the maxima over ranks.
void add_layer_phases(StrategyFigures& f, const std::vector<std::vector<IterationLayer>>& il,
                      int L) {
  for (int l = 0; l < L; ++l) {
    std::vector<double> ffn, disp, comb;
    for (const auto& it : il) {
      ffn.push_back(1e3 * it[l].t_ffn);
      disp.push_back(1e3 * it[l].t_dispatch);
      comb.push_back(1e3 * it[l].t_combine);
    }
    f.per_layer["ffn_ms"].push_back(median(ffn));
    f.per_layer["dispatch_ms"].push_back(median(disp));
    f.per_layer["combine_ms"].push_back(median(comb));
  }
}

// Placement figures: extra replicas per layer, expert memory per rank.
void add_placement_figures(StrategyFigures& f, const StrategyResult& s, const FileContext& ctx) {
  if (s.replicas.empty()) return;
  std::map<int, double> slots_of_rank;
  double extra = 0;
  for (const auto& layer : s.replicas) {
    double layer_extra = 0;
    for (const auto& ranks : layer) {
      layer_extra += ranks.empty() ? 0 : static_cast<double>(ranks.size() - 1);
      for (int r : ranks) slots_of_rank[r] += 1;
    }
    f.per_layer["replicas"].push_back(layer_extra);
    extra += layer_extra;
  }
  f.whole["replicas"] = extra / static_cast<double>(s.replicas.size());
  double max_slots = 0;
  for (const auto& [r, n] : slots_of_rank) max_slots = std::max(max_slots, n);
  f.whole["expert_mem_gib"] = ctx.expert_bytes > 0 ? max_slots * ctx.expert_bytes / kGiB : kNaN;
}

void add_summary_figures(StrategyFigures& f, const StrategySummary& sum, int L) {
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
  f.per_layer["p95_ms"] = scaled(sum.t_layer_p95, 1e3);
  f.per_layer["p99_ms"] = scaled(sum.t_layer_p99, 1e3);
  f.per_layer["algbw_gbps"] = scaled(sum.algbw, 1.0 / kBytesPerGb);
  f.per_layer["busbw_gbps"] = scaled(sum.busbw, 1.0 / kBytesPerGb);
  f.per_layer["_t_layer_s"] = sum.t_layer_p50;

  f.whole["comm_gb"] = sum.total_comm_bytes / kBytesPerGb;
  f.whole["inter_gb"] = sum.total_inter_node_bytes / kBytesPerGb;
  f.whole["inter_share"] =
      sum.total_comm_bytes > 0 ? 100.0 * sum.total_inter_node_bytes / sum.total_comm_bytes : 0.0;
  f.whole["idle_pct"] = 100.0 * sum.mean_idle_fraction;
  f.whole["jain"] = sum.mean_jain;
  f.whole["balancedness"] = sum.mean_balancedness;
  f.whole["throughput"] = sum.batch_throughput;
}

// Measured over predicted, when the cost model's times are stored next to measured ones: the
// sum over layers of the median layer time over the predicted sum, as `moebench run` prints it.
void add_meas_pred(StrategyFigures& f, const StrategyResult& s, const StrategySummary& sum,
                   int L) {
  auto pred = s.predicted.find("t_layer");
  if (pred == s.predicted.end() || static_cast<int>(pred->second.size()) != L) return;
  auto& mp = f.per_layer["meas_pred"];
  double pred_total = 0, meas_total = 0;
  for (int l = 0; l < L; ++l) {
    pred_total += pred->second[l];
    meas_total += sum.t_layer_p50[l];
    mp.push_back(pred->second[l] > 0 ? sum.t_layer_p50[l] / pred->second[l] : kNaN);
  }
  f.whole["meas_pred"] = pred_total > 0 ? meas_total / pred_total : kNaN;
  if (pred_total <= 0) return;
  for (const auto& b : f.per_iteration["batch_ms"])
    f.per_iteration["meas_pred"].push_back({b[0] / (1e3 * pred_total)});
}

// A file without times (place without a system model stores 0 s): every time-derived figure
// is NaN, which the tables print as n/a, never as 0 tok/s or 0 ms.
void blank_times(StrategyFigures& f) {
  std::vector<std::string> ids = {"_t_batch_s", "_t_layer_s"};
  for (const auto& c : report_columns())
    if (c.time_derived) ids.push_back(c.id);
  for (const auto& id : ids) {
    if (auto it = f.whole.find(id); it != f.whole.end()) it->second = kNaN;
    if (auto it = f.per_layer.find(id); it != f.per_layer.end())
      for (double& v : it->second) v = kNaN;
    if (auto it = f.per_iteration.find(id); it != f.per_iteration.end())
      for (auto& g : it->second)
        for (double& v : g) v = kNaN;
  }
}

}  // namespace

double column_statistic(const std::string& column, std::vector<double> pooled) {
  if (pooled.empty()) return kNaN;
  if (column == "p50_ms") return percentile(std::move(pooled), 50);
  if (column == "p95_ms") return percentile(std::move(pooled), 95);
  if (column == "p99_ms") return percentile(std::move(pooled), 99);
  return median(std::move(pooled));
}

StrategyFigures compute_figures(const StrategyResult& s, const FileContext& ctx) {
  StrategyFigures f;
  f.whole["routing_dev_pct"] = s.routing_deviation >= 0 ? 100.0 * s.routing_deviation : kNaN;
  f.whole["placement_s"] = s.placement_time_s;
  add_placement_figures(f, s, ctx);
  const Cube<double>* t_layer = time_cube(s, "t_layer");
  if (!t_layer || t_layer->iterations == 0 || t_layer->layers == 0 || t_layer->ranks == 0) return f;
  // The per-layer statistics are the results file's own summary (core/summary.hpp), so the
  // table and the file's /summary datasets never disagree.
  const StrategySummary sum = summarize(s);
  const int I = t_layer->iterations, L = t_layer->layers, R = t_layer->ranks;
  f.has_data = true;
  f.iterations = I;
  f.layers = L;
  add_summary_figures(f, sum, L);
  const auto il = iteration_layers(s, I, L, R);
  add_iteration_figures(f, s, il, R);
  add_layer_phases(f, il, L);
  if (!ctx.simulated) add_meas_pred(f, s, sum, L);
  if (ctx.counts_only) blank_times(f);
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
  // Per iteration: paired with the reference's same iteration (the same batch) when both
  // measured as many iterations, else against the reference's median batch time.
  auto& sp_i = f.per_iteration["speedup"];
  sp_i.clear();
  if (!ok) return;
  const auto& mine = f.per_iteration.at("batch_ms");
  const auto bit = baseline.per_iteration.find("batch_ms");
  const bool paired = bit != baseline.per_iteration.end() && bit->second.size() == mine.size();
  for (size_t i = 0; i < mine.size(); ++i)
    sp_i.push_back({ratio_speedup(mine[i][0], paired ? bit->second[i][0]
                                                     : 1e3 * whole(baseline, "_t_batch_s"))});
}

}  // namespace moeb::report
