#include "core/expert_weights.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace moeb {

namespace {
// Stream tags keep weights and inputs apart even for equal counters.
constexpr uint64_t kWeightTag = 0x5745494748545331ULL;  // "WEIGHTS1"
constexpr uint64_t kInputTag = 0x494E505554533031ULL;   // "INPUTS01"

// Fills `out` from one base hash: element i is splitmix64(base + i) mapped to [-scale, scale).
// One hash per element keeps generation cheap for large experts.
void fill_uniform(uint64_t base, float scale, std::span<float> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    const double u = unit_double(splitmix64(base + i));  // [0, 1)
    out[i] = static_cast<float>((2.0 * u - 1.0) * scale);
  }
}
}  // namespace

void fill_expert_matrix(uint64_t seed, int layer, int expert, ExpertMatrix which, int rows,
                        int cols, std::span<float> out) {
  if (rows <= 0 || cols <= 0 || out.size() != static_cast<size_t>(rows) * cols)
    throw Error("fill_expert_matrix: output size does not match rows x cols");
  const uint64_t base = hash_counters(seed, kWeightTag, static_cast<uint64_t>(layer),
                                      static_cast<uint64_t>(expert), static_cast<uint64_t>(which));
  fill_uniform(base, static_cast<float>(std::sqrt(3.0 / rows)), out);
}

ExpertWeights make_expert_weights(uint64_t seed, int layer, int expert, int hidden,
                                  int ffn_hidden) {
  ExpertWeights w;
  w.hidden = hidden;
  w.ffn_hidden = ffn_hidden;
  const size_t n = static_cast<size_t>(hidden) * ffn_hidden;
  w.w1.resize(n);
  w.w3.resize(n);
  w.w2.resize(n);
  fill_expert_matrix(seed, layer, expert, ExpertMatrix::kW1, hidden, ffn_hidden, w.w1);
  fill_expert_matrix(seed, layer, expert, ExpertMatrix::kW3, hidden, ffn_hidden, w.w3);
  fill_expert_matrix(seed, layer, expert, ExpertMatrix::kW2, ffn_hidden, hidden, w.w2);
  return w;
}

void fill_token_input(uint64_t seed, int layer, int64_t token, std::span<float> out) {
  const uint64_t base = hash_counters(seed, kInputTag, static_cast<uint64_t>(layer),
                                      static_cast<uint64_t>(token));
  fill_uniform(base, 1.0f, out);
}

}  // namespace moeb
