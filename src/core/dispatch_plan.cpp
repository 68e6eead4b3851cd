#include "core/dispatch_plan.hpp"

#include <algorithm>

#include "core/routing.hpp"

namespace moeb {

namespace {
void exclusive_scan_into(const std::vector<int64_t>& counts, std::vector<int64_t>& offsets) {
  offsets.resize(counts.size() + 1);
  offsets[0] = 0;
  for (size_t i = 0; i < counts.size(); ++i) offsets[i + 1] = offsets[i] + counts[i];
}

// The expert-grouped view from per-expert pair counts (`count[e]` pairs of expert e, indexed by
// expert id): experts with rows ascending, then one pass over the pairs placing each pair's row
// at its expert's next position (rows ascending within an expert). `pair_row[q]` is the received
// row of pair q.
void fill_expert_view(DispatchPlan& p, std::vector<int64_t>& count,
                      const std::vector<int64_t>& pair_row) {
  p.experts.clear();
  p.expert_offsets.assign(1, 0);
  for (size_t e = 0; e < count.size(); ++e) {
    if (count[e] == 0) continue;
    const int64_t begin = p.expert_offsets.back();
    p.experts.push_back(static_cast<int32_t>(e));
    p.expert_offsets.push_back(begin + count[e]);
    count[e] = begin;  // now the next free position of expert e
  }
  const size_t pairs = p.pair_expert.size();
  p.expert_row.resize(pairs);
  p.expert_weight.resize(pairs);
  for (size_t q = 0; q < pairs; ++q) {
    const int64_t at = count[static_cast<size_t>(p.pair_expert[q])]++;
    p.expert_row[at] = pair_row[q];
    p.expert_weight[at] = p.pair_weight[q];
  }
}

// Row of every pair of `p` (pair_offsets expanded), into `pair_row`.
void pair_rows(const DispatchPlan& p, std::vector<int64_t>& pair_row) {
  pair_row.resize(p.pair_expert.size());
  for (size_t row = 0; row + 1 < p.pair_offsets.size(); ++row)
    std::fill(pair_row.begin() + p.pair_offsets[row], pair_row.begin() + p.pair_offsets[row + 1],
              static_cast<int64_t>(row));
}

// The destinations of one token's rows (`d`: its k slots' destinations) into `out`, counted
// into `count`; returns how many. Without dedup every slot is a row; with dedup a slot starts a
// row when no earlier slot has its destination. Branch-free (a random destination compare
// mispredicts about every other slot): a bit set of seen ranks when there are at most 64, else
// a compare with the earlier slots.
int token_rows(const int32_t* d, int k, bool dedup, int num_ranks, int32_t* out,
               int64_t* count) {
  int n = 0;
  uint64_t seen = 0;
  for (int j = 0; j < k; ++j) {
    bool dup = false;
    if (dedup && num_ranks <= 64) {
      dup = (seen >> d[j]) & 1;
      seen |= uint64_t{1} << d[j];
    } else if (dedup) {
      for (int i = 0; i < j; ++i) dup |= d[i] == d[j];
    }
    out[n] = d[j];
    count[d[j]] += !dup;
    n += !dup;
  }
  return n;
}

// Owner side: this rank's tokens' row destinations (into `rows`, k per token, and their number
// per token into `rows_of`) counted per destination, then placed at the offsets (a counting
// sort: destinations ascending, tokens ascending within).
void build_send_side(DispatchPlan& p, std::span<const int32_t> dest, int k, bool dedup,
                     std::vector<int32_t>& rows, std::vector<int32_t>& rows_of) {
  const int64_t owned = p.token_end - p.token_begin;
  p.send_counts.assign(static_cast<size_t>(p.num_ranks), 0);
  rows.resize(static_cast<size_t>(owned) * k);
  rows_of.resize(static_cast<size_t>(owned));
  for (int64_t i = 0; i < owned; ++i)
    rows_of[static_cast<size_t>(i)] =
        token_rows(dest.data() + static_cast<size_t>(p.token_begin + i) * k, k, dedup, p.num_ranks,
                   rows.data() + static_cast<size_t>(i) * k, p.send_counts.data());
  exclusive_scan_into(p.send_counts, p.send_offsets);
  p.send_token.resize(static_cast<size_t>(p.rows_sent()));
  // The next free position per destination.
  std::vector<int64_t> at(p.send_offsets.begin(), p.send_offsets.end() - 1);
  for (int64_t i = 0; i < owned; ++i) {
    const int32_t* r = rows.data() + static_cast<size_t>(i) * k;
    for (int q = 0; q < rows_of[static_cast<size_t>(i)]; ++q)
      p.send_token[static_cast<size_t>(at[static_cast<size_t>(r[q])]++)] = static_cast<int32_t>(i);
  }
}

// Receiver side, dedup: owners ascend with token indices, so walking all tokens in order yields
// the rows grouped by source rank, tokens ascending within. A token with any slot served here is
// one row: its index plus the (expert, weight) pairs of those slots, written branch-free (every
// slot is stored at the next free pair and kept only when served here; the vectors are sized
// for the worst case and trimmed after), their experts counted on the way for the grouped view.
void build_recv_rows_dedup(DispatchPlan& p, std::span<const int32_t> experts,
                           std::span<const float> weights, std::span<const int32_t> dest, int k,
                           std::vector<int64_t>& expert_count, std::vector<int64_t>& pair_row) {
  const int R = p.num_ranks, me = p.me;
  const int64_t T = static_cast<int64_t>(dest.size()) / k;
  pair_row.resize(dest.size());
  p.recv_token.resize(static_cast<size_t>(T));
  p.pair_offsets.resize(static_cast<size_t>(T) + 1);
  p.pair_expert.resize(dest.size());
  p.pair_weight.resize(dest.size());
  int64_t* token = p.recv_token.data();
  int64_t* offsets = p.pair_offsets.data();
  int32_t* pe = p.pair_expert.data();
  float* pw = p.pair_weight.data();
  int64_t* ec = expert_count.data();
  int64_t* pr = pair_row.data();
  int64_t rows = 0, pairs = 0;
  offsets[0] = 0;
  for (int owner = 0; owner < R; ++owner) {
    const int64_t rows_before = rows;
    for (int64_t t = token_begin(owner, T, R); t < token_begin(owner + 1, T, R); ++t) {
      const size_t base = static_cast<size_t>(t) * k;
      const int64_t first = pairs;
      for (int j = 0; j < k; ++j) {
        const bool hit = dest[base + j] == me;
        pe[pairs] = experts[base + j];
        pw[pairs] = weights[base + j];
        pr[pairs] = rows;
        ec[experts[base + j]] += hit;
        pairs += hit;
      }
      token[rows] = t;
      offsets[rows + 1] = pairs;
      rows += pairs != first;
    }
    p.recv_counts[static_cast<size_t>(owner)] = rows - rows_before;
  }
  p.recv_token.resize(static_cast<size_t>(rows));
  p.pair_offsets.resize(static_cast<size_t>(rows) + 1);
  p.pair_expert.resize(static_cast<size_t>(pairs));
  p.pair_weight.resize(static_cast<size_t>(pairs));
  pair_row.resize(static_cast<size_t>(pairs));
}

// Receiver side without dedup: one row per (token, slot) served here, same order.
void build_recv_rows_per_pair(DispatchPlan& p, std::span<const int32_t> experts,
                              std::span<const float> weights, std::span<const int32_t> dest,
                              int k, std::vector<int64_t>& expert_count) {
  const int R = p.num_ranks, me = p.me;
  const int64_t T = static_cast<int64_t>(dest.size()) / k;
  p.recv_token.clear();
  p.pair_expert.clear();
  p.pair_weight.clear();
  p.pair_offsets.assign(1, 0);
  for (int owner = 0; owner < R; ++owner)
    for (int64_t t = token_begin(owner, T, R); t < token_begin(owner + 1, T, R); ++t)
      for (int j = 0; j < k; ++j) {
        const size_t idx = static_cast<size_t>(t) * k + j;
        if (dest[idx] != me) continue;
        p.recv_token.push_back(t);
        ++p.recv_counts[static_cast<size_t>(owner)];
        ++expert_count[static_cast<size_t>(experts[idx])];
        p.pair_expert.push_back(experts[idx]);
        p.pair_weight.push_back(weights[idx]);
        p.pair_offsets.push_back(static_cast<int64_t>(p.pair_expert.size()));
      }
}

void build_recv_side(DispatchPlan& p, std::span<const int32_t> experts,
                     std::span<const float> weights, std::span<const int32_t> dest, int k,
                     bool dedup, std::vector<int64_t>& expert_count,
                     std::vector<int64_t>& pair_row) {
  p.recv_counts.assign(static_cast<size_t>(p.num_ranks), 0);
  int32_t max_expert = -1;  // a plain max (vectorized); ids are >= 0
  for (int32_t e : experts) max_expert = std::max(max_expert, e);
  expert_count.assign(static_cast<size_t>(max_expert + 1), 0);
  if (dedup) {
    build_recv_rows_dedup(p, experts, weights, dest, k, expert_count, pair_row);
  } else {
    build_recv_rows_per_pair(p, experts, weights, dest, k, expert_count);
    pair_rows(p, pair_row);
  }
  exclusive_scan_into(p.recv_counts, p.recv_offsets);
}
}  // namespace

void build_expert_view(DispatchPlan& p) {
  std::vector<int64_t> count;
  for (int32_t e : p.pair_expert) {
    if (static_cast<size_t>(e) >= count.size()) count.resize(e + size_t{1}, 0);
    ++count[static_cast<size_t>(e)];
  }
  std::vector<int64_t> pair_row;
  pair_rows(p, pair_row);
  fill_expert_view(p, count, pair_row);
}

void build_dispatch_plan(DispatchPlan& p, std::span<const int32_t> experts,
                         std::span<const float> weights, std::span<const int32_t> dest, int top_k,
                         int num_ranks, int me, bool dedup) {
  const int64_t T = static_cast<int64_t>(experts.size()) / top_k;
  p.num_ranks = num_ranks;
  p.me = me;
  p.token_begin = token_begin(me, T, num_ranks);
  p.token_end = token_begin(me + 1, T, num_ranks);
  // Scratch kept per thread, so a rank's plan per layer does not allocate once warm.
  thread_local std::vector<int32_t> row_dest, rows_of;
  thread_local std::vector<int64_t> expert_count, pair_row;
  build_send_side(p, dest, top_k, dedup, row_dest, rows_of);
  build_recv_side(p, experts, weights, dest, top_k, dedup, expert_count, pair_row);
  fill_expert_view(p, expert_count, pair_row);
}

DispatchPlan build_dispatch_plan(std::span<const int32_t> experts, std::span<const float> weights,
                                 std::span<const int32_t> dest, int top_k, int num_ranks, int me,
                                 bool dedup) {
  DispatchPlan p;
  build_dispatch_plan(p, experts, weights, dest, top_k, num_ranks, me, dedup);
  return p;
}

}  // namespace moeb
