// The whole of `moebench simulate`, `place` and `run` below option parsing: resolve the
// experiment, pick the measurer, attach the results file and the console, run the loop.
#pragma once

#include "experiment/experiment.hpp"

namespace moeb {

// simulate / place: one process, the model measurer. Bad input throws ConfigError /
// InputError (the command exits 2). Returns the exit code.
int run_model_experiment(const ExperimentRequest& req, bool replica_tables = true);

// run: every MPI rank calls it (MPI initialized here when it is not yet, finalized at exit
// when initialized here). Bad input on any rank: one line, exit code 2 on every rank; an
// error past setup aborts the communicator. Returns the exit code (ExperimentOutcome).
int run_mpi_experiment(const ExperimentRequest& req);

}  // namespace moeb
