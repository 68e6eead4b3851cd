#include "core/reference.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.hpp"

namespace moeb {

void reference_expert_accumulate(const ExpertWeights& w, std::span<const float> x,
                                 float gate_weight, std::span<double> out) {
  const int H = w.hidden, F = w.ffn_hidden;
  if (x.size() != static_cast<size_t>(H) || out.size() != static_cast<size_t>(H))
    throw Error("reference_expert_accumulate: vector size differs from hidden");
  std::vector<double> act(F);
  for (int f = 0; f < F; ++f) {
    double a1 = 0, a3 = 0;
    for (int h = 0; h < H; ++h) {
      a1 += static_cast<double>(x[h]) * w.w1[static_cast<size_t>(h) * F + f];
      a3 += static_cast<double>(x[h]) * w.w3[static_cast<size_t>(h) * F + f];
    }
    const double silu = a1 / (1.0 + std::exp(-a1));
    act[f] = silu * a3;
  }
  for (int h = 0; h < H; ++h) {
    double y = 0;
    for (int f = 0; f < F; ++f) y += act[f] * w.w2[static_cast<size_t>(f) * H + h];
    out[h] += static_cast<double>(gate_weight) * y;
  }
}

const ExpertWeights& ReferenceExperts::get(int layer, int expert) {
  auto key = std::make_pair(layer, expert);
  auto it = cache_.find(key);
  if (it == cache_.end())
    it = cache_.emplace(key, make_expert_weights(seed_, layer, expert, hidden_, ffn_hidden_)).first;
  return it->second;
}

void reference_token_output(ReferenceExperts& experts, int layer,
                            std::span<const int32_t> token_experts,
                            std::span<const float> token_weights, std::span<const float> x,
                            std::span<double> out) {
  std::fill(out.begin(), out.end(), 0.0);
  for (size_t j = 0; j < token_experts.size(); ++j)
    reference_expert_accumulate(experts.get(layer, token_experts[j]), x, token_weights[j], out);
}

}  // namespace moeb
