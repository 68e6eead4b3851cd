// Where a workload's tokens come from: a synthetic generator or one or more trace files. The
// metadata of every token is held in memory (16 bytes a token); the routing is produced or read
// on demand for any list of tokens, so a large trace is never loaded whole.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/stats.hpp"
#include "core/trace.hpp"
#include "workload/synthetic.hpp"

namespace moeb {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  virtual int num_layers() const = 0;
  virtual int num_experts() const = 0;
  virtual int top_k() const = 0;
  // Metadata of every token, indexed by token number.
  virtual const std::vector<TokenMeta>& metas() const = 0;
  virtual const std::vector<std::string>& family_names() const = 0;
  // The listed tokens in the listed order, first `num_layers` layers.
  virtual RoutingTrace fetch(std::span<const int64_t> tokens, int num_layers) const = 0;
  // Layer `layer` of the listed tokens alone: experts (and weights when `weights` is not empty),
  // token-major, top_k each. Returns false, writing nothing, when the source cannot produce one
  // layer without the others (then use fetch); the synthetic source can. Safe to call
  // concurrently.
  virtual bool fetch_layer(std::span<const int64_t> /*tokens*/, int /*layer*/,
                           std::span<int32_t> /*experts*/, std::span<float> /*weights*/) const {
    return false;
  }
  virtual bool layers_alone() const { return false; }
  // True when every token's gate weights are positive and strictly decreasing over its slots
  // (slot 0 the largest), whatever the layer: the synthetic generators' (gate_weights).
  virtual bool ranked_weights() const { return false; }
  virtual std::string source() const = 0;  // "synthetic:zipf", a file path, "a.h5*0.5+b.h5*0.5"
  virtual std::string sha256() const { return ""; }
  virtual int64_t dropped_tokens() const { return 0; }
  int64_t num_tokens() const { return static_cast<int64_t>(metas().size()); }
};

// A synthetic generator over `tokens` tokens.
std::shared_ptr<TokenSource> make_synthetic_source(std::shared_ptr<const SyntheticGenerator> gen,
                                                   int num_layers, int num_experts, int top_k,
                                                   int64_t tokens);

// Statistics of `ordered` tokens of `src`, added batch by batch (batches of batch_tokens).
RoutingStats stats_of_tokens(const TokenSource& src, std::span<const int64_t> ordered,
                             int num_layers, int64_t batch_tokens);

}  // namespace moeb
