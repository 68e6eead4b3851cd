// Synthetic but self-consistent results (every rule of `moebench validate` holds), built from a
// few knobs with closed-form, deterministic values. For tests, golden files and the plot
// script's test; never for results anyone reports.
#pragma once

#include <string>
#include <vector>

#include "core/results.hpp"

namespace moeb::report {

struct FixtureStrategy {
  std::string name;
  std::string status = "complete";  // complete | skipped | interrupted
  std::string skip_reason;
  double self_share = 0.25;   // share of a rank's token copies that stay on the rank
  double inter_weight = 1.0;  // weight of a remote-node peer relative to a same-node peer
  double hot_rank_boost = 0;  // extra weight of rank 0 as a destination (load imbalance)
  double time_scale = 1.0;    // multiplies every phase time
  bool oracle = false;
  double routing_deviation = -1;
  std::string options;  // resolved options text
  int iterations = -1;  // -1 = the run's; fewer for an interrupted strategy
};

struct FixtureSpec {
  std::string suite = "fixture";
  std::string model = "mixtral-8x7b";
  std::string system = "sysA";
  std::string backend = "cpu";  // "model" marks a simulated file
  std::string build_type = "Release";
  std::string status = "complete";
  int schema_version = 1;
  int nodes = 2, ranks_per_node = 2;
  int layers = 2, iterations = 3;
  int experts = 8, top_k = 2;
  int batch_tokens = 64;
  int row_bytes = 1024;    // dispatch and combine
  bool predicted = false;  // store cost-model times next to the measured ones
  int hidden = 0;          // model.hidden in the stored config (0 = row_bytes / 2)
  std::vector<std::string> env;                        // provenance environment, "NAME=value"
  std::vector<std::pair<std::string, double>> attrs;   // extra numeric root attributes
  std::vector<FixtureStrategy> strategies;
};

RunResult make_fixture_run(const FixtureSpec& spec);

}  // namespace moeb::report
