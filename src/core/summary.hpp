// Summary statistics of one strategy's measurements (results_schema/README.md "summary",
// METRICS.md): per layer and for the whole batch. Pure: no I/O.
//
// Per (layer, iteration) quantities are formed first (sums / maxima over ranks), then reduced
// over iterations. Dimensionless per-iteration statistics (balancedness, jain, idle_fraction)
// are medians of the per-iteration values. Rates are ratios of medians, as nccl-tests reports
// bandwidth from one time: throughput = median batch tokens / median_i max_r t_layer, and
// algbw = median max_rank_bytes / median_i max_r t_dispatch. A rate whose time is 0 is 0.
#pragma once

#include <string>
#include <vector>

#include "core/results.hpp"

namespace moeb {

struct StrategySummary {
  // Per layer [L].
  std::vector<double> comm_bytes;        // bytes: sum_r dispatch + combine bytes sent (median)
  std::vector<double> inter_node_bytes;  // bytes: the inter-node part of comm_bytes (median)
  std::vector<double> max_rank_bytes;    // bytes: max_r max(dispatch sent, dispatch recv) (median)
  std::vector<double> balancedness;      // 1: mean_r rows / max_r rows (median)
  std::vector<double> jain;              // 1: Jain index of rows_computed (median)
  std::vector<double> idle_fraction;     // 1: sum_r idle / sum_r t_layer (median)
  std::vector<double> throughput;        // tokens/s: median batch tokens / t_layer_p50
  std::vector<double> t_layer_p50, t_layer_p95, t_layer_p99;  // s: of max_r t_layer over iters
  std::vector<double> algbw;  // bytes/s: max_rank_bytes / median_i max_r t_dispatch
  std::vector<double> busbw;  // bytes/s: algbw * (R-1)/R

  // Whole batch (all layers).
  double total_comm_bytes = 0;        // sum over layers of comm_bytes
  double total_inter_node_bytes = 0;  // sum over layers of inter_node_bytes
  double mean_idle_fraction = 0;      // mean over layers
  double mean_jain = 0;               // mean over layers
  double mean_balancedness = 0;       // mean over layers
  double batch_throughput = 0;        // median batch tokens / median_i sum_l max_r t_layer
};

// One named per-layer field of StrategySummary with its unit, for writers and readers.
struct SummaryField {
  const char* name;   // dataset name under /strategies/<name>/summary
  const char* units;  // `units` attribute
  std::vector<double> StrategySummary::*per_layer;
};
const std::vector<SummaryField>& summary_fields();

// Whole-batch values as (attribute name, value), in schema order.
std::vector<std::pair<std::string, double>> summary_attributes(const StrategySummary& s);

// Computes the summary from `r`'s measured cubes. Requires every count and time cube of
// results.hpp with a common shape [I, L, R], I >= 1, and batch_tokens of size I; throws Error
// naming the missing or misshapen cube otherwise.
StrategySummary summarize(const StrategyResult& r);

}  // namespace moeb
