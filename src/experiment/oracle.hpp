// The oracle bound (docs/STRATEGIES.md "The oracle bound"): one more strategy instance,
// `optimal` fitted on the evaluation batches the experiment measures, and the "of oracle"
// figure of every strategy against it. Kept apart from the loop: resolve adds the instance,
// place_instance fits it on evaluation_stats, run_experiment hands every result to OracleNotes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/results.hpp"
#include "core/stats.hpp"
#include "experiment/experiment.hpp"

namespace moeb {

// The oracle instance's name (its results group is /strategies/oracle).
inline constexpr const char* kOracleInstance = "oracle";

// When cfg.oracle is set: adds the instance "oracle" (strategy optimal, the suite's
// [strategy.optimal] options, objective = cfg.oracle_objective with auto resolved here:
// layer_time with a system model, else inter_node_bytes; max_tokens = 0 unless the table sets
// it) right after `baseline`, adding `baseline` first when it is not listed (the figure is a
// reduction against it). Throws ConfigError for an instance already named "oracle" or
// layer_time without a system model.
void add_oracle_instance(const RunConfig& cfg, bool has_system, ExperimentCell& cell);

// Routing statistics of the evaluation batches `cell` measures (batches 0 .. min(iterations,
// batches) - 1, in order, so that batch indices and token owners are those of the measurement);
// family names from the calibration statistics.
RoutingStats evaluation_stats(const Experiment& e, const ExperimentCell& cell);

// The oracle row's own notes: fitted_on = evaluation, the evaluation tokens it was fitted on,
// and kOracleObjectiveNote = the objective the optimizer minimized (its note `objective`).
void add_oracle_plan_notes(const RoutingStats& evaluation, PlacementPlan& plan);

// Adds to each result the "of oracle" notes (core/oracle_figure.hpp) once the reference
// (`baseline`) and the oracle row of its cell (StrategyResult::cell) were seen.
class OracleNotes {
 public:
  void observe(StrategyResult& res);

 private:
  struct CellState {
    // The baseline's measured value of every objective (measured_objective), not a copy of
    // its result: a sweep's cells would each keep their baseline's cubes and rows matrix.
    std::optional<std::map<std::string, std::optional<double>>> base;
    std::string objective;
    std::optional<double> oracle_value;
  };
  std::map<std::string, CellState> cells_;
};

}  // namespace moeb
