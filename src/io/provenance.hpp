// Provenance of a run that one process can collect by itself (METRICS.md "Provenance"): build
// identity, versions of the libraries in use, the host, Slurm fields and the environment
// variables that change communication. The run gathers per-rank pieces (hostnames, devices)
// itself and stores everything through set_root_attr (root_attributes.hpp).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/results.hpp"
#include "core/topology.hpp"

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
// "NAME=value" of the variables that change communication or threading, sorted by name:
// prefixes FI_ (libfabric), I_MPI_, MV2_, PSM2_, HCOLL_, UCX_, NCCL_, OMPI_, MPICH_, and
// CUDA_VISIBLE_DEVICES, OMP_NUM_THREADS, OMP_PROC_BIND, OMP_PLACES, OPENBLAS_NUM_THREADS,
// MKL_NUM_THREADS, GOTO_NUM_THREADS.
std::vector<std::string> communication_env();
// Online CPU cores of this host; 1-minute load average (-1 when unavailable).
int host_cores();
double load_average();

// A RunResult holding every process-local root attribute above (schema_version, versions, git,
// build, compiler, command line, start_time, status "running", hostname of this process as
// hostnames[0], MPI/UCX/BLAS versions, Slurm fields) and `env`.
RunResult collect_local_provenance(int argc, const char* const* argv);

// What the measuring environment contributes: the experiment layer's measurer fills it.
struct MeasurementProvenance {
  std::string backend;                   // cpu | cuda | model
  std::vector<std::string> hostnames;    // per rank
  std::vector<std::string> rank_device;  // per rank
  std::string act_dtype;                 // bf16 | fp32 | other
  int64_t dispatch_row_bytes = 0, combine_row_bytes = 0;
  double probe_overhead = 0;             // s; 0 without sync probes
  bool sync_probe = false;               // as measured (the model has none)
  std::string system_model;              // cost-model system that predicted times; "" = none
  std::vector<std::pair<std::string, std::string>> extra;  // e.g. CUDA and NCCL versions
};

// The provenance of a results file, every root attribute written once: the process-local
// ones (collect_local_provenance), the resolved config's (suite, system label, seed, model
// dimensions, dispatch, dedup, config_toml), the resolved topology and slots, the workload's
// and the measurement's. `host_cores` and `load_avg_start` describe this process's host.
RunResult build_provenance(const std::vector<std::string>& command_line, const RunConfig& cfg,
                           const Topology& topo, const std::string& topology_source,
                           int slots_per_rank,
                           const std::map<std::string, std::string>& workload_provenance,
                           const MeasurementProvenance& m);

}  // namespace moeb
