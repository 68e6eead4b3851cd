// Deterministic expert weights and layer inputs. Every value is a pure function of
// (seed, layer, expert or token, matrix, element), so replicas of an expert are identical by
// construction and any rank can recompute any expert or input for a reference.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace moeb {

// Which of an expert's SwiGLU matrices: y = (silu(x W1) * (x W3)) W2.
enum class ExpertMatrix : uint32_t { kW1 = 1, kW3 = 3, kW2 = 2 };

// One routed expert's weights, row-major: w1, w3 are [hidden x ffn_hidden], w2 is
// [ffn_hidden x hidden].
struct ExpertWeights {
  int hidden = 0, ffn_hidden = 0;
  std::vector<float> w1, w3, w2;
};

// Fills `out` (rows x cols, row-major) with uniform values in [-a, a), a = sqrt(3 / fan_in)
// (unit variance per output for unit-variance inputs), fan_in = `rows` (the GEMM's K).
void fill_expert_matrix(uint64_t seed, int layer, int expert, ExpertMatrix which, int rows,
                        int cols, std::span<float> out);

ExpertWeights make_expert_weights(uint64_t seed, int layer, int expert, int hidden,
                                  int ffn_hidden);

// The input hidden vector of global token `token` at `layer`: uniform in [-1, 1), `out.size()`
// elements. Independent of batch and rank layout.
void fill_token_input(uint64_t seed, int layer, int64_t token, std::span<float> out);

}  // namespace moeb
