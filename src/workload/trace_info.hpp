// Statistics of a routing trace, as `moebench trace info` prints them (definitions in
// results_schema/TRACE.md): per-layer skew, pair concentration, prefill/decode Spearman
// correlation of expert frequencies and adjacent-token recurrence.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/stats.hpp"
#include "core/trace.hpp"
#include "workload/trace_file.hpp"

namespace moeb {

struct LayerInfo {
  double skew = 0;              // hottest expert load / mean expert load
  double pair_top10_share = 0;  // co-activations carried by the top 10% of expert pairs
  double phase_spearman = 0;    // Spearman(prefill, decode) of per-expert loads; NaN when n/a
  double recurrence = 0;        // share of a token's experts in its predecessor's top-k; NaN n/a
};

struct TraceInfo {
  std::string path, source, source_sha256, import_format, model;
  int num_layers = 0, num_experts = 0, top_k = 0;
  bool statistics_only = false;
  int64_t tokens = 0, requests = 0, dropped_tokens = 0, prefill_tokens = 0, decode_tokens = 0;
  std::vector<std::string> family_names;
  std::vector<int64_t> family_tokens;
  std::vector<LayerInfo> layers;
  // Means over layers (NaN entries skipped; NaN when none), and the largest skew.
  double mean_skew = 0, max_skew = 0, mean_pair_top10_share = 0, mean_phase_spearman = 0,
         mean_recurrence = 0;
};

// Streams tokens in trace order (blocks of any size) and accumulates the statistics.
class TraceInfoAccumulator {
 public:
  TraceInfoAccumulator(int num_layers, int num_experts, int top_k,
                       std::vector<std::string> family_names);
  void add(const RoutingTrace& block);
  TraceInfo finish() const;

 private:
  int num_layers_, num_experts_, top_k_;
  std::vector<std::string> names_;
  std::vector<int64_t> family_tokens_;
  int64_t tokens_ = 0, prefill_ = 0;
  std::vector<int64_t> request_ids_;
  std::vector<std::vector<double>> prefill_load_, decode_load_;  // [L][E]
  std::vector<std::vector<uint32_t>> coact_;                     // [L][E*E], i < j only
  std::vector<double> shared_, pairs_;                           // [L] recurrence counts
  bool have_prev_ = false;
  TokenMeta prev_meta_;
  std::vector<int32_t> prev_experts_;  // [L*k]
};

// Spearman rank correlation (average ranks for ties); NaN when a side is constant.
double spearman(const std::vector<double>& a, const std::vector<double>& b);
// Share of the total carried by the largest ceil(10%) of `values`; NaN when the total is 0.
double top10_share(std::vector<double> values);

TraceInfo trace_info(const TraceReader& reader);
TraceInfo trace_info(const RoutingTrace& trace);
// Sets info's means and largest skew from info.layers (what trace_info does last). A layer's
// entry depends on that layer's routing alone, so layers measured apart (a one-layer trace each)
// and summarized in layer order give trace_info's values.
void summarize_layers(TraceInfo& info);
// Human-readable report (one summary block, then one line per layer).
std::string format_trace_info(const TraceInfo& info);
std::string trace_info_json(const TraceInfo& info);

}  // namespace moeb
