#include "io/provenance.hpp"

#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "io/config_loader.hpp"
#include "io/root_attributes.hpp"
#include "platform/host.hpp"
#include "moeb_git.hpp"

#ifdef MOEB_HAVE_UCX
#include <ucp/api/ucp.h>
#endif

extern char** environ;

#ifdef MOEB_HAVE_OPENBLAS
extern "C" char* openblas_get_config(void);
#endif

#ifndef MOEB_VERSION_STRING
#define MOEB_VERSION_STRING "unknown"
#endif
#ifndef MOEB_BUILD_TYPE
#define MOEB_BUILD_TYPE "unknown"
#endif

namespace moeb {

std::string moebench_version() { return MOEB_VERSION_STRING; }
std::string git_sha() { return MOEB_GIT_SHA; }
bool git_dirty() { return MOEB_GIT_DIRTY; }
std::string build_type() { return MOEB_BUILD_TYPE; }

std::string compiler_id() {
#if defined(__clang__)
  return std::string("Clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("GCC ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string utc_now_iso8601() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string local_hostname() {
  const std::string host = host_name();
  return host.empty() ? "unknown" : host;
}

namespace {
std::string trim(std::string s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == ' ' || s.back() == '\r' || s.back() == '\0'))
    s.pop_back();
  size_t b = 0;
  while (b < s.size() && s[b] == ' ') ++b;
  return s.substr(b);
}
}  // namespace

std::string mpi_library_version() {
  char buf[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  if (MPI_Get_library_version(buf, &len) != MPI_SUCCESS) return "";
  std::string s(buf, static_cast<size_t>(std::max(0, len)));
  // Keep the first line: Open MPI appends repository details on one line, MPICH several.
  auto nl = trim(s).find('\n');
  return trim(nl == std::string::npos ? s : s.substr(0, nl));
}

std::string ucx_version() {
#ifdef MOEB_HAVE_UCX
  return ucp_get_version_string();
#else
  // Built without UCX headers: ask the tool, if the machine has one ("# Version 1.13.1").
  FILE* p = popen("ucx_info -v 2>/dev/null", "r");
  if (!p) return "";
  char line[256] = {};
  std::string v;
  if (std::fgets(line, sizeof line, p)) {
    const std::string s = trim(line);
    const std::string tag = "# Version ";
    if (s.rfind(tag, 0) == 0) v = s.substr(tag.size());
  }
  pclose(p);
  return v;
#endif
}

std::string blas_version() {
#ifdef MOEB_HAVE_OPENBLAS
  const char* c = openblas_get_config();
  return c ? trim(c) : "";
#else
  return "";
#endif
}

std::string join_command_line(int argc, const char* const* argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i] ? argv[i] : "";
    const bool quote = a.empty() || a.find_first_of(" \t\"'") != std::string::npos;
    if (quote) {
      std::string q = "'";
      for (char ch : a) q += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
      a = q + "'";
    }
    s += (i ? " " : "") + a;
  }
  return s;
}

std::vector<std::pair<std::string, std::string>> slurm_fields() {
  static const char* names[] = {"SLURM_JOB_ID",         "SLURM_JOB_NAME",     "SLURM_CLUSTER_NAME",
                                "SLURM_JOB_PARTITION",  "SLURM_JOB_NODELIST", "SLURM_NNODES",
                                "SLURM_NTASKS_PER_NODE"};
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* n : names) {
    const char* v = std::getenv(n);
    if (!v) continue;
    std::string attr(n);
    std::transform(attr.begin(), attr.end(), attr.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.emplace_back(attr, v);
  }
  return out;
}

