// In-memory results of a run, as the harness (or the simulator) produces them and as the HDF5
// writer stores them (results_schema/README.md, version 1). Pure data: no HDF5 here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

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

// Names of the per-(iteration, layer, rank) measurements, in storage order (METRICS.md).
inline const std::vector<std::string>& count_metric_names() {
  static const std::vector<std::string> n = {
      "tokens_owned",           "rows_computed",          "bytes_sent_intra",
      "bytes_sent_inter",       "bytes_recv_intra",       "bytes_recv_inter",
      "bytes_sent_intra_combine", "bytes_sent_inter_combine", "bytes_recv_intra_combine",
      "bytes_recv_inter_combine"};
  return n;
}
inline const std::vector<std::string>& time_metric_names() {
  static const std::vector<std::string> n = {"t_gate",    "t_permute",       "t_dispatch",
                                             "t_ffn",     "t_combine",       "t_unpermute",
                                             "t_layer",   "t_wait_dispatch", "t_wait_combine"};
  return n;
}

struct StrategyResult {
  std::string name;
  std::string status = "complete";  // complete | skipped | interrupted
  std::string skip_reason;
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

  // Measurements, [iteration][layer][rank]; names from count_/time_metric_names().
  std::map<std::string, Cube<int64_t>> counts;
  std::map<std::string, Cube<double>> times;  // seconds
  std::vector<int64_t> batch_index;           // [iteration] batch replayed
  std::vector<int64_t> batch_tokens;          // [iteration] tokens in that batch
  // Traffic matrix summed over measured iterations: [layer][src * R + dst] token copies.
  std::vector<std::vector<int64_t>> rows_matrix;

  // Predicted phase times from the cost model, [layer] seconds (empty when no system model).
  std::map<std::string, std::vector<double>> predicted;
  std::string predicted_system_model;  // the system model that predicted them (attribute)

  // Correctness check.
  int64_t checked_elements = 0, wrong_elements = 0;
  double max_abs_err = 0;
};

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
};

}  // namespace moeb
