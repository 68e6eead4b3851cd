// The figures of one strategy in one results file, computed from its measured cubes with the
// definitions of METRICS.md (medians over iterations). Pure: no HDF5.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/results.hpp"

namespace moeb::report {

// What a file says about all its strategies that some figures need.
struct FileContext {
  bool simulated = false;      // backend "model": leaves meas_pred out (times are the model's)
  bool counts_only = false;    // model file without a system model (place): times are n/a
  double expert_bytes = 0;     // bytes of one routed expert's weights; 0 = unknown
};

// Keys are column ids (columns.hpp), values in display units. Keys starting with '_' are raw
// quantities the ratio columns need (not shown).
struct StrategyFigures {
  bool has_data = false;  // measured cubes present with at least one iteration
  int iterations = 0;
  int layers = 0;
  std::map<std::string, double> whole;                   // whole batch, all layers
  std::map<std::string, std::vector<double>> per_layer;  // [layer]
  // Time-derived columns: per measured iteration, the values the column's statistic is taken
  // over (one per iteration for most columns; the iteration's layer maxima for percentiles).
  // Spreads and confidence intervals resample these (report.cpp).
  std::map<std::string, std::vector<std::vector<double>>> per_iteration;
};

// Absolute figures of `s`.
StrategyFigures compute_figures(const StrategyResult& s, const FileContext& ctx);

// Adds the columns taken against the reference strategy of the same file (comm_reduction,
// inter_reduction, speedup), whole, per layer and per iteration. NaN where the reference has
// no data.
void add_baseline_ratios(StrategyFigures& f, const StrategyFigures& baseline);

// The statistic of a time-derived column over pooled per-iteration values: the percentile for
// p50_ms/p95_ms/p99_ms, the median otherwise.
double column_statistic(const std::string& column, std::vector<double> pooled);

}  // namespace moeb::report
