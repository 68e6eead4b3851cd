#include "report/fingerprint.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "core/error.hpp"
#include "io/config_keys.hpp"

namespace moeb::report {
namespace {

// Config tables left out whole: strategy options belong to rows (a strategy whose options
// differ becomes its own row), sweep lists and variants are what a file holds, not how it was
// measured, the oracle is one more row, and the output check runs outside the timed region.
const std::set<std::string> kOutTables = {"strategy", "variant", "sweep", "check", "oracle"};
// Single config keys left out: labels, and how long a run measures (not what it measures).
const std::set<std::string> kOutKeys = {"suite.name",         "suite.description", "suite.system",
                                        "placement.strategies", "run.iterations",  "run.warmup"};

// Root attributes that count, under their own names (resolved values the config may not show).
const char* const kAttrKeys[] = {
    "backend",    "num_ranks",          "num_nodes",         "topology",
    "act_dtype",  "dispatch_row_bytes", "combine_row_bytes", "slots_per_rank",
    "trace_sha256", "calibration_tokens", "evaluation_tokens", "oracle",
    "build_type", "mpi_version",        "ucx_version",       "nccl_version",
    "cuda_runtime_version", "cuda_driver_version", "gpu_model", "blas",
    "slurm_cluster_name"};

// Attributes that stand in for a config key when the stored config lacks it (older or
// hand-made files): attribute -> config key.
const std::pair<const char*, const char*> kAttrAsConfig[] = {
    {"model_preset", "model.preset"},    {"num_experts", "model.experts"},
    {"top_k", "model.top_k"},            {"hidden", "model.hidden"},
    {"ffn_hidden", "model.ffn_hidden"},  {"num_layers", "model.layers"},
    {"num_shared_experts", "model.shared_experts"}, {"seed", "suite.seed"},
    {"dispatch", "run.dispatch"},        {"dedup", "run.dedup"},
    {"sync_probe", "timing.sync_probe"}, {"split", "workload.split"}};

// Keys that say where a run happened rather than what it measured.
const std::set<std::string> kSystemKeys = {
    "backend",     "run.backend", "build_type",  "mpi_version",          "ucx_version",
    "nccl_version", "gpu_model",  "blas",        "cuda_runtime_version", "cuda_driver_version",
    "slurm_cluster_name", "hosts", "system.model", "run.threads_per_rank"};

std::string num_text(double v) {
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string node_text(const toml::node& n) {
  if (auto s = n.value<std::string>(); s && n.is_string()) return *s;
  if (n.is_boolean()) return *n.value<bool>() ? "true" : "false";
  if (n.is_integer()) return std::to_string(*n.value<int64_t>());
  if (n.is_floating_point()) return num_text(*n.value<double>());
  if (const auto* a = n.as_array()) {
    std::string s = "[";
    for (size_t i = 0; i < a->size(); ++i) s += (i ? ", " : "") + node_text(*a->get(i));
    return s + "]";
  }
  std::ostringstream out;  // dates, times, inline tables: their TOML text
  if (const auto* t = n.as_table()) out << *t;
  return out.str();
}

void flatten(const toml::table& t, const std::string& prefix, std::map<std::string, std::string>& out) {
  for (const auto& [k, v] : t) {
    const std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (const auto* sub = v.as_table()) {
      if (prefix.empty() && kOutTables.count(std::string(k.str()))) continue;
      flatten(*sub, key, out);
    } else if (config_key_counts(key)) {
      out[key] = node_text(v);
    }
  }
}

std::string attr_text(const RunResult& run, const std::string& name) {
  if (auto s = run.attrs_str.find(name); s != run.attrs_str.end()) return s->second;
  if (auto d = run.attrs_num.find(name); d != run.attrs_num.end()) return num_text(d->second);
  return "";
}

void add_env(const RunResult& run, std::map<std::string, std::string>& keys) {
  for (const auto& kv : run.env) {
    const auto eq = kv.find('=');
    const std::string name = kv.substr(0, eq);
    if (env_var_counts(name)) keys["env." + name] = eq == std::string::npos ? "" : kv.substr(eq + 1);
  }
}

std::string fnv1a_hex(const std::map<std::string, std::string>& keys) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto feed = [&](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 0x100000001b3ULL;
    }
  };
  for (const auto& [k, v] : keys) feed(k + "=" + v + "\n");
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

bool config_key_counts(const std::string& dotted_key) {
  const std::string table = dotted_key.substr(0, dotted_key.find('.'));
  return !kOutTables.count(table) && !kOutKeys.count(dotted_key);
}

bool env_var_counts(const std::string& name) {
  auto starts = [&](const char* p) { return name.rfind(p, 0) == 0; };
  if (starts("OMPI_")) {
    // Only MCA parameters tune Open MPI; the rest (ranks, URIs, session dirs) is the launcher's
    // bookkeeping, different at every mpirun. So are these MCA parameters.
    if (!starts("OMPI_MCA_")) return false;
    for (const char* b : {"orte_", "ess", "pmix", "initial_wdir", "shmem_RUNTIME", "hnp", "tmpdir",
                          "jobfam", "num_procs"})
      if (name.find(b) != std::string::npos) return false;
    return true;
  }
  if (name == "CUDA_VISIBLE_DEVICES" || name == "NCCL_COMM_ID" || starts("PMIX_") ||
      starts("PMI_") || starts("SLURM_"))
    return false;
  for (const char* p : {"NCCL_", "UCX_", "MPICH_", "FI_", "I_MPI_", "MV2_", "PSM2_", "HCOLL_",
                        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"})
    if (starts(p)) return true;
  return false;
}

KeyKind key_kind(const std::string& key) {
  if (key.rfind("env.", 0) == 0 || kSystemKeys.count(key)) return KeyKind::kSystem;
  return KeyKind::kExperiment;
}

Fingerprint config_fingerprint(const RunResult& run, const std::string& path) {
  Fingerprint fp;
  if (!run.config_toml.empty()) {
    try {
      const toml::table root = toml::parse(run.config_toml, path + ":/config_toml");
      flatten(root, "", fp.keys);
    } catch (const toml::parse_error& e) {
      throw InputError(path + ": /config_toml does not parse as TOML (line " +
                       std::to_string(e.source().begin.line) + ": " +
                       std::string(e.description()) + ")");
    }
    for (const auto& [key, value] : implied_config_values())  // keys newer than the file
      fp.keys.emplace(key, value);
  }
  for (const auto& [attr, key] : kAttrAsConfig) {
    const std::string v = attr_text(run, attr);
    if (!v.empty() && !fp.keys.count(key)) fp.keys[key] = v;
  }
  for (const char* attr : kAttrKeys) {
    const std::string v = attr_text(run, attr);
    if (!v.empty()) fp.keys[attr] = v;
  }
  // On a cluster, the Slurm cluster name stands for the hardware; elsewhere, the hosts do.
  if (!fp.keys.count("slurm_cluster_name") && !run.hostnames.empty()) {
    std::set<std::string> hosts(run.hostnames.begin(), run.hostnames.end());
    std::string list;
    for (const auto& h : hosts) list += (list.empty() ? "" : ",") + h;
    fp.keys["hosts"] = list;
  }
  add_env(run, fp.keys);
  // A key newer than the format enters the hash only when it differs from the value that
  // files without it imply, so a configuration keeps its fingerprint across moebench versions
  // (the key still shows in the differing keys).
  std::map<std::string, std::string> hashed = fp.keys;
  for (const auto& [key, value] : implied_config_values()) {
    const auto it = hashed.find(key);
    if (it != hashed.end() && it->second == value) hashed.erase(it);
  }
  fp.hash = fnv1a_hex(hashed);
  return fp;
}

std::vector<KeyDiff> differing_keys(const Fingerprint& a, const Fingerprint& b) {
  std::vector<KeyDiff> out;
  std::set<std::string> all;
  for (const auto& [k, v] : a.keys) all.insert(k);
  for (const auto& [k, v] : b.keys) all.insert(k);
  for (const auto& k : all) {
    auto ia = a.keys.find(k), ib = b.keys.find(k);
    const std::string va = ia == a.keys.end() ? "(absent)" : ia->second;
    const std::string vb = ib == b.keys.end() ? "(absent)" : ib->second;
    if (va != vb) out.push_back({k, va, vb});
  }
  return out;
}

std::string describe_diffs(const std::vector<KeyDiff>& diffs, size_t max) {
  std::string s;
  for (size_t i = 0; i < diffs.size() && i < max; ++i)
    s += (i ? ", " : "") + diffs[i].key + " (" + diffs[i].a + " vs " + diffs[i].b + ")";
  if (diffs.size() > max) s += " and " + std::to_string(diffs.size() - max) + " more";
  return s;
}

}  // namespace moeb::report
