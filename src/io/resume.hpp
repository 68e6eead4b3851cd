// Resuming a run from its own results file (`moebench run --resume FILE`): which strategies are
// already finished there, whether the file belongs to the same run configuration, and how the
// finished strategies and the newly run ones combine into the final file. A preempted or
// timed-out job thus loses nothing it finished, and no strategy appears twice.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/results.hpp"

namespace moeb {

// A strategy is finished when its status is `complete` or `skipped` (a constraint it cannot
// meet will not be met on a second try); `interrupted` strategies are run again.
bool is_finished_status(const std::string& status);

// Names of the finished strategies in an in-memory result.
std::set<std::string> completed_strategies(const RunResult& previous);

// Names of the finished strategies in a results file (reads only /strategies and the
// strategies' status attributes). Throws InputError naming the file when it cannot be opened,
// is not a moebench results file, or has another schema_version.
std::set<std::string> completed_strategies(const std::string& results_path);

// Reads a results file whole for a resumed run (read_results): its root attributes, to check
// with check_resume_compatible, and its strategies, to pass to merge_resumed. The file is
// validated first (validate_results); throws InputError naming the file and the first failure
// when it fails validation, cannot be read or has another schema_version.
RunResult load_for_resume(const std::string& results_path);

// Of the planned strategies, those still to run, in planned order.
std::vector<std::string> strategies_to_run(const std::vector<std::string>& planned,
                                           const std::set<std::string>& finished);

// Throws ConfigError when `previous` was not produced by the same configuration as `current`,
// so that the strategies of one file stay comparable: first any difference in the resolved
// configuration (config_differences: "FILE: cannot resume: the resolved configuration differs
// in run.iterations (6 in the file, 3 in this run), ..."), then the root attributes (suite,
// system label, backend, seed, ranks, nodes, model dimensions, workload and timing choices):
// "attribute A is X in the file, Y in this run". Attributes absent from either side are not
// compared.
void check_resume_compatible(const RunResult& previous, const RunResult& current,
                             const std::string& results_path);

// The keys of two resolved configurations (config_toml) that differ, each as
// "table.key (A in the file, B in this run)" with "absent" for a key one side lacks, in the
// order of `file_toml`, then keys only in `run_toml`. Not compared: placement.strategies (a
// resumed run may add or drop strategies), and the [strategy.X] / [variant.X] tables of an
// instance that only one side has. Throws InputError when either text is not TOML.
std::vector<std::string> config_differences(const std::string& file_toml,
                                            const std::string& run_toml);

// The root attributes compared by check_resume_compatible.
const std::vector<std::string>& resume_identity_attributes();

// Marks a strategy carried over from `previous` (read from results_path) so that the final file
// says which attempt measured it: notes `carried_over_from` (the file), `measured_start_time`,
// and, where the earlier attempt ran under Slurm, `measured_slurm_job_id` and
// `measured_slurm_job_nodelist`. A strategy already marked (carried over twice) keeps its first
// origin.
void mark_carried_over(StrategyResult& s, const RunResult& previous,
                       const std::string& results_path);

// The strategies of the final file: in `planned` order, each taken from `fresh` (run now) when
// there, else from the finished ones of `previous`; then finished strategies of `previous` that
// are not planned (kept, never lost). Interrupted strategies of `previous` are dropped when a
// fresh result replaces them, and kept (still `interrupted`) otherwise. Each name once.
std::vector<StrategyResult> merge_resumed(const std::vector<std::string>& planned,
                                          const std::vector<StrategyResult>& previous,
                                          const std::vector<StrategyResult>& fresh);

}  // namespace moeb
