// Provenance of a run that one process can collect by itself (METRICS.md "Provenance"): build
// identity, versions of the libraries in use, the host, Slurm fields and the environment
// variables that change communication. The run gathers per-rank pieces (hostnames, devices)
// itself and stores everything through set_root_attr (root_attributes.hpp).
#pragma once

#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/results.hpp"

namespace moeb {

std::string moebench_version();
std::string git_sha();  // "unknown" outside a git checkout
bool git_dirty();
std::string build_type();       // CMAKE_BUILD_TYPE of this build
std::string compiler_id();      // e.g. "GCC 12.2.0"
std::string utc_now_iso8601();  // "2026-01-31T12:34:56Z"
std::string local_hostname();
std::string mpi_library_version();  // MPI_Get_library_version (valid before MPI_Init), trimmed
std::string ucx_version();          // "" when UCX is absent
std::string blas_version();         // openblas_get_config(), "" when unavailable
std::string join_command_line(int argc, const char* const* argv);
// (attribute name, value) of the Slurm variables present in the environment.
std::vector<std::pair<std::string, std::string>> slurm_fields();
// "NAME=value" of NCCL_*, UCX_*, OMPI_*, MPICH_*, CUDA_VISIBLE_DEVICES, sorted by name.
std::vector<std::string> communication_env();

// A RunResult holding every process-local root attribute above (schema_version, versions, git,
// build, compiler, command line, start_time, status "running", hostname of this process as
// hostnames[0], MPI/UCX/BLAS versions, Slurm fields) and `env`.
RunResult collect_local_provenance(int argc, const char* const* argv);

// Adds the attributes that come from the resolved config: suite_name, suite_path, system,
// backend, seed, model_preset and dimensions, dispatch, dedup, sync_probe, slots_per_rank (as
// configured; the run overwrites it with the resolved value) and config_toml.
void add_config_provenance(RunResult& r, const RunConfig& cfg);

}  // namespace moeb
