// Pieces of `moebench run` that need MPI but belong to no layer: topology discovery, per-rank
// provenance gathering, and the summary table printed at the end.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/results.hpp"
#include "core/topology.hpp"

namespace moeb::cli {

// The topology a run uses: the suite's virtual nodes when it declares them (the rank count must
// fit), else the MPI library's shared-memory split. `source` is set to "suite" or "mpi".
// Throws ConfigError naming the suite file and key when the rank count cannot be used.
Topology resolve_topology(const RunConfig& cfg, MPI_Comm comm, std::string& source);

// Human-readable numbers: 1.23 GB, 4.5 MB ...
std::string format_bytes(double bytes);
std::string format_rate(double per_s);

// The end-of-run table: strategy, comm bytes, inter-node bytes, idle %, throughput, Jain,
// measured / predicted layer time.
std::string summary_table(const std::vector<StrategyResult>& results, int top_k);

}  // namespace moeb::cli
