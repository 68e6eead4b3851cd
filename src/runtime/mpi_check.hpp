// MOEB_MPI_CHECK: every MPI call in moebench goes through it. A failing call throws
// moeb::MpiError "file:line: rank R on host H: CALL failed: MPI's error string".
// Communicators moebench creates use MPI_ERRORS_RETURN so that errors reach the check.
#pragma once

#include <mpi.h>

#include <string>

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
