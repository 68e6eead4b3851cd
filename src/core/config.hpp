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

// Versions of the synthetic draw a suite may ask for ([workload] generator_version; 1 when a
// file's configuration predates the key).
inline constexpr int kSyntheticGeneratorVersions = 2;

struct WorkloadConfig {
  std::string kind = "synthetic";       // synthetic | trace
  // synthetic
  std::string distribution = "zipf";    // uniform | zipf | families
  double zipf_s = 1.0;                  // Zipf exponent (zipf, and within families)
  int num_families = 2;                 // families distribution: task families
  double family_hot_share = 0.7;        // families: share of a token's picks from its family's hot set
  int64_t tokens = 8192;                // tokens generated (calibration + evaluation)
  int request_tokens = 64;              // synthetic: mean tokens per request (uniform in [m/2, 3m/2])
  double prefill_share = 0.5;           // synthetic: share of a request's tokens in the prefill phase
  int block_experts = 0;                // families: co-activation block size (0 = 2 * top_k)
  double recurrence = 0.0;              // synthetic: P(token reuses the previous token's draws), per layer
  double phase_mix = 1.0;               // synthetic: 1 = decode ranks experts like prefill, 0 = independently
  int generator_version = 1;            // synthetic draw: 1 = with rejection (files before the key), 2 = without
  // calibrated synthetic (distribution = "calibrated"): targets the generator is solved for.
  std::string preset;                   // deepseek-v3 | qwen3-235b-a22b | kimi-k2 | "" (targets below)
  double target_skew = 16.0;            // hottest expert load / mean load, per layer
  double target_pair_share = 0.7;       // share of co-activations carried by the top 10% of pairs
  double target_phase_spearman = 0.8;   // Spearman(prefill, decode) of per-expert frequencies
  double target_recurrence = 0.3;       // share of a token's experts also chosen by the previous token
  // trace replay
  std::vector<std::string> traces;      // trace files (HDF5), mixed with trace_weights
  std::vector<double> trace_weights;
  std::string order = "interleaved";    // interleaved | by_request
  // calibration / evaluation split
  std::string split = "fraction";       // fraction | trace | oracle
  double calibration_fraction = 0.25;   // share of requests used for calibration
  std::string calibration_trace;        // split = trace
  // Phases each part keeps: all | prefill | decode (token phase from the trace or generator).
  std::string calib_phase = "all";      // calibration tokens the strategies see (fraction, oracle)
  std::string eval_phase = "all";       // evaluation tokens batched and measured
  int64_t batch_tokens = 1024;          // tokens per batch (per iteration, all ranks together)
};

struct StrategyConfig {
  std::string name;
  std::map<std::string, OptionValue> options;  // as given; resolved against the spec later
};

// A named instance of a registered strategy ([variant.<name>] in a suite): its own options and,
// optionally, its own run-wide dispatch mode and dedup (empty / -1 = the run's).
struct VariantConfig {
  std::string name;
  std::string strategy;                        // registered strategy id
  std::map<std::string, OptionValue> options;  // as given; resolved against the spec later
  std::string dispatch;                        // "" = the run's
  int dedup = -1;                              // -1 = the run's, 0 / 1 = off / on
};

// One axis of a sweep ([sweep] in a suite, --sweep on the command line): a run-wide knob and its
// values as text, e.g. {"slots", {"+0", "+2", "16/layer"}} (suites/README.md "Sweeps").
struct SweepAxis {
  std::string key;                  // dispatch | dedup | batch_tokens | slots | topology | system
  std::vector<std::string> values;  // canonical text ("true", "4096", "2x4", ...)
};

struct RunConfig {
  std::string suite_path;
  std::string suite_name;
  std::string description;
  uint64_t seed = 42;
  std::string system;                    // report column label; "" = Slurm cluster name or host
  std::string system_file;               // cost-model system (preset name or path); "" = none

  std::string model_preset;
  ModelSpec model;                       // dimensions actually used (after scaling)

  // Topology. nodes == 0: from the MPI library's shared-memory split.
  int nodes = 0;
  int ranks_per_node = 0;
  int slots_per_rank = 0;                // 0 = ceil(E / R)
  double expert_memory_gib = 0;          // alternative budget: memory left for experts per rank
  std::string expert_dtype = "bf16";     // dtype used to convert expert_memory_gib into slots
  // Memory model (core/memory_model): KV tokens per sequence (0 = no memory figure), memory per
  // rank kept for non-expert weights, activations and workspace, KV-cache dtype.
  int64_t context_tokens = 0;
  double reserved_memory_gib = 0;
  std::string kv_dtype = "bf16";
  // Budgets relative to the topology (one of these or the two above, never two):
  int spare_slots_per_rank = 0;          // slots = ceil(E / R) + spare
  int replicas_per_layer = 0;            // slots = ceil((E + replicas) / R)

  WorkloadConfig workload;
  std::vector<StrategyConfig> strategies;
  // Every [strategy.<name>] table of the suite, listed or not, so that a command-line
  // `--strategies` choice still gets the suite's options for each strategy.
  std::map<std::string, std::map<std::string, OptionValue>> strategy_option_tables;
  // Every [variant.<name>] table, in file order; a variant name may stand wherever a strategy
  // name does (placement.strategies, --strategies).
  std::vector<VariantConfig> variants;
  // [oracle]: one more row, `optimal` fitted on the evaluation batches (the oracle bound), and
  // the "of oracle" figure of every strategy on `oracle_objective` (auto = layer_time with a
  // system model, else inter_node_bytes).
  bool oracle = false;
  std::string oracle_objective = "auto";
  // [sweep]: run-wide knobs with several values; the cells are their cartesian product.
  std::vector<SweepAxis> sweep;

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
