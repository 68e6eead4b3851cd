// The memory model: per rank, the routed experts' weights it holds (every layer, replicas
// included) plus the KV cache of the sequences it serves must fit in the device memory. Fewer
// replicas leave more memory for KV cache, hence a larger batch: the mechanism by which CRAFT's
// savings become throughput (arXiv 2603.28768). Pure; docs/COST_MODEL.md ("Memory") states the
// formulas.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/cost_model.hpp"
#include "core/model.hpp"
#include "core/placement.hpp"

namespace moeb {

// KV-cache bytes one token occupies over all attention layers: MLA (kv_lora_rank > 0) caches
// kv_lora_rank + qk_rope_head_dim elements per layer, otherwise 2 * num_kv_heads * head_dim
// (K and V). 0 when the model has no attention dimensions (custom models).
int64_t kv_bytes_per_token(const ModelSpec& m, int kv_dtype_bytes);

// Routed-expert slots each rank holds, summed over layers (replicas included): [R].
std::vector<int64_t> expert_slots_per_rank(const Placement& p);

struct MemorySpec {
  double device_bytes = 0;         // memory of one rank's device (system [device] memory_bytes)
  double reserved_bytes = 0;       // per rank: non-expert weights, activations, workspace (ours)
  int64_t expert_bytes = 0;        // one routed expert's weights (expert_bytes(model, dtype))
  int64_t kv_bytes_per_token = 0;  // kv_bytes_per_token(model, kv dtype)
  int64_t context_tokens = 0;      // KV tokens held per sequence (prompt + generated)
  // Expert memory per rank is the placement's slots times this (ours: a run simulating fewer
  // layers than the model has extrapolates its expert memory to all of them).
  double expert_layer_scale = 1.0;
};

struct MemoryFit {
  std::vector<double> expert_bytes;  // [R] routed-expert weights held
  std::vector<double> kv_bytes;      // [R] left for KV cache (may be negative: does not fit)
  int64_t sequences_per_rank = 0;    // min over ranks of floor(kv_bytes / (kv * context))
  int binding_rank = -1;             // the rank that sets it (most expert memory)
  int64_t batch_tokens = 0;          // tokens per decode step: sequences_per_rank * R
  bool weights_fit = false;          // experts + reserved fit on every rank
};

// The largest decode batch every rank can hold (data-parallel attention: each rank serves its
// own sequences). Throws ConfigError naming `where` when a figure is missing or negative.
MemoryFit fit_batch(const Placement& p, const MemorySpec& spec, const std::string& where);

// One layer's prediction at `factor` times the simulated batch: bytes, rows and tokens scale,
// messages and the expert weights read stay (ours: the same experts are touched). Used for the
// throughput at the memory model's batch.
LayerPrediction predict_layer_scaled(const SystemModel& sys, const ModelSpec& m,
                                     const Topology& topo, LayerCostInput in, double factor);

// Tokens per second: batch_tokens / sum of the layers' predicted seconds (0 when no time).
double predicted_throughput(int64_t batch_tokens, const std::vector<LayerPrediction>& layers);

// The run's memory settings ([placement] context_tokens, reserved_memory_gib, kv_dtype and
// expert_dtype).
struct MemoryConfig {
  int64_t context_tokens = 0;  // 0 = no memory figure
  double reserved_gib = 0;
  std::string kv_dtype = "bf16";
  std::string expert_dtype = "bf16";
  int full_layers = 0;  // MoE layers of the full model (0 = the simulated ones)
};
// The MemorySpec of a model on a system, or nullopt when there is nothing to compute: no
// context_tokens, no device memory in the system file, or no attention dimensions.
std::optional<MemorySpec> memory_spec(const ModelSpec& m, const SystemModel& sys,
                                      const MemoryConfig& c);

// Result notes of the memory model: the batch that fits, the expert memory of the binding
// rank, and the predicted throughput at that batch and at the simulated one (tokens/s).
std::vector<std::pair<std::string, std::string>> memory_notes(const MemoryFit& fit,
                                                              double throughput_at_fit,
                                                              double throughput_simulated);

struct RunConfig;
// The memory settings of a resolved run configuration (full_layers from its model preset).
MemoryConfig memory_config(const RunConfig& cfg);

// Predicted throughputs per measured batch: at the memory model's batch (the layers' scaled
// predictions) and at the batch as simulated or run.
struct MemoryThroughput {
  std::vector<double> at_fit, measured_batch;
  void add(const MemoryFit& fit, int64_t batch_tokens, const std::vector<LayerPrediction>& scaled,
           const std::vector<LayerPrediction>& as_is);
};
// memory_notes with the upper median over batches of each throughput; empty without batches.
std::vector<std::pair<std::string, std::string>> memory_notes(const MemoryFit& fit,
                                                              const MemoryThroughput& t);

}  // namespace moeb
