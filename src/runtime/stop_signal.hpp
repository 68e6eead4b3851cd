// Graceful stop on SIGTERM / SIGUSR1 / SIGINT (Ctrl-C): a process-wide flag set by a signal handler and polled by
// the harness at iteration boundaries (HarnessOptions::stop_requested). Slurm sends SIGTERM on
// scancel and at the time limit, and the signal chosen with `sbatch --signal=[B:]USR1@SECONDS`
// ahead of it; srun delivers it to every task, mpirun forwards SIGTERM/SIGUSR1 to its ranks.
// The run then finishes the current iteration, records the strategy as `interrupted`, keeps
// every finished strategy in the results file and exits with code 3 (see docs/SLURM.md).
// Ctrl-C in a terminal sends SIGINT to mpirun and its ranks alike (one process group); mpirun
// itself answers SIGINT as SIGTERM (SIGTERM to the ranks, SIGKILL about a second later), so the
// ranks stop at the next iteration boundary either way. A second SIGINT ends the process at
// once.
#pragma once

#include <string>

namespace moeb {

// Installs handlers for SIGTERM, SIGUSR1 and SIGINT that only set the flag (async-signal-safe). Call
// after MPI_Init so that they replace any handler the MPI library installed. Idempotent.
void install_stop_handlers();

// Restores the handlers that were in place before install_stop_handlers() (tests, shutdown).
void remove_stop_handlers();

// True once SIGTERM, SIGUSR1 or SIGINT has arrived since install_stop_handlers() / reset. Cheap: one
// atomic load, safe to poll every iteration. Rank-local: the harness agrees across ranks.
bool stop_requested();

// The first signal that requested the stop (SIGTERM, SIGUSR1, SIGINT), or 0 when none has.
int stop_signal_number();

// "SIGTERM", "SIGUSR1", "SIGINT", or "" when no stop was requested: for the exit message.
std::string stop_signal_name();

// Clears the flag (tests; a driver running several independent runs in one process).
void reset_stop_request();

}  // namespace moeb
