// The index math of one rank's dispatch and combine, shared by the CPU and CUDA backends:
// which local tokens go to which rank in what order, which rows arrive from whom and for which
// hosted experts, and the expert-grouped order the grouped FFN consumes. Pure, CPU-tested.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace moeb {

struct DispatchPlan {
  int num_ranks = 0;
  int me = 0;
  int64_t token_begin = 0, token_end = 0;  // tokens this rank owns (global indices)

  // Owner side. Send rows grouped by destination rank (ascending), tokens ascending within.
  std::vector<int64_t> send_counts;   // [R] rows
  std::vector<int64_t> send_offsets;  // [R + 1] exclusive scan of send_counts
  std::vector<int32_t> send_token;    // [rows] local token index (global - token_begin)

  // Receiver side. Rows grouped by source rank (ascending), tokens ascending within.
  std::vector<int64_t> recv_counts;   // [R]
  std::vector<int64_t> recv_offsets;  // [R + 1]
  std::vector<int64_t> recv_token;    // [rows] global token index (for checking)
  // (expert, gate weight) pairs of each received row: pairs of row i are
  // [pair_offsets[i], pair_offsets[i + 1]).
  std::vector<int64_t> pair_offsets;
  std::vector<int32_t> pair_expert;
  std::vector<float> pair_weight;

  // Expert-grouped view for the grouped FFN: experts that received rows (ascending), and for
  // expert i its rows [expert_offsets[i], expert_offsets[i + 1]) of expert_row / expert_weight.
  std::vector<int32_t> experts;
  std::vector<int64_t> expert_offsets;
  std::vector<int64_t> expert_row;    // received row index
  std::vector<float> expert_weight;   // gate weight of that (token, expert) pair

  int64_t rows_sent() const { return send_offsets.empty() ? 0 : send_offsets.back(); }
  int64_t rows_received() const { return recv_offsets.empty() ? 0 : recv_offsets.back(); }
  int64_t rows_computed() const { return static_cast<int64_t>(expert_row.size()); }
};

// Fills the expert-grouped view (experts, expert_offsets, expert_row, expert_weight) of `p` from
// its received rows' (expert, weight) pairs: a counting sort by expert id, rows ascending within.
void build_expert_view(DispatchPlan& p);

// Builds rank `me`'s plan for one layer of a batch from its routing (dest of every (token, j)
// pair, as route_layer computes it for the whole batch). With `dedup` a token goes once to each
// distinct destination rank; without, once per (token, expert) pair.
DispatchPlan build_dispatch_plan(std::span<const int32_t> experts, std::span<const float> weights,
                                 std::span<const int32_t> dest, int top_k, int num_ranks, int me,
                                 bool dedup);

// The same into an existing plan, reusing its vectors' capacity (a rank builds one plan per
// layer of every batch; scratch is kept per thread). No per-row records: the send side is a
// counting sort of this rank's tokens by destination (one pass over its routing collecting each
// token's row destinations, one placing them), the receive side one walk over the batch's
// tokens in order (owners ascend with tokens, so rows come out grouped by source rank) that
// also counts the pairs per expert and notes each pair's row, so the expert-grouped view is one
// pass over the pairs. The per-slot work is branch-free (destinations are random per slot).
void build_dispatch_plan(DispatchPlan& out, std::span<const int32_t> experts,
                         std::span<const float> weights, std::span<const int32_t> dest, int top_k,
                         int num_ranks, int me, bool dedup);

}  // namespace moeb
