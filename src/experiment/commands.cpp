#include "experiment/commands.hpp"

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "core/error.hpp"
#include "experiment/console_sink.hpp"
#include "experiment/measurer.hpp"
#include "experiment/runtime_measurer.hpp"
#include "io/results_file.hpp"
#include "platform/mpi_env.hpp"
#include "runtime/stop_signal.hpp"

namespace moeb {

namespace {

// The stop message, naming the results file only when it exists.
void report_interrupted(const Experiment& e, const ExperimentOutcome& out) {
  const std::string by =
      stop_signal_name().empty() ? std::string("a stop request") : stop_signal_name();
  std::error_code ec;
  if (!std::filesystem::exists(e.output, ec))
    std::fprintf(stderr, "moebench: interrupted by %s during strategy '%s'; no results file "
                 "was written\n", by.c_str(), out.stopped_instance.c_str());
  else if (e.request.mode == ExperimentMode::kRun)
    std::fprintf(stderr,
                 "moebench: interrupted by %s during strategy '%s'; finished strategies are "
                 "kept in %s (rerun with --resume %s)\n",
                 by.c_str(), out.stopped_instance.c_str(), e.output.c_str(), e.output.c_str());
  else
    std::fprintf(stderr,
                 "moebench: interrupted by %s during strategy '%s'; finished strategies are "
                 "kept in %s\n",
                 by.c_str(), out.stopped_instance.c_str(), e.output.c_str());
}

}  // namespace

int run_model_experiment(const ExperimentRequest& req, bool replica_tables) {
  install_stop_handlers();  // Ctrl-C: stop after the current batch, the file says interrupted
  const auto t0 = std::chrono::steady_clock::now();
  Experiment e = resolve_experiment(req);
  e.phases = std::make_shared<PhaseTimes>();
  e.phases->workload_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto measurer = make_model_measurer();
  measurer->open(e);
  const MeasurementProvenance mp = measurer->prepare(e);
  Hdf5ResultSink file(e.output);
  auto console = make_console_sink(e, replica_tables);
  e.progress = make_progress(req.progress);
  const ExperimentOutcome out = run_experiment(e, *measurer, mp, {&file, console.get()});
  e.progress.reset();
  if (req.progress == ProgressRequest::kForce && req.mode == ExperimentMode::kSimulate)
    std::fprintf(stderr, "moebench: %s\n", e.phases->describe().c_str());
  if (out.status == RunStatus::kInterrupted) report_interrupted(e, out);
  return out.exit_code;
}

namespace {

// Setup on every rank, agreed: nullopt (error printed once) when any rank failed.
bool setup(const ExperimentRequest& req, Measurer& m, Experiment& e, MeasurementProvenance& mp) {
  std::string error;
  try {
    ExperimentRequest r = req;
    r.warn_rank0 = mpi::rank(MPI_COMM_WORLD) == 0;
    e = resolve_experiment(r, mpi_topology(MPI_COMM_WORLD));
    m.open(e);
  } catch (...) {  // any type (a std::bad_alloc from a huge size too): agreed below
    error = current_exception_message();
  }
  if (m.failed_anywhere(error)) return false;
  mp = m.prepare(e);
  return true;
}

int run_body(const ExperimentRequest& req, Measurer& m) {
  Experiment e;
  MeasurementProvenance mp;
  if (!setup(req, m, e, mp)) return 2;
  std::unique_ptr<ResultSink> file, console;
  if (m.root()) {
    file = std::make_unique<Hdf5ResultSink>(e.output);
    console = make_console_sink(e);
  }
  if (m.root()) e.progress = make_progress(req.progress);
  const ExperimentOutcome out = run_experiment(e, m, mp, {file.get(), console.get()});
  e.progress.reset();
  if (out.status == RunStatus::kInterrupted && m.root()) report_interrupted(e, out);
  return out.exit_code;
}

}  // namespace

int run_mpi_experiment(const ExperimentRequest& req) {
  mpi::World world(MPI_THREAD_FUNNELED);
  install_stop_handlers();
  auto m = make_runtime_measurer(world.comm());
  try {
    return run_body(req, *m);
  } catch (...) {
    // Errors of the strategy loop are agreed there (run_experiment); one raised anywhere else
    // past setup (any type) may leave the other ranks inside a collective: say it once and
    // abort every rank, as nccl-tests does. Finished strategies are already on disk.
    std::fprintf(stderr, "moebench: error: %s%s; aborting all ranks (exit %d)\n",
                 m->where().c_str(), current_exception_message().c_str(), kExitAborted);
    mpi::abort_all(kExitAborted);
  }
}

}  // namespace moeb
