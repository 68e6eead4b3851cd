// The resolved run configuration: every default filled in. Parsed from a suite TOML by io/,
// overridden by the command line, and written whole into every results file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/options.hpp"

namespace moeb {

struct WorkloadConfig {
  std::string kind = "synthetic";       // synthetic | trace
  // synthetic
  std::string distribution = "zipf";    // uniform | zipf | families
  double zipf_s = 1.0;                  // Zipf exponent (zipf, and within families)
  int num_families = 2;                 // families distribution: task families
  double family_hot_share = 0.7;        // families: share of a token's picks from its family's hot set
  int64_t tokens = 8192;                // tokens generated (calibration + evaluation)
  // trace replay
  std::vector<std::string> traces;      // trace files (HDF5), mixed with trace_weights
  std::vector<double> trace_weights;
  std::string order = "interleaved";    // interleaved | by_request
  // calibration / evaluation split
  std::string split = "fraction";       // fraction | trace | oracle
  double calibration_fraction = 0.25;   // share of requests used for calibration
  std::string calibration_trace;        // split = trace
  int64_t batch_tokens = 1024;          // tokens per batch (per iteration, all ranks together)
};

struct StrategyConfig {
  std::string name;
  std::map<std::string, OptionValue> options;  // as given; resolved against the spec later
};

struct RunConfig {
  std::string suite_path;
  std::string suite_name;
  std::string description;
  uint64_t seed = 42;
  std::string system = "unlabeled";      // column label for cross-system reports
  std::string system_file;               // cost-model system (preset name or path); "" = none

  std::string model_preset;
  ModelSpec model;                       // dimensions actually used (after scaling)

  // Topology. nodes == 0: from the MPI library's shared-memory split.
  int nodes = 0;
  int ranks_per_node = 0;
  int slots_per_rank = 0;                // 0 = ceil(E / R)
  double expert_memory_gib = 0;          // alternative budget: memory left for experts per rank
  std::string expert_dtype = "bf16";     // dtype used to convert expert_memory_gib into slots

  WorkloadConfig workload;
  std::vector<StrategyConfig> strategies;

  std::string backend = "cpu";           // cpu | cuda
  std::string dispatch = "flat";         // flat | hierarchical
  bool dedup = true;                     // one copy per (token, destination rank)
  int warmup = 2;
  int iterations = 10;
  bool sync_probe = true;
  bool check = true;
  int check_samples = 8;                 // sampled tokens per rank per layer
  double check_rtol = 1e-3;
  double check_atol = 1e-4;
  int threads_per_rank = 1;              // BLAS threads per rank (CPU backend)
};

}  // namespace moeb
