// The MPI environment of moebench, in one place: the checked-call macro, the world guard that
// initializes MPI once, the node map (shared-memory split), local rank, hostnames, and agreeing
// on a setup error across ranks.
//
// MOEB_MPI_CHECK: every MPI call in moebench goes through it. A failing call throws
// moeb::MpiError "file:line: rank R on host H: CALL failed: MPI's error string".
// Communicators moebench creates use MPI_ERRORS_RETURN so that errors reach the check.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace moeb {

[[noreturn]] void throw_mpi_error(int code, const char* call, const char* file, int line);

// "rank R on host H" of the calling process (world rank; -1 before MPI_Init).
std::string mpi_where();

}  // namespace moeb

#define MOEB_MPI_CHECK(call)                                                    \
  do {                                                                          \
    const int moeb_mpi_rc_ = (call);                                            \
    if (moeb_mpi_rc_ != MPI_SUCCESS)                                            \
      ::moeb::throw_mpi_error(moeb_mpi_rc_, #call, __FILE__, __LINE__);         \
  } while (0)

namespace moeb::mpi {

// Initializes MPI unless it is already up (MPI_Init_thread with `required`), and finalizes it on
// destruction when this guard initialized it and nobody finalized it since. One per command.
class World {
 public:
  explicit World(int required_thread_level = MPI_THREAD_SINGLE);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;
  MPI_Comm comm() const { return MPI_COMM_WORLD; }
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  bool owns_ = false;
  int rank_ = 0, size_ = 1;
};

// MPI is initialized and not yet finalized.
bool is_up();
// World rank, or -1 when MPI is not up.
int world_rank();

int rank(MPI_Comm comm);
int size(MPI_Comm comm);

// The ranks of `comm` that share the caller's node (MPI_COMM_TYPE_SHARED, ordered by rank in
// `comm`). The caller frees it with MPI_Comm_free. Collective.
MPI_Comm node_comm(MPI_Comm comm);

// Node of every rank of `comm` from the MPI library's shared-memory split: node ids are the
// order of each node's lowest rank, so node 0 holds rank 0. Collective.
std::vector<int> node_map(MPI_Comm comm);

// Rank of the caller among the ranks of `comm` that share its node (shared-memory split).
// Collective.
int local_rank(MPI_Comm comm);

// Hostname of every rank of `comm`, gathered on every rank. Collective.
std::vector<std::string> gather_hostnames(MPI_Comm comm);

// A setup error agreed on by every rank: the lowest failing rank and its message.
struct AgreedError {
  int rank = -1;        // lowest rank that failed; -1 when none did
  std::string message;  // that rank's message, on every rank
  explicit operator bool() const { return rank >= 0; }
};

// Collective: each rank passes its own error ("" = none); every rank gets the lowest failing
// rank's error, so that all ranks stop (or go on) together and one line can be printed.
AgreedError agree_on_error(MPI_Comm comm, const std::string& my_error);

// An error past setup, agreed at a phase boundary (a run's strategy boundary). Like
// agree_on_error, but nonblocking for a rank that failed: it waits at most `failing_wait_s`
// seconds for the others to reach the same boundary. A rank that fails inside a sequence of
// collectives leaves the others blocked in one of them, and they never arrive; then the result
// has `unanswered` set (only on the failing rank, whose own error is returned) and the caller
// ends every rank with abort_all. Ranks without an error wait as long as it takes. Collective.
struct BoundaryError : AgreedError {
  bool unanswered = false;  // this rank failed and the others did not arrive in time
};
BoundaryError agree_at_boundary(MPI_Comm comm, const std::string& my_error, double failing_wait_s);

// Ends every rank of MPI_COMM_WORLD with exit code `code` (MPI_Abort): the last resort when
// ranks are blocked in a collective that the calling rank can no longer join.
[[noreturn]] void abort_all(int code);

// True on every rank when `mine` is true on any rank. Collective.
bool any_rank(MPI_Comm comm, bool mine);
// True on every rank when the ranks' `mine` are not all equal. Collective.
bool values_differ(MPI_Comm comm, uint64_t mine);

// Broadcasts `s` from `root` to every rank of `comm`. Collective.
void broadcast_string(std::string& s, int root, MPI_Comm comm);

}  // namespace moeb::mpi
