#include "report/columns.hpp"

#include <cmath>
#include <cstdio>

#include "core/error.hpp"

namespace moeb::report {

const std::vector<ColumnSpec>& report_columns() {
  using B = Better;
  using S = NumberStyle;
  static const std::vector<ColumnSpec> cols = {
      {"comm_gb", "comm GB", "Comm (GB)", "GB", B::kLower, S::kSig4, true, false,
       "dispatch + combine bytes sent, all ranks, summed over layers (median over iterations), 1e9 "
       "bytes"},
      {"comm_reduction", "comm red. %", "Comm red. (\\%)", "%", B::kHigher, S::kFixed1, true, true,
       "100 * (1 - comm / comm of the reference strategy in the same file)"},
      {"inter_gb", "inter GB", "Inter-node (GB)", "GB", B::kLower, S::kSig4, false, false,
       "inter-node part of comm_gb"},
      {"inter_reduction", "inter red. %", "Inter red. (\\%)", "%", B::kHigher, S::kFixed1, false,
       true, "100 * (1 - inter / inter of the reference strategy in the same file)"},
      {"inter_share", "inter %", "Inter-node (\\%)", "%", B::kLower, S::kFixed1, true, false,
       "100 * inter-node bytes / comm bytes"},
      {"idle_pct", "idle %", "Idle (\\%)", "%", B::kLower, S::kFixed1, true, false,
       "100 * sum_r idle / sum_r t_layer, median over iterations, mean over layers", true},
      {"throughput", "tok/s", "Throughput (tok/s)", "tokens/s", B::kHigher, S::kFixed0, true, false,
       "batch tokens / median over iterations of sum over layers of max_r t_layer", true},
      {"speedup", "speedup", "Speedup", "x", B::kHigher, S::kSpeedup, true, true,
       "reference batch time / batch time (medians over iterations, same file)", true},
      {"jain", "Jain", "Jain", "1", B::kHigher, S::kFixed4, true, false,
       "Jain index of rows_computed over ranks, median over iterations, mean over layers"},
      {"balancedness", "balance", "Balancedness", "1", B::kHigher, S::kFixed4, false, false,
       "mean_r / max_r rows_computed, median over iterations, mean over layers"},
      {"batch_ms", "batch ms", "Batch (ms)", "ms", B::kLower, S::kSig4, false, false,
       "median over iterations of sum over layers of max_r t_layer", true},
      {"p50_ms", "p50 ms", "p50 layer (ms)", "ms", B::kLower, S::kSig4, false, false,
       "median over (iteration, layer) of max_r t_layer", true},
      {"p95_ms", "p95 ms", "p95 layer (ms)", "ms", B::kLower, S::kSig4, false, false,
       "95th percentile over (iteration, layer) of max_r t_layer", true},
      {"p99_ms", "p99 ms", "p99 layer (ms)", "ms", B::kLower, S::kSig4, true, false,
       "99th percentile over (iteration, layer) of max_r t_layer", true},
      {"ffn_ms", "FFN ms", "FFN (ms)", "ms", B::kLower, S::kSig4, false, false,
       "median over iterations of sum over layers of max_r t_ffn", true},
      {"dispatch_ms", "dispatch ms", "Dispatch (ms)", "ms", B::kLower, S::kSig4, false, false,
       "median over iterations of sum over layers of max_r t_dispatch", true},
      {"combine_ms", "combine ms", "Combine (ms)", "ms", B::kLower, S::kSig4, false, false,
       "median over iterations of sum over layers of max_r t_combine", true},
      {"algbw_gbps", "algbw GB/s", "Alg. BW (GB/s)", "GB/s", B::kHigher, S::kSig4, false, false,
       "dispatch: median_i sum_l max_r max(sent, recv) bytes / median_i sum_l max_r t_dispatch",
       true},
      {"busbw_gbps", "busbw GB/s", "Bus BW (GB/s)", "GB/s", B::kHigher, S::kSig4, false, false,
       "dispatch: algbw_gbps * (R - 1) / R (nccl-tests' all-to-all factor)", true},
      {"combine_algbw_gbps", "comb. algbw GB/s", "Comb. alg. BW (GB/s)", "GB/s", B::kHigher,
       S::kSig4, false, false, "combine: as algbw_gbps with combine bytes and t_combine", true},
      {"combine_busbw_gbps", "comb. busbw GB/s", "Comb. bus BW (GB/s)", "GB/s", B::kHigher,
       S::kSig4, false, false, "combine: combine_algbw_gbps * (R - 1) / R", true},
      {"meas_pred", "meas/pred", "Meas./pred.", "1", B::kNone, S::kFixed2, true, false,
       "sum over layers of median max_r t_layer / sum of predicted t_layer (measured files "
       "with predictions)",
       true},
      {"replicas", "replicas", "Replicas", "experts", B::kNone, S::kFixed1, false, false,
       "extra expert copies (replicas beyond the primary) per layer, mean over layers"},
      {"expert_mem_gib", "expert GiB/rank", "Expert mem. (GiB/rank)", "GiB", B::kLower, S::kSig4,
       false, false,
       "max over ranks of the experts it hosts over all layers run * bytes per expert, 2^30 bytes"},
      {"routing_dev_pct", "route dev. %", "Routing dev. (\\%)", "%", B::kNone, S::kFixed1, false,
       false, "100 * share of (token, expert) choices changed by a routing-changing strategy"},
      {"of_oracle", "of oracle %", "Of oracle (\\%)", "%", B::kHigher, S::kFixed1, false, true,
       "100 * reduction of the oracle row's objective against the reference / the oracle's "
       "reduction, same file (shown by default when a file has an oracle row)"},
      {"placement_s", "place s", "Placement (s)", "s", B::kNone, S::kSig4, false, false,
       "wall time of the strategy's place()"},
  };
  return cols;
}

const ColumnSpec* find_column(std::string_view id) {
  for (const auto& c : report_columns())
    if (c.id == id) return &c;
  return nullptr;
}

std::vector<std::string> default_column_ids() {
  std::vector<std::string> ids;
  for (const auto& c : report_columns())
    if (c.is_default) ids.push_back(c.id);
  return ids;
}

std::vector<std::string> parse_column_list(const std::string& list) {
  std::vector<std::string> ids;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string id = list.substr(start, end - start);
    while (!id.empty() && id.front() == ' ') id.erase(id.begin());
    while (!id.empty() && id.back() == ' ') id.pop_back();
    if (!id.empty()) {
      if (!find_column(id)) {
        std::string known;
        for (const auto& c : report_columns()) known += (known.empty() ? "" : ", ") + c.id;
        throw ConfigError("--metrics: unknown metric '" + id + "' (expected one of " + known + ")");
      }
      ids.push_back(id);
    }
    start = end + 1;
  }
  if (ids.empty())
    throw ConfigError("--metrics: expected a comma-separated list of metrics, got ''");
  return ids;
}

std::string format_number(double value, NumberStyle style) {
  if (!std::isfinite(value)) return "n/a";
  char buf[64];
  auto fixed = [&](int decimals) {
    std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
    std::string s = buf;
    // "-0.0" -> "0.0": a sign on zero says nothing.
    if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
    return s;
  };
  switch (style) {
    case NumberStyle::kFixed0:
      return fixed(0);
    case NumberStyle::kFixed1:
      return fixed(1);
    case NumberStyle::kFixed2:
      return fixed(2);
    case NumberStyle::kFixed4:
      return fixed(4);
    case NumberStyle::kSpeedup:
      return fixed(2) + "x";
    case NumberStyle::kSig4: {
      if (value == 0) return "0";
      const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(value))));
      int decimals = 3 - magnitude;
      if (decimals < 0) decimals = 0;
      if (decimals > 6) decimals = 6;
      return fixed(decimals);
    }
  }
  return fixed(4);
}

}  // namespace moeb::report
