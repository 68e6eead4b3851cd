// A workload as the run sees it: calibration statistics for the strategies, and the evaluation
// part as a sequence of batches (streamed; never the whole trace in memory when it is large).
// Implemented by the workload layer for synthetic generators and trace replay alike.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "core/config.hpp"
#include "core/stats.hpp"
#include "core/trace.hpp"

namespace moeb {

class Workload {
 public:
  virtual ~Workload() = default;
  // Statistics of the calibration part (or of the evaluation part when split = oracle).
  virtual const RoutingStats& calibration_stats() const = 0;
  // Evaluation batches, each `batch_tokens` tokens (the last may be shorter), in replay order.
  virtual int64_t num_batches() const = 0;
  // Batch i of the evaluation part (deterministic; any rank gets the same batch).
  virtual RoutingTrace batch(int64_t i) const = 0;
  // Tokens in batch i.
  virtual int64_t batch_num_tokens(int64_t i) const { return batch(i).num_tokens(); }
  // True when batch_layer produces one layer of a batch without the others (synthetic sources).
  virtual bool layers_alone() const { return false; }
  // True when every token's gate weights are positive and strictly decreasing over its slots
  // (TokenSource::ranked_weights: synthetic workloads).
  virtual bool ranked_weights() const { return false; }
  // Layer `layer` of batch i alone (experts, and weights when not empty; token-major, the
  // tokens of batch(i) in its order). Returns false, writing nothing, when !layers_alone().
  // Safe to call concurrently.
  virtual bool batch_layer(int64_t /*i*/, int /*layer*/, std::span<int32_t> /*experts*/,
                           std::span<float> /*weights*/) const {
    return false;
  }
  // Provenance: trace_source, trace_sha256, split, calibration_tokens, evaluation_tokens,
  // oracle, dropped_tokens ... (stored as root attributes of the results file).
  virtual std::map<std::string, std::string> provenance() const = 0;
  virtual bool oracle() const { return false; }
};

// Builds the workload a config asks for (synthetic generator or trace replay, split, batching).
// Throws ConfigError / InputError with a one-line message on bad input. `model` carries the
// dimensions actually used (num_layers may be fewer than the preset's).
std::unique_ptr<Workload> open_workload(const RunConfig& cfg, const ModelSpec& model);

}  // namespace moeb
