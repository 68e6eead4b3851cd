#include "runtime/cuda/ffn_plan.hpp"

#include <limits>
#include <string>

#include "core/error.hpp"

namespace moeb {

namespace {

int checked_int(int64_t v, const char* what) {
  if (v < 0 || v > std::numeric_limits<int>::max())
    throw Error(std::string("cuda backend: ") + what + " = " + std::to_string(v) +
                " does not fit the int of a cuBLAS GEMM dimension");
  return static_cast<int>(v);
}

int32_t checked_i32(int64_t v, const char* what) {
  if (v < 0 || v > std::numeric_limits<int32_t>::max())
    throw Error(std::string("cuda backend: ") + what + " index " + std::to_string(v) +
                " exceeds int32");
  return static_cast<int32_t>(v);
}

}  // namespace

FfnGemms build_ffn_gemms(const DispatchPlan& plan, const std::map<int, int>& slot_of, int hidden,
                         int ffn_hidden) {
  const int64_t H = hidden, F = ffn_hidden;
  FfnGemms g;
  for (size_t i = 0; i < plan.experts.size(); ++i) {
    const int64_t begin = plan.expert_offsets[i];
    const int64_t rows = plan.expert_offsets[i + 1] - begin;
    if (rows == 0) continue;
    const int e = plan.experts[i];
    const auto it = slot_of.find(e);
    if (it == slot_of.end())
      throw Error("cuda backend: expert " + std::to_string(e) +
                  " received rows but is not loaded on this rank");
    const int64_t slot = it->second;
    GemmProblem up;
    up.m = checked_int(2 * F, "2 x ffn_hidden");
    up.n = checked_int(rows, "rows of one expert");
    up.k = checked_int(H, "hidden");
    up.a_offset = slot * H * 2 * F;
    up.b_offset = begin * H;
    up.c_offset = begin * 2 * F;
    up.lda = up.m;
    up.ldb = up.k;
    up.ldc = up.m;
    up.expert = e;
    g.up.push_back(up);
    GemmProblem down;
    down.m = checked_int(H, "hidden");
    down.n = up.n;
    down.k = checked_int(F, "ffn_hidden");
    down.a_offset = slot * F * H;
    down.b_offset = begin * F;
    down.c_offset = begin * H;
    down.lda = down.m;
    down.ldb = down.k;
    down.ldc = down.m;
    down.expert = e;
    g.down.push_back(down);
  }
  return g;
}

CsrGather build_expert_combine(const DispatchPlan& plan) {
  // Position of each pair in the expert-grouped order: the plan's counting sort is stable over
  // rows, so replaying it pair by pair gives the same positions.
  std::map<int32_t, int64_t> next;
  for (size_t i = 0; i < plan.experts.size(); ++i) next[plan.experts[i]] = plan.expert_offsets[i];
  CsrGather c;
  const int64_t rows = plan.rows_received();
  c.offsets.assign(1, 0);
  c.index.reserve(plan.pair_expert.size());
  c.weight.reserve(plan.pair_expert.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t q = plan.pair_offsets[r]; q < plan.pair_offsets[r + 1]; ++q) {
      const auto it = next.find(plan.pair_expert[q]);
      if (it == next.end()) throw Error("cuda backend: pair expert missing from the grouped view");
      const int64_t pos = it->second++;
      if (plan.expert_row[pos] != r)
        throw Error("cuda backend: dispatch plan's grouped order is not stable over rows");
      c.index.push_back(checked_i32(pos, "grouped row"));
      c.weight.push_back(plan.expert_weight[pos]);
    }
    c.offsets.push_back(static_cast<int64_t>(c.index.size()));
  }
  return c;
}

CsrGather invert_rows(std::span<const int32_t> target_of_row, int64_t num_targets) {
  CsrGather c;
  c.offsets.assign(static_cast<size_t>(num_targets) + 1, 0);
  for (int32_t t : target_of_row) {
    if (t < 0 || t >= num_targets)
      throw Error("cuda backend: row target " + std::to_string(t) + " outside the " +
                  std::to_string(num_targets) + " rows this rank holds");
    ++c.offsets[static_cast<size_t>(t) + 1];
  }
  for (int64_t t = 0; t < num_targets; ++t) c.offsets[t + 1] += c.offsets[t];
  c.index.assign(target_of_row.size(), 0);
  std::vector<int64_t> fill(c.offsets.begin(), c.offsets.end() - 1);
  for (size_t i = 0; i < target_of_row.size(); ++i)
    c.index[fill[target_of_row[i]]++] = checked_i32(static_cast<int64_t>(i), "combine row");
  return c;
}

CsrGather build_token_combine(const DispatchPlan& plan) {
  return invert_rows(plan.send_token, plan.token_end - plan.token_begin);
}

std::vector<int32_t> expert_rows_i32(const DispatchPlan& plan) {
  std::vector<int32_t> out(plan.expert_row.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = checked_i32(plan.expert_row[i], "received row");
  return out;
}

}  // namespace moeb
