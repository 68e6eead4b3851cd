// The "of oracle" figure (docs/STRATEGIES.md "The oracle bound"): a strategy's reduction of a
// named objective against the reference (baseline) over the oracle's reduction, both measured
// on the same evaluation batches. The oracle row is the `optimal` strategy fitted on those
// batches themselves; it carries the note kOracleObjectiveNote naming the objective.
#pragma once

#include <optional>
#include <string>

#include "core/results.hpp"

namespace moeb {

// Note of the oracle row: the objective (core/objective.hpp name) its "of oracle" figures use.
inline constexpr const char* kOracleObjectiveNote = "oracle_objective";
// Note every strategy gets when an oracle row and the reference were measured before it: the
// figure in percent (printed with one decimal), or "n/a".
inline constexpr const char* kOfOracleNote = "of_oracle_pct";

// The value of the objective named `objective` (inter_node_bytes | total_bytes | max_rank_load |
// layer_time) as measured in `s`, summed over layers: per layer the mean over iterations of
// the dispatch + combine bytes between nodes (inter_node_bytes), between distinct ranks
// (total_bytes), of max over ranks of rows_computed (max_rank_load); layer_time is the cost
// model's predicted t_layer (`s.predicted`). nullopt when `s` has no such data (not complete,
// no iterations, no predictions for layer_time) or the name is unknown.
std::optional<double> measured_objective(const StrategyResult& s, const std::string& objective);

// 100 (base - value) / (base - oracle): the share of the oracle's reduction the strategy
// reaches. nullopt when the oracle reduces nothing (base - oracle is 0) or a value is not finite.
std::optional<double> of_oracle_pct(double base, double value, double oracle);

// The objective named by `s`'s kOracleObjectiveNote, "" when `s` is not an oracle row.
std::string oracle_objective_of(const StrategyResult& s);

}  // namespace moeb
