// The single-rank reference of one MoE layer for one token: a naive, double-precision SwiGLU
// sum over the token's top-k experts with the deterministic weights of core/expert_weights.
// Slow and obvious on purpose; the runtime's correctness check and the kernel tests use it.
#pragma once

#include <cstdint>
#include <map>
#include <span>

#include "core/expert_weights.hpp"

namespace moeb {

// y = silu(x W1) * (x W3), then y W2; accumulates gate_weight * result into `out` (hidden).
void reference_expert_accumulate(const ExpertWeights& w, std::span<const float> x,
                                 float gate_weight, std::span<double> out);

// Generates (and caches) expert weights on demand; one cache per (seed, dimensions).
class ReferenceExperts {
 public:
  ReferenceExperts(uint64_t seed, int hidden, int ffn_hidden)
      : seed_(seed), hidden_(hidden), ffn_hidden_(ffn_hidden) {}
  const ExpertWeights& get(int layer, int expert);
  int hidden() const { return hidden_; }

 private:
  uint64_t seed_;
  int hidden_, ffn_hidden_;
  std::map<std::pair<int, int>, ExpertWeights> cache_;
};

// Layer output of one token: sum_j weights[j] * FFN_{experts[j]}(x). `out` has hidden elements.
void reference_token_output(ReferenceExperts& experts, int layer,
                            std::span<const int32_t> token_experts,
                            std::span<const float> token_weights, std::span<const float> x,
                            std::span<double> out);

}  // namespace moeb
