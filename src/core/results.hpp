// In-memory results of a run, as the harness (or the simulator) produces them and as the HDF5
// writer stores them (results_schema/README.md, version 1). Pure data: no HDF5 here.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/run_types.hpp"

namespace moeb {

constexpr int kResultsSchemaVersion = 1;

// A dense [iterations][layers][ranks] array.
template <class T>
struct Cube {
  int iterations = 0, layers = 0, ranks = 0;
  std::vector<T> data;
  void resize(int i, int l, int r) {
    iterations = i;
    layers = l;
    ranks = r;
    data.assign(static_cast<size_t>(i) * l * r, T{});
  }
  T& at(int i, int l, int r) { return data[(static_cast<size_t>(i) * layers + l) * ranks + r]; }
  const T& at(int i, int l, int r) const {
    return data[(static_cast<size_t>(i) * layers + l) * ranks + r];
  }
};

// ---- The raw measurement datasets: one table (METRICS.md, results_schema/README.md) -----------
// Every dataset of /strategies/<name>/measured with shape [iterations, layers, ranks] is one row
// below. Producers fill a CountRow / TimeRow per (iteration, layer, rank) indexed by these enums;
// the writer, reader, validator, summaries and the harness's gather iterate the table. Adding a
// raw dataset = one enum entry + one table row (results.cpp) + its producers (the layer engine
// for runs, core/cost_model's LayerSimulation::count_row for the model).
enum CountMetric : int {
  kTokensOwned,
  kRowsComputed,
  kBytesSentIntra,
  kBytesSentInter,
  kBytesRecvIntra,
  kBytesRecvInter,
  kBytesSentIntraCombine,
  kBytesSentInterCombine,
  kBytesRecvIntraCombine,
  kBytesRecvInterCombine,
  kNumCountMetrics
};
enum TimeMetric : int {
  kTGate,
  kTPermute,
  kTDispatch,
  kTFfn,
  kTCombine,
  kTUnpermute,
  kTLayer,
  kTWaitDispatch,
  kTWaitCombine,
  kNumTimeMetrics
};

enum class MetricKind { kCount, kTime };

struct MetricSpec {
  const char* name;      // dataset name
  const char* unit;      // its `units` attribute
  MetricKind kind;       // int64 count or float64 seconds
  const char* producer;  // what fills it
  const char* meaning;   // one line (METRICS.md has the definitions)
};

// Rows in CountMetric / TimeMetric order.
const std::vector<MetricSpec>& count_metrics();
const std::vector<MetricSpec>& time_metrics();
// The spec of a count or time dataset named `name`, or nullptr.
const MetricSpec* find_metric(const std::string& name);

// One (iteration, layer, rank) of every count / time metric.
using CountRow = std::array<int64_t, kNumCountMetrics>;
using TimeRow = std::array<double, kNumTimeMetrics>;

// Index of a byte counter: dispatch or combine, sent or received, intra- or inter-node.
constexpr CountMetric bytes_metric(bool combine, bool recv, bool inter) {
  return static_cast<CountMetric>(kBytesSentIntra + (combine ? 4 : 0) + (recv ? 2 : 0) +
                                  (inter ? 1 : 0));
}

// Adds one peer link's traffic to a rank's counts: `sent_rows` token copies sent in dispatch
// and `recv_rows` received; combine mirrors dispatch (received copies go back, sent ones come
// back). Sending to oneself is not a link: callers skip it.
inline void add_link_rows(CountRow& c, bool inter, int64_t sent_rows, int64_t recv_rows,
                          int64_t dispatch_row_bytes, int64_t combine_row_bytes) {
  c[bytes_metric(false, false, inter)] += sent_rows * dispatch_row_bytes;
  c[bytes_metric(false, true, inter)] += recv_rows * dispatch_row_bytes;
  c[bytes_metric(true, false, inter)] += recv_rows * combine_row_bytes;
  c[bytes_metric(true, true, inter)] += sent_rows * combine_row_bytes;
}

// Names of the per-(iteration, layer, rank) measurements, in storage order (the tables above).
const std::vector<std::string>& count_metric_names();
const std::vector<std::string>& time_metric_names();

struct StrategyResult {
  std::string name;                 // instance name: the strategy's, or a variant's
  std::string strategy;             // registered strategy id (attribute strategy; "" = name)
  std::string run_overrides;        // a variant's own run-wide knobs, "dispatch=..., dedup=..."
  std::string cell;                 // sweep cell id ("" = no sweep); group /strategies/<name>@<cell>
  StrategyStatus status = StrategyStatus::kComplete;
  std::string skip_reason;          // why it was skipped or failed (attribute skip_reason)
  std::string description;
  std::string options;              // "k=v, ..." resolved options
  std::string replica_policy;
  std::string route_transform;      // "" when routing is unchanged
  double routing_deviation = -1;    // share of (token, expert) choices changed; -1 = not applicable
  double placement_time_s = 0;
  bool oracle = false;              // calibrated on the evaluation part (upper-bound study)
  std::vector<std::pair<std::string, std::string>> notes;

