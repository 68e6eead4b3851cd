// The figures of one strategy in one results file, computed from its measured cubes with the
// definitions of METRICS.md (medians over iterations). Pure: no HDF5.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/results.hpp"

namespace moeb::report {

// Keys are column ids (columns.hpp), values in display units. Keys starting with '_' are raw
// quantities the ratio columns need (not shown).
struct StrategyFigures {
  bool has_data = false;  // measured cubes present with at least one iteration
  int iterations = 0;
  int layers = 0;
  std::map<std::string, double> whole;                   // whole batch, all layers
  std::map<std::string, std::vector<double>> per_layer;  // [layer]
};

// Absolute figures of `s`. `simulated` (backend "model") leaves meas_pred out: there the
// "measured" times are the cost model's own.
StrategyFigures compute_figures(const StrategyResult& s, bool simulated);

// Adds the columns taken against the baseline of the same file (comm_reduction,
// inter_reduction, speedup), whole and per layer. NaN where the baseline has no data.
void add_baseline_ratios(StrategyFigures& f, const StrategyFigures& baseline);

}  // namespace moeb::report
