// How an experiment measures a placed strategy instance. Two implementations: the MPI runtime
// harness (runtime_measurer.hpp, `moebench run`) and the evaluator plus cost model
// (model_measurer.hpp, `simulate` and `place`). The experiment loop (run_experiment) sees only
// this interface.
#pragma once

#include <set>
#include <string>

#include "core/results.hpp"
#include "experiment/experiment.hpp"
#include "io/provenance.hpp"
#include "placement/strategy.hpp"

namespace moeb {

class Measurer {
 public:
  virtual ~Measurer() = default;
  // This process writes results and prints (rank 0 of a run; the only process otherwise).
  virtual bool root() const { return true; }
  // Local setup that can fail on bad input (a run's backend); no collective. May adjust the
  // cells' resolved configs (a bf16 backend widens the check tolerances it then applies).
  virtual void open(Experiment& e) { (void)e; }
  // What the measuring environment contributes to the provenance (collective for a run).
  virtual MeasurementProvenance prepare(Experiment& e) = 0;
  // The provenance of a sweep cell (the running cell of `e`) given the first cell's; a model
  // measurer derives it again (its rows and ranks follow the cell's system and topology).
  virtual MeasurementProvenance prepare_cell(Experiment& e, const MeasurementProvenance& first) {
    (void)e;
    return first;
  }
  // Fills `res`'s measurements (cubes, rows matrix, batches, deviation, predictions) for one
  // placed instance of `cell`. Throws Interrupted on a stop request and CheckFailed when the
  // correctness check fails, both after filling what was measured.
  virtual void measure(const Experiment& e, const ExperimentCell& cell,
                       const StrategyInstance& instance, const PlacementPlan& plan,
                       StrategyResult& res) = 0;
  // One placed instance of a cell for measure_together: the cell it runs in (effective_cell),
  // its plan and its result.
  struct Job {
    ExperimentCell cell;
    const PlacementPlan* plan = nullptr;
    StrategyResult* res = nullptr;
    // Set by measure_together when this job's rows matrix equals an earlier job's (it counts
    // as that job does): res->rows_matrix is then left empty, and the caller copies it from
    // rows_from->rows_matrix when it writes the result (rows_matrix_link).
    const StrategyResult* rows_from = nullptr;
  };
  // True when this measurer measures a cell's placed instances together (measure_together):
  // the experiment loop then places every instance of a cell first, measures them in one pass
  // and writes them in order. `simulate` does (each batch layer is drawn once for all).
  virtual bool measures_together(const Experiment& e) const {
    (void)e;
    return false;
  }
  // measure() of every job, with the same results. Throws Interrupted on a stop request after
  // filling what was measured.
  virtual void measure_together(const Experiment& e, std::vector<Job>& jobs) {
    (void)e;
    (void)jobs;
  }
  // Bytes one instance of `cell` holds until measure_together returns (its cubes and rows
  // matrix): the experiment loop bounds a pass over several cells by it. `counts_as_earlier`:
  // the cell differs from an earlier cell of the pass only by its system, so its instances
  // count as that cell's do and hold no rows matrix of their own (Job::rows_from).
  virtual size_t measurement_bytes(const ExperimentCell& cell, bool counts_as_earlier) const {
    (void)cell;
    (void)counts_as_earlier;
    return 0;
  }
  // True on every process when any process has a non-empty `error`; the first such process
  // prints it (one line). Collective for a run.
  virtual bool failed_anywhere(const std::string& error);
  // Several processes measure together (a run's MPI ranks): errors past setup are agreed
  // (agree_on_failure) instead of propagating to the caller.
  virtual bool collective() const { return false; }
  // An error past setup (any exception type on any process), agreed at a strategy boundary:
  // every process passes its own ("" = none) and gets the lowest failing process's error
  // (`rank` -1 when none failed). A process that failed while the others are blocked in a
  // collective gets `unanswered` (its own error) and must call abort_all. Prints nothing.
  // Collective for a run.
  struct Failure {
    int rank = -1;
    std::string message;
    bool unanswered = false;
    explicit operator bool() const { return rank >= 0; }
  };
  virtual Failure agree_on_failure(const std::string& error) {
    return error.empty() ? Failure{} : Failure{0, error, false};
  }
  // "rank R on host H: " for a run's process, "" otherwise (prefix of this process's errors).
  virtual std::string where() const { return ""; }
  // Ends every process with `code` (a run: MPI_Abort), after `unanswered`.
  [[noreturn]] virtual void abort_all(int code);
  // Whether a stop was requested on any process (SIGTERM, SIGINT, SIGUSR1): the same answer on
  // every process. Collective for a run (every rank asks at the same points).
  virtual bool stop_agreed();
  // Makes every process place with the same placement: when the processes' placements differ
  // (a search capped by time, which depends on each process's speed), the root's becomes every
  // process's. Returns true when it had to. Collective for a run.
  virtual bool share_placement(const StrategyInstance& instance, Placement& p) {
    (void)instance;
    (void)p;
    return false;
  }
  // Makes the root's `names` every process's. Collective for a run.
  virtual void share_from_root(std::set<std::string>& names) { (void)names; }
};

// The evaluator's exact counts and, with a system model, the cost model's times (as a run
// with sync probes records them) and StrategyResult::predicted; without one, times stay 0.
std::unique_ptr<Measurer> make_model_measurer();

}  // namespace moeb
