// --oracle and --oracle-objective, shared by run, simulate and place (docs/STRATEGIES.md "The
// oracle bound"): they override the suite's [oracle] table.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>

#include "experiment/experiment.hpp"

namespace moeb::cli {

inline void add_oracle_options(CLI::App* sub, const std::shared_ptr<ExperimentRequest>& a) {
  sub->add_flag_function(
      "--oracle,!--no-oracle", [a](int64_t n) { a->oracle = n > 0 ? 1 : 0; },
      "add the oracle row (optimal fitted on the evaluation batches) and every strategy's "
      "\"of oracle\" figure (overrides the suite's [oracle] enabled)");
  sub->add_option("--oracle-objective", a->oracle_objective,
                  "objective of the oracle and its figure: auto, inter_node_bytes, total_bytes, "
                  "max_rank_load or layer_time (implies --oracle)");
}

}  // namespace moeb::cli
