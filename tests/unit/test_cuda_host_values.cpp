// The CUDA backend generates expert weights on the device with kernels/cuda/uniform_element.hpp;
// these tests pin that formula to core/expert_weights bit for bit, so a GPU run checks against
// the same reference as the CPU backend.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/expert_weights.hpp"
#include "runtime/cuda/deterministic_values.hpp"

namespace moeb {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

TEST(CudaHostValues, ExpertMatricesMatchCoreBitForBit) {
  const uint64_t seed = 1234;
  const int rows = 24, cols = 40;
  for (ExpertMatrix which : {ExpertMatrix::kW1, ExpertMatrix::kW3, ExpertMatrix::kW2})
    for (int layer : {0, 5})
      for (int expert : {0, 17}) {
        std::vector<float> core(static_cast<size_t>(rows) * cols);
        fill_expert_matrix(seed, layer, expert, which, rows, cols, core);
        const uint64_t base = cudaval::expert_matrix_base(seed, layer, expert, which);
        const float scale = cudaval::expert_matrix_scale(rows);
        for (size_t i = 0; i < core.size(); ++i)
          ASSERT_EQ(bits(cudaval::uniform_element(base, i, scale)), bits(core[i]))
              << "matrix " << static_cast<int>(which) << " layer " << layer << " expert " << expert
              << " element " << i;
      }
}

TEST(CudaHostValues, TokenInputsMatchCoreBitForBit) {
  std::vector<float> core(64);
  for (int64_t token : {int64_t{0}, int64_t{7}, (int64_t{3} << 32) + 5}) {
    fill_token_input(99, 2, token, core);
    const uint64_t base = cudaval::token_input_base(99, 2, token);
    for (size_t i = 0; i < core.size(); ++i)
      ASSERT_EQ(bits(cudaval::uniform_element(base, i, 1.0f)), bits(core[i])) << "element " << i;
  }
}

TEST(CudaHostValues, FormulaIsConstexpr) {
  // The kernels call it from device code through --expt-relaxed-constexpr.
  constexpr float v = cudaval::uniform_element(42, 3, 0.5f);
  static_assert(v >= -0.5f && v < 0.5f);
  SUCCEED();
}

}  // namespace
}  // namespace moeb
