// Host-side index math of the CUDA backend's grouped expert FFN and combine, from a core
// DispatchPlan. Pure (no CUDA): the backend uploads these arrays; tests/unit/test_cuda_host_*
// checks them on CPU against the plan's definitions.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "core/dispatch_plan.hpp"

namespace moeb {

// One column-major GEMM C[m x n] = A[m x k] * B[k x n] (cuBLAS convention, no transposes) with
// operands given as element offsets from three base pointers. Row-major activations X[n x K]
// times row-major weights W[K x M] are exactly this with A = W (lda = M), B = X (ldb = K),
// C = Y (ldc = M).
struct GemmProblem {
  int m = 0, n = 0, k = 0;
  int64_t a_offset = 0, b_offset = 0, c_offset = 0;  // elements
  int lda = 0, ldb = 0, ldc = 0;
  int expert = -1;  // for messages
};

// The two GEMM layers of the grouped SwiGLU FFN over the expert-grouped rows of `plan`:
//  up:   H13[rows x 2F] = Xg[rows x H] * W13_e[H x 2F]   (W1 | W3 fused per row)
//  down: Yg[rows x H]   = A[rows x F]   * W2_e[F x H]
// Expert e's weights live at slot slot_of.at(e) (W13 slot stride H*2F, W2 slot stride F*H).
// Experts with no rows get no problem. Throws Error when an expert of the plan has no slot, or
// when a dimension exceeds int.
struct FfnGemms {
  std::vector<GemmProblem> up, down;
};
FfnGemms build_ffn_gemms(const DispatchPlan& plan, const std::map<int, int>& slot_of, int hidden,
                         int ffn_hidden);

// Compressed rows: entries [offsets[r], offsets[r + 1]) of index/weight belong to output row r.
struct CsrGather {
  std::vector<int64_t> offsets;  // [rows + 1]
  std::vector<int32_t> index;    // source row of each entry
  std::vector<float> weight;     // gate weight of each entry (empty: all 1)
};

// Expert side of the combine: received row r = sum over its (expert, weight) pairs of
// weight * Yg[position of that pair in the expert-grouped order]. Entries of a row appear in
// pair order (plan.pair_offsets), so the sum is deterministic.
CsrGather build_expert_combine(const DispatchPlan& plan);

// Inverts a row -> target map: target t gathers the rows i with target_of_row[i] == t, in row
// order. Used for unpermute (targets = held rows, rows = plan.send_token: a token's partial
// results in destination-rank order) and for the hierarchical relay's return (targets = owned
// tokens, rows = HierPlan::relay_send_token). Targets that sent nothing get an empty range.
// Throws Error when a target is outside [0, num_targets).
CsrGather invert_rows(std::span<const int32_t> target_of_row, int64_t num_targets);

// invert_rows(plan.send_token, owned tokens of the plan): the flat unpermute.
CsrGather build_token_combine(const DispatchPlan& plan);

// int32 copy of plan.expert_row (the gather feeding the up GEMM); throws Error beyond int32.
std::vector<int32_t> expert_rows_i32(const DispatchPlan& plan);

}  // namespace moeb
