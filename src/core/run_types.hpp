// The typed vocabulary of a run: dispatch mode, compute backend, and the status of a strategy
// and of a whole run. Each is an enum with one name table; text (suite keys, command-line
// options, results-file attributes) is parsed once into the enum and printed back from it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace moeb {

enum class DispatchMode { kFlat, kHierarchical };
enum class BackendKind { kCpu, kCuda };

// A strategy's outcome in a run. kSkipped and kFailed carry a reason (StrategyResult::reason).
enum class StrategyStatus {
  kComplete,     // measured (or modeled) in full
  kSkipped,      // its constraints rule it out here; nothing measured
  kInterrupted,  // stopped on request; the iterations measured so far are kept
  kFailed,       // the correctness check or the engine failed; what was measured is kept
};

// A whole results file: running while strategies are appended, then one final status.
enum class RunStatus { kRunning, kComplete, kInterrupted, kFailed };

// Names, in enum order ("flat", "hierarchical"; "cpu", "cuda"; "complete", "skipped",
// "interrupted", "failed"; "running", "complete", "interrupted", "failed").
const std::vector<std::string>& dispatch_mode_names();
const std::vector<std::string>& backend_names();
const std::vector<std::string>& strategy_status_names();
const std::vector<std::string>& run_status_names();

std::string to_string(DispatchMode m);
std::string to_string(BackendKind b);
std::string to_string(StrategyStatus s);
std::string to_string(RunStatus s);

// Parse a name; throw ConfigError "`where`: expected one of ..., got 'x'" otherwise.
DispatchMode parse_dispatch_mode(const std::string& name, const std::string& where);
BackendKind parse_backend(const std::string& name, const std::string& where);
// nullopt for a name outside the table (readers and validators report it their own way).
// With `synonyms`, the words other writers use for a finished strategy ("done", "completed",
// "ok", "") read as complete (readers; the validator is strict).
std::optional<StrategyStatus> parse_strategy_status(const std::string& name,
                                                    bool synonyms = false);
std::optional<RunStatus> parse_run_status(const std::string& name);

// A status whose StrategyResult::reason says why (skipped: the constraint; failed: the error).
inline bool has_reason(StrategyStatus s) {
  return s == StrategyStatus::kSkipped || s == StrategyStatus::kFailed;
}
// A resumed run keeps strategies with this status and does not run them again.
inline bool is_finished(StrategyStatus s) {
  return s == StrategyStatus::kComplete || s == StrategyStatus::kSkipped;
}

}  // namespace moeb
