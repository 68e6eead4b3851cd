#include "io/root_attributes.hpp"

#include <cmath>
#include <cstdlib>

#include "core/error.hpp"

namespace moeb {

const std::vector<RootAttributeSpec>& root_attributes() {
  using T = AttrType;
  static const std::vector<RootAttributeSpec> a = {
      {"schema_version", T::kInt, true, "results schema version (1)"},
      {"moebench_version", T::kString, true, "moebench version"},
      {"git_sha", T::kString, true, "git commit of the build"},
      {"git_dirty", T::kInt, false, "1 when the build tree had local changes"},
      {"build_type", T::kString, false, "CMAKE_BUILD_TYPE of the build"},
      {"compiler", T::kString, false, "compiler id and version"},
      {"command_line", T::kString, true, "argv joined"},
      {"start_time", T::kString, true, "UTC, ISO 8601"},
      {"end_time", T::kString, false, "UTC, ISO 8601, updated at each strategy"},
      {"status", T::kString, true, "running | complete | interrupted | failed"},
      {"suite_name", T::kString, false, "suite [suite].name"},
      {"suite_path", T::kString, false, "suite file"},
      {"system", T::kString, true, "column label for cross-system reports"},
      {"backend", T::kString, true, "cpu | cuda | model"},
      {"seed", T::kInt, true, "the run's seed"},
      {"num_ranks", T::kInt, true, "MPI ranks"},
      {"num_nodes", T::kInt, true, "nodes"},
      {"topology", T::kString, false, "nodes x ranks per node"},
      {"topology_source", T::kString, false, "mpi | suite | option"},
      {"model_preset", T::kString, false, "model preset name"},
      {"num_experts", T::kInt, true, "routed experts per layer"},
      {"top_k", T::kInt, true, "experts per token"},
      {"hidden", T::kInt, false, "hidden dimension used"},
      {"ffn_hidden", T::kInt, false, "expert FFN width used"},
      {"num_layers", T::kInt, true, "MoE layers run"},
      {"num_shared_experts", T::kInt, false, "shared experts"},
      {"act_dtype", T::kString, false, "activation dtype"},
      {"dispatch_row_bytes", T::kInt, false, "bytes of one token copy in dispatch"},
      {"combine_row_bytes", T::kInt, false, "bytes of one partial result in combine"},
      {"dispatch", T::kString, false, "flat | hierarchical"},
      {"dedup", T::kInt, false, "1 = one copy per (token, destination rank)"},
      {"sync_probe", T::kInt, false, "1 = sync probes before each all-to-all"},
      {"probe_overhead", T::kFloat, false, "s: median barrier time among synchronized ranks"},
      {"slots_per_rank", T::kInt, false, "experts a rank can hold, replicas included"},
      {"system_model", T::kString, false, "cost-model system of the predicted times"},
      {"host_cores", T::kInt, false, "online CPU cores of the writing host"},
      {"load_avg_start", T::kFloat, false, "1-minute load average of that host at the start"},
      {"load_avg_end", T::kFloat, false, "1-minute load average at the last write"},
      {"mpi_version", T::kString, false, "MPI_Get_library_version"},
      {"ucx_version", T::kString, false, "UCX version"},
      {"cuda_runtime_version", T::kString, false, "CUDA runtime version"},
      {"cuda_driver_version", T::kString, false, "CUDA driver version"},
      {"nccl_version", T::kString, false, "NCCL version"},
      {"gpu_model", T::kString, false, "GPU model"},
      {"blas", T::kString, false, "BLAS library and configuration"},
      {"slurm_job_id", T::kString, false, "SLURM_JOB_ID"},
      {"slurm_job_name", T::kString, false, "SLURM_JOB_NAME"},
      {"slurm_cluster_name", T::kString, false, "SLURM_CLUSTER_NAME"},
      {"slurm_job_partition", T::kString, false, "SLURM_JOB_PARTITION"},
      {"slurm_job_nodelist", T::kString, false, "SLURM_JOB_NODELIST"},
      {"slurm_nnodes", T::kString, false, "SLURM_NNODES"},
      {"slurm_ntasks_per_node", T::kString, false, "SLURM_NTASKS_PER_NODE"},
      {"trace_source", T::kString, false, "workload source"},
      {"trace_sha256", T::kString, false, "sha256 of the trace file(s)"},
      {"split", T::kString, false, "calibration/evaluation split"},
      {"calibration_tokens", T::kInt, false, "tokens in the calibration part"},
      {"evaluation_tokens", T::kInt, false, "tokens in the evaluation part"},
      {"oracle", T::kInt, false, "1 when strategies saw the evaluation part"},
      {"config_toml", T::kString, true, "the resolved run configuration"},
  };
  return a;
}

const RootAttributeSpec* find_root_attribute(const std::string& name) {
  for (const auto& a : root_attributes())
    if (name == a.name) return &a;
  return nullptr;
}

void set_root_attr(RunResult& r, const std::string& name, const std::string& value) {
  const auto* spec = find_root_attribute(name);
  if (!spec || spec->type == AttrType::kString) {
    r.attrs_str[name] = value;
    r.attrs_num.erase(name);
    return;
  }
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v) ||
      (spec->type == AttrType::kInt && v != std::floor(v)))
    throw Error("root attribute '" + name + "': expected " +
                (spec->type == AttrType::kInt ? "an integer" : "a number") + ", got '" + value +
                "'");
  set_root_attr(r, name, v);
}

void set_root_attr(RunResult& r, const std::string& name, double value) {
  const auto* spec = find_root_attribute(name);
  if (spec && spec->type == AttrType::kString)
    throw Error("root attribute '" + name + "': expected a string, got a number");
  r.attrs_num[name] = value;
  r.attrs_str.erase(name);
}

}  // namespace moeb
