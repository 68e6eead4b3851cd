#include "experiment/commands.hpp"

#include <mpi.h>

#include <cstdio>

#include "core/error.hpp"
#include "experiment/console_sink.hpp"
#include "experiment/measurer.hpp"
#include "experiment/runtime_measurer.hpp"
#include "io/results_file.hpp"
#include "platform/mpi_env.hpp"
#include "runtime/stop_signal.hpp"

namespace moeb {

int run_model_experiment(const ExperimentRequest& req, bool replica_tables) {
  Experiment e = resolve_experiment(req);
  auto measurer = make_model_measurer();
  measurer->open(e);
  const MeasurementProvenance mp = measurer->prepare(e);
  Hdf5ResultSink file(e.output);
  auto console = make_console_sink(e, replica_tables);
  return run_experiment(e, *measurer, mp, {&file, console.get()}).exit_code;
}

namespace {

// Setup on every rank, agreed: nullopt (error printed once) when any rank failed.
bool setup(const ExperimentRequest& req, Measurer& m, Experiment& e, MeasurementProvenance& mp) {
  std::string error;
  try {
    ExperimentRequest r = req;
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    r.warn_rank0 = rank == 0;
    e = resolve_experiment(r, mpi_topology(MPI_COMM_WORLD));
    m.open(e);
  } catch (const Error& err) {
    error = err.what();
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
  const ExperimentOutcome out = run_experiment(e, m, mp, {file.get(), console.get()});
  if (out.status == RunStatus::kInterrupted && m.root())
    std::fprintf(stderr,
                 "moebench: interrupted by %s during strategy '%s'; finished strategies are "
                 "kept in %s (rerun with --resume %s)\n",
                 stop_signal_name().empty() ? "a stop request" : stop_signal_name().c_str(),
                 out.stopped_instance.c_str(), e.output.c_str(), e.output.c_str());
  return out.exit_code;
}

}  // namespace

int run_mpi_experiment(const ExperimentRequest& req) {
  mpi::World world(MPI_THREAD_FUNNELED);
  install_stop_handlers();
  auto m = make_runtime_measurer(world.comm());
  try {
    return run_body(req, *m);
  } catch (const Error& e) {
    // Past setup an error on one rank leaves the others inside a collective: say it once and
    // abort the communicator, as nccl-tests does. Finished strategies are already on disk.
    std::fprintf(stderr, "moebench: error (rank %d): %s\n", world.rank(), e.what());
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}

}  // namespace moeb
