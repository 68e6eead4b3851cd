// The experiment layer (docs/ARCHITECTURE.md): between the commands and the layers below. It
// resolves a suite and the command's overrides once (Experiment), builds the workload once,
// then loops over (cell, instance) pairs: places each strategy instance, measures it through a
// Measurer (the MPI runtime harness for `run`, the evaluator and cost model for `simulate` and
// `place`) and hands every result to every ResultSink (HDF5 file, console table, memory).
//
// Today an experiment has one cell (the resolved configuration) and one instance per strategy
// named after it; sweeps add cells, variants add instances with their own names and options,
// and an oracle row is one more instance: none of them changes the loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/cost_model.hpp"
#include "core/results.hpp"
#include "core/run_types.hpp"
#include "core/topology.hpp"
#include "experiment/batch_source.hpp"
#include "experiment/progress.hpp"
#include "io/provenance.hpp"
#include "io/result_sink.hpp"
#include "placement/strategy.hpp"
#include "workload/workload.hpp"

namespace moeb {

enum class ExperimentMode { kRun, kSimulate, kPlace };
const char* to_string(ExperimentMode m);

// What a command asks for, after option parsing: the suite and every override. Empty / 0 / -1
// fields leave the suite's value.
struct ExperimentRequest {
  ExperimentMode mode = ExperimentMode::kRun;
  std::string suite;
  std::vector<std::string> command_line;  // argv, for provenance
  std::string output;                     // results file ("" = the mode's default name)
  std::string strategies;                 // "a,b" or "all"
  std::string strategies_option = "--strategies";  // how the command spells it (errors)
  std::string system_label;   // run: --system; simulate: --label
  std::string system_model;   // cost-model system (preset or file)
  std::string dispatch;       // flat | hierarchical
  std::string backend;        // run: cpu | cuda
  std::string trace;          // run: replay this trace
  std::string topology;       // simulate, place: NxG
  std::string model;          // simulate: model preset
  std::string resume;         // run: earlier results file
  int nodes = 0;              // run: virtual nodes
  int iterations = 0;         // run: measured iterations; simulate: batches; place: batches
  int warmup = -1;
  int layers = 0;             // simulate
  int64_t batch_tokens = 0;   // simulate
  std::string slots;          // --slots: N | +N | N/layer | NGiB (replaces the suite's budget)
  int dedup = -1;             // a sweep cell's dedup (-1 = the suite's)
  std::vector<std::string> sweep;  // --sweep KEY=V1,V2 (each replaces the suite's axis KEY)
  bool warn_rank0 = true;     // print resolve warnings (a run sets it on rank 0 only)
  ProgressRequest progress = ProgressRequest::kAuto;  // --quiet | default | --progress
  bool force = false;         // --force: an existing results file -o names is overwritten
  // Test-only fault injection (run): tolerances of the correctness check forced to this value
  // for the named instance, so its check fails honestly (docs/DEVELOPING.md).
  std::string fail_check_instance;
  // Test-only fault injection (run, docs/DEVELOPING.md): "NAME:RANK:WHEN:KIND" throws an
  // exception of KIND (bad_alloc, runtime_error, moeb_error, unknown) on rank RANK while
  // instance NAME runs: at the start of harness iteration WHEN (warm-up included), or after
  // its measurement when WHEN is "end".
  std::string test_throw;
  // Test-only (run, docs/DEVELOPING.md): "NAME:RANK" swaps the first and the last expert of
  // layer 0 in rank RANK's placement of instance NAME, as a time-capped search on a slower rank
  // would leave it, so that Measurer::share_placement must make rank 0's placement every
  // rank's.
  std::string test_diverge_placement;
  // The oracle bound (experiment/oracle.hpp): 1 = on, 0 = off, -1 = the suite's [oracle]
  // enabled; objective "" = the suite's.
  int oracle = -1;
  std::string oracle_objective;
};

// One strategy instance: a name (unique in a cell), the registered strategy and its options.
// A variant ([variant.<name>]) is an instance with a name of its own and, optionally, its own
// dispatch mode and dedup: it runs in its cell with those knobs replaced (effective_cell).
struct StrategyInstance {
  std::string name;
  const PlacementStrategy* strategy = nullptr;
  Options options;
  std::string dispatch;  // "" = the cell's
  int dedup = -1;        // -1 = the cell's
  // Placed on the evaluation batches the cell measures instead of the calibration part (the
  // oracle row, experiment/oracle.hpp).
  bool fit_on_evaluation = false;
  // "dispatch=hierarchical, dedup=false" for the overrides given, "" for none.
  std::string describe_overrides() const;
};

// One cell: a resolved configuration every instance of the cell runs under. A sweep's cells
// each have their own topology, slots and system; run_experiment makes the running cell's the
// experiment's (Experiment::topo, slots_per_rank, system, workload, batches).
struct ExperimentCell {
  std::string name;  // "" for the single cell of an experiment without sweeps, else "cell<i>"
  std::vector<std::pair<std::string, std::string>> axes;  // (sweep key, value); empty: no sweep
  RunConfig cfg;
  DispatchMode dispatch = DispatchMode::kFlat;
  BackendKind backend = BackendKind::kCpu;
  std::vector<StrategyInstance> instances;
  Topology topo;
  std::string topology_source;
  int slots_per_rank = 0;
  std::optional<SystemModel> system;
  std::string workload_key;  // cells with equal keys share one workload
  std::string label() const;  // "dispatch=flat, slots=+2"; "" without a sweep
};

// Where the time of a `simulate` went (seconds), printed at its end with --progress: opening the
// workload (drawing the calibration part and its statistics), placing, the measuring pass
// (wall; and its threads' CPU seconds drawing evaluation layers and counting them under every
// instance) and writing results.
struct PhaseTimes {
  double workload_s = 0, placement_s = 0, measure_s = 0, writing_s = 0;
  double generation_thread_s = 0, evaluation_thread_s = 0;
  int threads = 1;
  std::string describe() const;
};

// Everything resolved once, before any strategy runs. topo, topology_source, slots_per_rank,
// system, workload and batches are those of the cell being run (the first before the loop).
struct Experiment {
  ExperimentRequest request;
  std::vector<ExperimentCell> cells;
  std::vector<SweepAxis> sweep;           // the axes when there are several cells, else empty
  size_t active_cell = 0;                 // the cell the fields below belong to
  std::string workload_key;               // what the loaded workload was built from
  std::map<std::string, std::map<std::string, std::string>> workload_provenance;  // key -> attrs
  Topology topo;
  std::string topology_source;            // suite | mpi | option
  int slots_per_rank = 0;
  std::optional<SystemModel> system;      // the cost model's system, when one is given
  std::unique_ptr<Workload> workload;
  std::unique_ptr<BatchSource> batches;   // the workload's evaluation batches, fetched once
  std::string output;                     // results file
  // Place prints every instance against this one (placed with default options when it is not
  // an instance itself); "" = none.
  std::string reference;
  // The root process's progress lines (experiment/progress.hpp); null: none.
  std::shared_ptr<ProgressReporter> progress;
  // Time per phase (simulate); null: not kept.
  std::shared_ptr<PhaseTimes> phases;
};

// A run's topology comes from its ranks and the resolved config's nodes, else the MPI
// library's node split. `source` comes in as where the config's nodes came from ("suite", or
// "option" for run --nodes N) and is kept when they are used; it becomes "mpi" otherwise.
using TopologyResolver = std::function<Topology(const RunConfig& cfg, std::string& source)>;

// Loads the suite, applies the overrides, resolves strategies, model, topology (simulate and
// place: --topology or the suite's; run: `ranks`), slots, system model and workload, and
// names the results file. Throws ConfigError / InputError with one line on bad input.
Experiment resolve_experiment(const ExperimentRequest& req, const TopologyResolver& ranks = {});

// Exit codes of run, simulate and place (README "Exit codes").
constexpr int kExitFailed = 1;       // a strategy failed its check, or an error ended the run
constexpr int kExitBadInput = 2;     // bad input (ConfigError, InputError), on any rank
constexpr int kExitInterrupted = 3;  // stopped on request (SIGTERM, SIGINT, SIGUSR1)
constexpr int kExitAborted = 4;      // an error on one rank while the others were blocked in a
                                     // collective: MPI_Abort ended every rank

// How a run of an experiment ended.
struct ExperimentOutcome {
  RunStatus status = RunStatus::kComplete;
  int exit_code = 0;             // 0 complete, else one of the kExit codes above
  std::string stopped_instance;  // interrupted: the instance that was running
};

class Measurer;

// The loop: provenance (the measurer's prepared part `mp` plus the experiment's), resume (a run's
// --resume file: its finished strategies are carried over, not run again), then for every (cell,
// instance): place (timed, invariants checked), measure, and hand the result to every sink; finish.
// Only the measurer's root process writes to sinks. A strategy whose check fails is recorded as
// failed with its reason and the loop goes on; a stop request records the running one as
// interrupted and ends. Any other error (any exception type, on any process of a run) is agreed at
// the strategy boundary: the root prints it once (naming the rank), marks the file failed with the
// error, and every process returns exit 1 (2 for bad input); a process that fails while the others
// are blocked in a collective marks the file (when it is the root) and aborts every process (exit
// 4). Without a collective measurer (simulate, place) the error propagates to the caller.
ExperimentOutcome run_experiment(Experiment& e, Measurer& m, const MeasurementProvenance& mp,
                                 const std::vector<ResultSink*>& sinks);

// Makes cell `i` the experiment's running cell: its topology, slots and system, and its
// workload (rebuilt only when it differs from the loaded one; not with `with_workload` false).
void activate_cell(Experiment& e, size_t i, bool with_workload = true);

// The cell an instance runs in: `cell` with the instance's own dispatch and dedup applied.
ExperimentCell effective_cell(const ExperimentCell& cell, const StrategyInstance& instance);

// Places one instance: fills name, description, options and oracle; then either records why
// it is skipped (returns nullopt) or places it (timed), checks the placement's invariants
// (throws Error on a violation: a strategy bug) and records its replica table, slots, policy,
// transform and notes. `stop` is the placement's stop request (PlacementInput::stop): a
// strategy that searches long throws Interrupted when it says yes.
// `reuse`, when given, is the plan of the same input placed before (simulate: an instance of
// this or an earlier sweep cell that differs only in what the strategy does not read, e.g. the
// system, the dispatch): taken with its placement time instead of placing again, and noted
// (placement_reused_from = that instance's results group name).
struct PlacedBefore {
  const PlacementPlan* plan = nullptr;
  double placement_time_s = 0;
  std::string from;
};
std::optional<PlacementPlan> place_instance(const Experiment& e, const ExperimentCell& cell,
                                            const StrategyInstance& instance, StrategyResult& res,
                                            std::function<bool()> stop = {},
                                            const PlacedBefore* reuse = nullptr);

}  // namespace moeb