std::vector<std::string> communication_env() {
  static const char* prefixes[] = {"FI_",   "I_MPI_", "MV2_", "PSM2_", "HCOLL_",
                                   "UCX_",  "NCCL_",  "OMPI_", "MPICH_"};
  static const char* names[] = {"CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",  "OMP_PROC_BIND",
                                "OMP_PLACES",           "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                "GOTO_NUM_THREADS"};
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    const std::string kv(*e);
    const std::string name = kv.substr(0, kv.find('='));
    bool keep = false;
    for (const char* n : names) keep |= name == n;
    for (const char* p : prefixes) keep |= name.rfind(p, 0) == 0;
    if (keep) out.push_back(kv);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int host_cores() {
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

double load_average() {
  double l[1] = {0};
  return getloadavg(l, 1) == 1 ? l[0] : -1.0;
}

RunResult collect_local_provenance(int argc, const char* const* argv) {
  RunResult r;
  set_root_attr(r, "schema_version", static_cast<double>(kResultsSchemaVersion));
  set_root_attr(r, "moebench_version", moebench_version());
  set_root_attr(r, "git_sha", git_sha());
  set_root_attr(r, "git_dirty", git_dirty() ? 1.0 : 0.0);
  set_root_attr(r, "build_type", build_type());
  set_root_attr(r, "compiler", compiler_id());
  set_root_attr(r, "command_line", join_command_line(argc, argv));
  set_root_attr(r, "start_time", utc_now_iso8601());
  set_root_attr(r, "status", std::string("running"));
  const std::string mpi = mpi_library_version();
  if (!mpi.empty()) set_root_attr(r, "mpi_version", mpi);
  const std::string ucx = ucx_version();
  if (!ucx.empty()) set_root_attr(r, "ucx_version", ucx);
  const std::string blas = blas_version();
  if (!blas.empty()) set_root_attr(r, "blas", blas);
  for (const auto& [k, v] : slurm_fields()) set_root_attr(r, k, v);
  set_root_attr(r, "host_cores", static_cast<double>(host_cores()));
  set_root_attr(r, "load_avg_start", load_average());
  r.hostnames = {local_hostname()};
  r.env = communication_env();
  return r;
}

namespace {

void add_config_attributes(RunResult& r, const RunConfig& cfg) {
  set_root_attr(r, "suite_name", cfg.suite_name);
  set_root_attr(r, "suite_path", cfg.suite_path);
  set_root_attr(r, "system", cfg.system);
  set_root_attr(r, "seed", static_cast<double>(cfg.seed));
  set_root_attr(r, "model_preset", cfg.model_preset);
  set_root_attr(r, "num_experts", cfg.model.num_experts);
  set_root_attr(r, "top_k", cfg.model.top_k);
  set_root_attr(r, "hidden", cfg.model.hidden);
  set_root_attr(r, "ffn_hidden", cfg.model.ffn_hidden);
  set_root_attr(r, "num_layers", cfg.model.num_layers);
  set_root_attr(r, "num_shared_experts", cfg.model.num_shared_experts);
  set_root_attr(r, "dispatch", cfg.dispatch);
  set_root_attr(r, "dedup", cfg.dedup ? 1.0 : 0.0);
  r.config_toml = config_to_toml(cfg);
}

void add_measurement_attributes(RunResult& r, const MeasurementProvenance& m) {
  r.hostnames = m.hostnames;
  r.rank_device = m.rank_device;
  set_root_attr(r, "backend", m.backend);
  set_root_attr(r, "sync_probe", m.sync_probe ? 1.0 : 0.0);
  set_root_attr(r, "act_dtype", m.act_dtype);
  set_root_attr(r, "dispatch_row_bytes", static_cast<double>(m.dispatch_row_bytes));
  set_root_attr(r, "combine_row_bytes", static_cast<double>(m.combine_row_bytes));
  set_root_attr(r, "probe_overhead", m.probe_overhead);
  if (!m.system_model.empty()) set_root_attr(r, "system_model", m.system_model);
  for (const auto& [k, v] : m.extra) set_root_attr(r, k, v);
}

}  // namespace

RunResult build_provenance(const std::vector<std::string>& command_line, const RunConfig& cfg,
                           const Topology& topo, const std::string& topology_source,
                           int slots_per_rank,
                           const std::map<std::string, std::string>& workload_provenance,
                           const MeasurementProvenance& m) {
  std::vector<const char*> argv;
  for (const auto& a : command_line) argv.push_back(a.c_str());
  RunResult r = collect_local_provenance(static_cast<int>(argv.size()), argv.data());
  add_config_attributes(r, cfg);
  add_measurement_attributes(r, m);
  r.rank_node = topo.node_of_rank();
  set_root_attr(r, "num_ranks", static_cast<double>(topo.num_ranks()));
  set_root_attr(r, "num_nodes", static_cast<double>(topo.num_nodes()));
  set_root_attr(r, "topology", topo.describe());
  set_root_attr(r, "topology_source", topology_source);
  set_root_attr(r, "slots_per_rank", static_cast<double>(slots_per_rank));
  for (const auto& [k, v] : workload_provenance) set_root_attr(r, k, v);
  return r;
}

}  // namespace moeb
