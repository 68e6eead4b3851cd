// A small in-memory Workload for runtime tests, built from core types only: random top-k
// routing (distinct experts, gate weights summing to 1) from a seed, cut into fixed batches.
// Shared by the MPI tests and the runtime unit tests.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "core/stats.hpp"
#include "core/trace.hpp"
#include "workload/workload.hpp"

namespace moeb::testing {

// num_tokens tokens, each with top_k distinct experts drawn with a mild skew toward low ids
// (so placements see uneven loads), weights normalized to sum 1.
inline RoutingTrace make_random_trace(int num_layers, int top_k, int num_experts,
                                      int64_t num_tokens, uint64_t seed) {
  RoutingTrace tr(num_layers, top_k, num_experts, num_tokens);
  tr.source = "test:random";
  Rng rng(seed);
  std::vector<int32_t> ids(static_cast<size_t>(num_experts));
  for (int l = 0; l < num_layers; ++l)
    for (int64_t t = 0; t < num_tokens; ++t) {
      std::iota(ids.begin(), ids.end(), 0);
      auto e = tr.experts(l, t);
      auto w = tr.weights(l, t);
      float sum = 0;
      for (int j = 0; j < top_k; ++j) {
        // Skewed draw among the remaining ids: min of two uniform picks.
        const size_t left = ids.size() - static_cast<size_t>(j);
        size_t pick = std::min(rng.below(left), rng.below(left));
        e[j] = ids[static_cast<size_t>(j) + pick];
        std::swap(ids[static_cast<size_t>(j)], ids[static_cast<size_t>(j) + pick]);
        w[j] = static_cast<float>(0.1 + rng.uniform());
        sum += w[j];
      }
      for (int j = 0; j < top_k; ++j) w[j] /= sum;
    }
  return tr;
}

class InMemoryWorkload final : public Workload {
 public:
  InMemoryWorkload(RoutingTrace trace, int64_t batch_tokens)
      : trace_(std::move(trace)), batch_tokens_(batch_tokens),
        stats_(trace_.num_layers(), trace_.num_experts(), trace_.family_names) {
    stats_.add_batch(trace_);
  }
  const RoutingStats& calibration_stats() const override { return stats_; }
  int64_t num_batches() const override {
    return (trace_.num_tokens() + batch_tokens_ - 1) / batch_tokens_;
  }
  RoutingTrace batch(int64_t i) const override {
    const int64_t b = i * batch_tokens_;
    return trace_.slice(b, std::min(b + batch_tokens_, trace_.num_tokens()));
  }
  std::map<std::string, std::string> provenance() const override {
    return {{"trace_source", trace_.source}};
  }

 private:
  RoutingTrace trace_;
  int64_t batch_tokens_;
  RoutingStats stats_;
};

}  // namespace moeb::testing
