// What `moebench run`, `simulate` and `place` share around one strategy: choosing strategies
// from the command line, the first half of measuring a strategy (constraints, timed placement,
// validity check, placement tables), and, for the model-only commands, filling the measurement
// cubes from the evaluator's counts and the cost model's times.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/cost_model.hpp"
#include "core/results.hpp"
#include "placement/strategy.hpp"
#include "workload/workload.hpp"

namespace moeb::cli {

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_list(const std::string& s);

// Replaces cfg.strategies by the comma-separated `list` ("all" = every registered strategy),
// each with the options of the suite's [strategy.<name>] table if it has one. Throws
// ConfigError naming `where` for an unknown strategy.
void select_strategies(RunConfig& cfg, const std::string& list, const std::string& where);

// Fills name, description, options and oracle; then either records why the strategy is skipped
// (returns nullopt) or places it (timed), checks the placement's invariants (throws Error on a
// violation: a strategy bug) and stores its replica table, slots, policy, transform and notes.
std::optional<PlacementPlan> begin_strategy(StrategyResult& res, const std::string& name,
                                            const PlacementStrategy& strategy,
                                            const Options& options, const ModelSpec& model,
                                            const Topology& topo, int slots_per_rank,
                                            const RoutingStats& calibration, uint64_t seed,
                                            bool oracle);

// Model-only measurements: for cfg.iterations iterations (iteration i replays batch
// i mod num_batches), the evaluator's exact counts per (iteration, layer, rank), the rows matrix
// (R <= 256) and the routing deviation of a route transform; with `predict`, the cost model's
// times of `system` as a run with sync probes records them (waits = until the slowest rank
// arrives) and StrategyResult::predicted. Without, times stay 0 and nothing is predicted (the
// system then only sets row sizes).
void fill_model_measurements(StrategyResult& res, const PlacementPlan& plan, const RunConfig& cfg,
                             const Topology& topo, const SystemModel& system, bool predict,
                             int64_t num_batches,
                             const std::function<RoutingTrace(int64_t)>& batch);

// Provenance of a model-only file (`place`, `simulate`): the process's own provenance and the
// resolved config, plus backend "model", the modeled topology (every rank on this host, device
// `device_label`), the system's row sizes and the workload's provenance; no sync probes.
RunResult model_provenance(int argc, const char* const* argv, const RunConfig& cfg,
                           const Topology& topo, const SystemModel& sys, int slots_per_rank,
                           const Workload& workload, const std::string& device_label);

}  // namespace moeb::cli
