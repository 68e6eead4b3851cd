#include "runtime/mpi_check.hpp"

#include <unistd.h>

namespace moeb {

std::string mpi_where() {
  int initialized = 0, finalized = 0, rank = -1;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (initialized && !finalized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '?';
  return "rank " + std::to_string(rank) + " on host " + host;
}

void throw_mpi_error(int code, const char* call, const char* file, int line) {
  char msg[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  if (MPI_Error_string(code, msg, &len) != MPI_SUCCESS) len = 0;
  throw MpiError(source_location_prefix(file, line) + mpi_where() + ": " + call +
                 " failed: " + std::string(msg, static_cast<size_t>(len)));
}

}  // namespace moeb
