// Aggregation of one report cell: per-file figures -> median, min, max over repetitions, and the
// noise interval over iterations and repetitions (min-max or bootstrap CI). Pure.
#pragma once

#include <string>
#include <vector>

#include "report/figures.hpp"
#include "report/report.hpp"

namespace moeb::report {

// One strategy of one file, ready to aggregate.
struct Sample {
  const StrategyResult* result = nullptr;
  const std::string* path = nullptr;
  StrategyFigures figures;
};
using CellSamples = std::vector<Sample>;

// Fills cell.whole and cell.per_layer from the samples that carry data.
void aggregate_cell(const CellSamples& samples, int num_layers, const ReportOptions& opt,
                    Cell& cell);

// Median, min, max of `values` (non-finite ones dropped); lo/hi = min/max.
Stat make_stat(std::vector<double> values);

// Bootstrap percentile interval (level 95%) of `column_statistic(column, pooled)` where pooled
// holds the values of `groups` resampled with replacement; deterministic for given inputs.
std::pair<double, double> bootstrap_interval(const std::string& column,
                                             const std::vector<std::vector<double>>& groups,
                                             int resamples);

// Bytes of one routed expert (3 * hidden * ffn_hidden * dtype bytes; dtype: the config's
// placement.expert_dtype, else the activation dtype) from a file's fingerprint; 0 when unknown.
double expert_bytes_of(const Fingerprint& fp);

}  // namespace moeb::report