  // Placement: [layer][expert] -> replica ranks, primary first.
  std::vector<std::vector<std::vector<int>>> replicas;
  std::vector<std::vector<int>> slots_used;  // [layer][rank]

  // Measurements, [iteration][layer][rank]; names from count_metrics() / time_metrics().
  std::map<std::string, Cube<int64_t>> counts;
  std::map<std::string, Cube<double>> times;  // seconds
  // Every cube of the metric tables at [iterations][layers][ranks], zeroed.
  void resize_measurements(int iterations, int layers, int ranks);
  // One (iteration, layer, rank) of every count or time metric.
  void store(int i, int l, int r, const CountRow& c);
  void store(int i, int l, int r, const TimeRow& t);
  std::vector<int64_t> batch_index;           // [iteration] batch replayed
  std::vector<int64_t> batch_tokens;          // [iteration] tokens in that batch
  // Traffic matrix summed over measured iterations: [layer][src * R + dst] token copies.
  std::vector<std::vector<int64_t>> rows_matrix;
  // The group name (result_key) of a strategy written earlier to the same results file whose
  // rows matrix equals this one's (a simulate sweep's cells that count alike): the file links
  // /measured/rows_matrix to that dataset instead of storing the same values again. rows_matrix
  // still holds the values; "" = none.
  std::string rows_matrix_link;

  // Predicted phase times from the cost model, [layer] seconds (empty when no system model).
  std::map<std::string, std::vector<double>> predicted;
  std::string predicted_system_model;  // the system model that predicted them (attribute)

  // Correctness check.
  int64_t checked_elements = 0, wrong_elements = 0;
  double max_abs_err = 0;
};

// One cell of a sweep (results_schema/README.md, /cells/<id>): the axis values it runs under and
// the root attributes whose values differ in it (topology, slots, system, dispatch, ...).
struct ResultCell {
  std::string id;                                          // "cell0", "cell1", ...
  std::vector<std::pair<std::string, std::string>> axes;   // (sweep key, value), in sweep order
  std::map<std::string, std::string> attrs_str;            // attributes that differ from the root's
  std::map<std::string, double> attrs_num;
  std::string config_toml;                                 // the cell's resolved config (no [sweep])
  std::string label() const;                               // "dispatch=flat, slots=+2"
};

// The results group name of a strategy: its name, or "<name>@<cell>" in a sweep cell.
std::string result_key(const StrategyResult& s);

struct RunResult {
  // Root attributes (provenance), name -> value, stored as strings or numbers.
  std::map<std::string, std::string> attrs_str;
  std::map<std::string, double> attrs_num;
  std::vector<std::string> hostnames;   // per rank
  std::vector<int> rank_node;           // per rank
  std::vector<std::string> rank_device; // per rank
  std::vector<std::string> env;         // "NAME=value" for communication-relevant variables
  std::string config_toml;              // the resolved RunConfig
  std::vector<StrategyResult> strategies;
  std::vector<ResultCell> cells;        // sweep cells; empty without a sweep
  // The cell of that id, or nullptr.
  const ResultCell* find_cell(const std::string& id) const;
};

}  // namespace moeb
