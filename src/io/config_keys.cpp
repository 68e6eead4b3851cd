#include "io/config_keys.hpp"

#include "core/limits.hpp"
#include "core/run_types.hpp"

namespace moeb {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Documented limits (core/limits.hpp, suites/README.md "Limits").
constexpr double kExperts = limits::kMaxExperts;
constexpr double kRanks = limits::kMaxRanks;

ConfigKey key(std::string table, std::string name, std::function<ConfigField(RunConfig&)> f,
              std::string description, double min = -kInf, double max = kInf,
              std::vector<std::string> choices = {}) {
  return ConfigKey{std::move(table),   std::move(name),       std::move(f), min, max,
                   std::move(choices), std::move(description)};
}

#define MOEB_FIELD(expr) [](RunConfig& c) -> ConfigField { return &c.expr; }

}  // namespace

const std::vector<std::pair<std::string, std::string>>& implied_config_values() {
  static const std::vector<std::pair<std::string, std::string>> v = {
      {"workload.generator_version", "1"},
  };
  return v;
}

// function-length: table
const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = {
      // [suite]
      key("suite", "name", MOEB_FIELD(suite_name), "suite name (default: the file's stem)"),
      key("suite", "description", MOEB_FIELD(description), "one line about the suite"),
      key("suite", "seed", MOEB_FIELD(seed), "seed of every random draw", 0),
      key("suite", "system", MOEB_FIELD(system), "column label for cross-system reports (\"\" = the Slurm cluster name, else the host name)"),
      // [model]: `preset` is handled by the loader; these override the preset's dimensions.
      key("model", "experts", MOEB_FIELD(model.num_experts), "routed experts per layer", 1,
          kExperts),
      key("model", "top_k", MOEB_FIELD(model.top_k), "routed experts per token", 1,
          limits::kMaxTopK),
      key("model", "hidden", MOEB_FIELD(model.hidden), "hidden dimension", 1, limits::kMaxHidden),
      key("model", "ffn_hidden", MOEB_FIELD(model.ffn_hidden), "expert FFN width", 1,
          limits::kMaxHidden),
      key("model", "layers", MOEB_FIELD(model.num_layers), "MoE layers run", 1, limits::kMaxLayers),
      key("model", "shared_experts", MOEB_FIELD(model.num_shared_experts),
          "always-active experts (never dispatched)", 0, limits::kMaxSharedExperts),
      key("model", "expert_groups", MOEB_FIELD(model.num_expert_groups),
          "DeepSeek-style expert groups (1 = none)", 1, kExperts),
      key("model", "topk_groups", MOEB_FIELD(model.topk_groups), "groups a token may route into", 1,
          kExperts),
      // [topology]
      key("topology", "nodes", MOEB_FIELD(nodes),
          "virtual nodes (0 = the MPI library's shared-memory split)", 0, kRanks),
      key("topology", "ranks_per_node", MOEB_FIELD(ranks_per_node),
          "ranks per virtual node (0 = from the MPI split)", 0, kRanks),
      // [workload]
      key("workload", "kind", MOEB_FIELD(workload.kind), "where routing comes from", -kInf, kInf,
          {"synthetic", "trace"}),
      key("workload", "distribution", MOEB_FIELD(workload.distribution),
          "synthetic expert popularity: uniform (every expert alike), zipf (power law, exponent "
          "zipf_s), families (task families with hot expert sets), calibrated (solved for the "
          "target_* statistics or a model's published ones)",
          -kInf, kInf, {"uniform", "zipf", "families", "calibrated"}),
      key("workload", "zipf_s", MOEB_FIELD(workload.zipf_s), "Zipf exponent", 0, 100),
      key("workload", "families", MOEB_FIELD(workload.num_families), "task families", 1, 1024),
      key("workload", "family_hot_share", MOEB_FIELD(workload.family_hot_share),
          "share of a token's picks from its family's hot set", 0, 1),
      key("workload", "tokens", MOEB_FIELD(workload.tokens),
          "tokens generated (calibration + evaluation)", 1,
          static_cast<double>(limits::kMaxTokens)),
      key("workload", "request_tokens", MOEB_FIELD(workload.request_tokens),
          "mean tokens per synthetic request", 1, static_cast<double>(limits::kMaxRequestTokens)),
      key("workload", "prefill_share", MOEB_FIELD(workload.prefill_share),
          "share of a request's tokens in the prefill phase", 0, 1),
      key("workload", "block_experts", MOEB_FIELD(workload.block_experts),
          "families: co-activation block size (0 = 2 * top_k)", 0, kExperts),
      key("workload", "recurrence", MOEB_FIELD(workload.recurrence),
          "P(token reuses the previous token's draws), per layer", 0, 1),
      key("workload", "phase_mix", MOEB_FIELD(workload.phase_mix),
          "1 = decode ranks experts like prefill, 0 = independently", 0, 1),
      key("workload", "generator_version", MOEB_FIELD(workload.generator_version),
          "synthetic draw: 1 = each pick from the mixture, rejected when taken or outside the "
          "group limit (the values of files written before this key); 2 = top-k drawn without "
          "replacement from the group-limited distribution (no rejection, several times faster)",
          1, kSyntheticGeneratorVersions),
      key("workload", "preset", MOEB_FIELD(workload.preset),
          "calibrated distribution: published targets of this model (\"\" = the targets below)"),
      key("workload", "target_skew", MOEB_FIELD(workload.target_skew),
          "calibrated: hottest expert load / mean load", 1),
      key("workload", "target_pair_share", MOEB_FIELD(workload.target_pair_share),
          "calibrated: share of co-activations carried by the top 10% of pairs", 0, 1),
      key("workload", "target_phase_spearman", MOEB_FIELD(workload.target_phase_spearman),
          "calibrated: Spearman(prefill, decode) of per-expert frequencies", -1, 1),
      key("workload", "target_recurrence", MOEB_FIELD(workload.target_recurrence),
          "calibrated: share of a token's experts also chosen by the previous token", 0, 1),
      key("workload", "batch_tokens", MOEB_FIELD(workload.batch_tokens),
          "tokens per batch (all ranks together)", 1, static_cast<double>(limits::kMaxTokens)),
      key("workload", "traces", MOEB_FIELD(workload.traces), "trace files, mixed by trace_weights"),
      key("workload", "trace_weights", MOEB_FIELD(workload.trace_weights),
          "mixing weights of the traces (empty = equal)", 0),
      key("workload", "order", MOEB_FIELD(workload.order), "replay order", -kInf, kInf,
          {"interleaved", "by_request"}),
      key("workload", "split", MOEB_FIELD(workload.split), "calibration/evaluation split", -kInf,
          kInf, {"fraction", "trace", "oracle"}),
      key("workload", "calibration_fraction", MOEB_FIELD(workload.calibration_fraction),
          "share of requests used for calibration", 0, 1),
      key("workload", "calibration_trace", MOEB_FIELD(workload.calibration_trace),
          "calibration trace (split = \"trace\")"),
      key("workload", "calib_phase", MOEB_FIELD(workload.calib_phase),
          "calibration tokens kept, by phase (split = fraction or oracle)", -kInf, kInf,
          {"all", "prefill", "decode"}),
      key("workload", "eval_phase", MOEB_FIELD(workload.eval_phase),
          "evaluation tokens kept, by phase", -kInf, kInf, {"all", "prefill", "decode"}),
      // [placement]: `strategies` is handled by the loader.
      key("placement", "slots_per_rank", MOEB_FIELD(slots_per_rank),
          "experts a rank can hold, replicas included (0 = ceil(experts / ranks))", 0,
          limits::kMaxSlotsPerRank),
      key("placement", "expert_memory_gib", MOEB_FIELD(expert_memory_gib),
          "alternative budget: memory per rank for experts, GiB (0 = unused)", 0),
      key("placement", "spare_slots_per_rank", MOEB_FIELD(spare_slots_per_rank),
          "relative budget: slots per rank beyond ceil(experts / ranks), rescaled with the "
          "topology (0 = unused)",
          0, limits::kMaxSlotsPerRank),
      key("placement", "replicas_per_layer", MOEB_FIELD(replicas_per_layer),
          "relative budget: extra expert copies per layer over all ranks; slots per rank = "
          "ceil((experts + replicas) / ranks) (0 = unused)",
          0, limits::kMaxExperts),
      key("placement", "expert_dtype", MOEB_FIELD(expert_dtype),
          "dtype converting expert_memory_gib into slots", -kInf, kInf,
          {"fp32", "bf16", "fp16", "fp8"}),
      key("placement", "context_tokens", MOEB_FIELD(context_tokens),
          "memory model: KV tokens per sequence (0 = no memory figure)", 0),
      key("placement", "reserved_memory_gib", MOEB_FIELD(reserved_memory_gib),
          "memory model: GiB per rank kept for non-expert weights and workspace", 0),
      key("placement", "kv_dtype", MOEB_FIELD(kv_dtype), "memory model: KV-cache dtype", -kInf,
          kInf, {"fp32", "bf16", "fp16", "fp8"}),
      // [run]
      key("run", "backend", MOEB_FIELD(backend), "compute backend", -kInf, kInf,
          backend_names()),
      key("run", "dispatch", MOEB_FIELD(dispatch), "dispatch mode", -kInf, kInf,
          dispatch_mode_names()),
      key("run", "dedup", MOEB_FIELD(dedup), "one token copy per destination rank"),
      key("run", "warmup", MOEB_FIELD(warmup), "unmeasured iterations", 0, limits::kMaxIterations),
      key("run", "iterations", MOEB_FIELD(iterations), "measured iterations", 1,
          limits::kMaxIterations),
      key("run", "threads_per_rank", MOEB_FIELD(threads_per_rank), "BLAS threads per rank", 1,
          1024),
      // [timing]
      key("timing", "sync_probe", MOEB_FIELD(sync_probe),
          "barrier before each all-to-all so waiting and transfer are measured apart"),
      // [check]
      key("check", "enabled", MOEB_FIELD(check), "compare sampled outputs with a reference"),
      key("check", "samples_per_rank", MOEB_FIELD(check_samples),
          "sampled tokens per rank per layer", 1, limits::kMaxCheckSamples),
      key("check", "rtol", MOEB_FIELD(check_rtol), "relative tolerance", 0),
      key("check", "atol", MOEB_FIELD(check_atol), "absolute tolerance", 0),
      // [oracle]
      key("oracle", "enabled", MOEB_FIELD(oracle),
          "one more row: optimal fitted on the evaluation batches, and every strategy's share of "
          "its reduction (\"of oracle\")"),
      key("oracle", "objective", MOEB_FIELD(oracle_objective),
          "objective of the oracle and of the figure (auto = layer_time with a system model, "
          "else inter_node_bytes)",
          -kInf, kInf, {"auto", "inter_node_bytes", "total_bytes", "max_rank_load", "layer_time"}),
      // [system]
      key("system", "model", MOEB_FIELD(system_file),
          "cost-model system: preset name or file (\"\" = no prediction)"),
  };
  return keys;
}

#undef MOEB_FIELD

const std::vector<std::string>& config_tables() {
  static const std::vector<std::string> t = {"suite", "model",  "topology", "workload", "placement",
                                             "run",   "timing", "check",    "system",   "strategy", "variant",
                                             "sweep", "oracle"};
  return t;
}

}  // namespace moeb
