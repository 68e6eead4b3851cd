// The runtime measurer (`moebench run`): the suite's layers on this process's MPI ranks through
// the harness (runtime/harness.hpp), with the cost model's predictions next to them when the
// experiment has a system model.
#pragma once

#include <mpi.h>

#include <memory>

#include "experiment/measurer.hpp"

namespace moeb {

// The topology of the ranks of `comm`: the suite's virtual nodes when it declares them (the
// rank count must fit), else the MPI library's shared-memory split.
TopologyResolver mpi_topology(MPI_Comm comm);

// Collective over `comm`. The backend is created in prepare() (device = the rank's index on
// its real node).
std::unique_ptr<Measurer> make_runtime_measurer(MPI_Comm comm);

}  // namespace moeb
