#include "core/results.hpp"

namespace moeb {

const std::vector<MetricSpec>& count_metrics() {
  static const std::vector<MetricSpec> t = {
      {"tokens_owned", "tokens", MetricKind::kCount, "owner split (core/routing token_begin)",
       "tokens of the batch this rank owns"},
      {"rows_computed", "rows", MetricKind::kCount, "routing (dispatch plan / evaluator)",
       "(token, expert) pairs this rank's experts process"},
      {"bytes_sent_intra", "bytes", MetricKind::kCount, "dispatch plan / evaluator",
       "dispatch bytes sent to ranks of the same node"},
      {"bytes_sent_inter", "bytes", MetricKind::kCount, "dispatch plan / evaluator",
       "dispatch bytes sent to ranks of other nodes"},
      {"bytes_recv_intra", "bytes", MetricKind::kCount, "dispatch plan / evaluator",
       "dispatch bytes received from ranks of the same node"},
      {"bytes_recv_inter", "bytes", MetricKind::kCount, "dispatch plan / evaluator",
       "dispatch bytes received from ranks of other nodes"},
      {"bytes_sent_intra_combine", "bytes", MetricKind::kCount, "dispatch plan / evaluator",
       "combine bytes sent to ranks of the same node"},
      {"bytes_sent_inter_combine", "bytes", MetricKind::kCount, "dispatch plan / evaluator",
       "combine bytes sent to ranks of other nodes"},
      {"bytes_recv_intra_combine", "bytes", MetricKind::kCount, "dispatch plan / evaluator",
       "combine bytes received from ranks of the same node"},
      {"bytes_recv_inter_combine", "bytes", MetricKind::kCount, "dispatch plan / evaluator",
       "combine bytes received from ranks of other nodes"},
  };
  return t;
}

const std::vector<MetricSpec>& time_metrics() {
  static const std::vector<MetricSpec> t = {
      {"t_gate", "s", MetricKind::kTime, "layer engine / cost model", "routing and plan"},
      {"t_permute", "s", MetricKind::kTime, "layer engine / cost model", "pack rows to send"},
      {"t_dispatch", "s", MetricKind::kTime, "layer engine / cost model",
       "dispatch all-to-all after the sync probe"},
      {"t_ffn", "s", MetricKind::kTime, "layer engine / cost model", "grouped expert FFN"},
      {"t_combine", "s", MetricKind::kTime, "layer engine / cost model",
       "combine all-to-all after the sync probe"},
      {"t_unpermute", "s", MetricKind::kTime, "layer engine / cost model",
       "weighted sum of returned rows"},
      {"t_layer", "s", MetricKind::kTime, "layer engine / cost model", "the whole layer"},
      {"t_wait_dispatch", "s", MetricKind::kTime, "layer engine / cost model",
       "sync-probe wait before dispatch (idle)"},
      {"t_wait_combine", "s", MetricKind::kTime, "layer engine / cost model",
       "sync-probe wait before combine (idle)"},
  };
  return t;
}

const MetricSpec* find_metric(const std::string& name) {
  for (const auto* table : {&count_metrics(), &time_metrics()})
    for (const auto& m : *table)
      if (name == m.name) return &m;
  return nullptr;
}

namespace {
std::vector<std::string> names_of(const std::vector<MetricSpec>& t) {
  std::vector<std::string> n;
  for (const auto& m : t) n.emplace_back(m.name);
  return n;
}
}  // namespace

const std::vector<std::string>& count_metric_names() {
  static const std::vector<std::string> n = names_of(count_metrics());
  return n;
}
const std::vector<std::string>& time_metric_names() {
  static const std::vector<std::string> n = names_of(time_metrics());
  return n;
}

void StrategyResult::resize_measurements(int iterations, int layers, int ranks) {
  for (const auto& n : count_metric_names()) counts[n].resize(iterations, layers, ranks);
  for (const auto& n : time_metric_names()) times[n].resize(iterations, layers, ranks);
}

void StrategyResult::store(int i, int l, int r, const CountRow& c) {
  const auto& n = count_metric_names();
  for (int k = 0; k < kNumCountMetrics; ++k) counts[n[k]].at(i, l, r) = c[k];
}

void StrategyResult::store(int i, int l, int r, const TimeRow& t) {
  const auto& n = time_metric_names();
  for (int k = 0; k < kNumTimeMetrics; ++k) times[n[k]].at(i, l, r) = t[k];
}

std::string ResultCell::label() const {
  std::string s;
  for (const auto& [k, v] : axes) s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s;
}

std::string result_key(const StrategyResult& s) {
  return s.cell.empty() ? s.name : s.name + "@" + s.cell;
}

const ResultCell* RunResult::find_cell(const std::string& id) const {
  for (const auto& c : cells)
    if (c.id == id) return &c;
  return nullptr;
}

}  // namespace moeb
