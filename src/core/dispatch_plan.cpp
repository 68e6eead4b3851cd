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
// expert id): experts with rows ascending, then one pass over the pairs placing each received
// row at its expert's next position (rows ascending within an expert).
void fill_expert_view(DispatchPlan& p, std::vector<int64_t>& count) {
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
  const int64_t rows = p.rows_received();
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t q = p.pair_offsets[row]; q < p.pair_offsets[row + 1]; ++q) {
      const int64_t at = count[static_cast<size_t>(p.pair_expert[q])]++;
      p.expert_row[at] = row;
      p.expert_weight[at] = p.pair_weight[q];
    }
}

// Owner side: this rank's tokens counted per destination, then placed at the offsets (a
// counting sort: destinations ascending, tokens ascending within). With dedup slot j starts a
// row only when no earlier slot of the token has the same destination.
void build_send_side(DispatchPlan& p, std::span<const int32_t> dest, int k, bool dedup) {
  const auto starts_row = [dedup](const int32_t* d, int j) {
    if (dedup)
      for (int i = 0; i < j; ++i)
        if (d[i] == d[j]) return false;
    return true;
  };
  p.send_counts.assign(static_cast<size_t>(p.num_ranks), 0);
  for (int64_t t = p.token_begin; t < p.token_end; ++t) {
    const int32_t* d = dest.data() + static_cast<size_t>(t) * k;
    for (int j = 0; j < k; ++j)
      if (starts_row(d, j)) ++p.send_counts[static_cast<size_t>(d[j])];
  }
  exclusive_scan_into(p.send_counts, p.send_offsets);
  p.send_token.resize(static_cast<size_t>(p.rows_sent()));
  // The next free position per destination; send_counts is restored as it fills.
  std::vector<int64_t> at(p.send_offsets.begin(), p.send_offsets.end() - 1);
  for (int64_t t = p.token_begin; t < p.token_end; ++t) {
    const int32_t* d = dest.data() + static_cast<size_t>(t) * k;
    const auto local = static_cast<int32_t>(t - p.token_begin);
    for (int j = 0; j < k; ++j)
      if (starts_row(d, j))
        p.send_token[static_cast<size_t>(at[static_cast<size_t>(d[j])]++)] = local;
  }
}

// Receiver side: owners ascend with token indices, so walking all tokens in order yields the
// rows grouped by source rank, tokens ascending within. A row is one index (its token) plus its
// (expert, weight) pairs; the pairs' experts are counted on the way for the grouped view.
void build_recv_side(DispatchPlan& p, std::span<const int32_t> experts,
                     std::span<const float> weights, std::span<const int32_t> dest, int k,
                     bool dedup, std::vector<int64_t>& expert_count) {
  const int R = p.num_ranks, me = p.me;
  const int64_t T = static_cast<int64_t>(dest.size()) / k;
  p.recv_counts.assign(static_cast<size_t>(R), 0);
  p.recv_token.clear();
  p.pair_expert.clear();
  p.pair_weight.clear();
  p.pair_offsets.assign(1, 0);
  const auto add_pair = [&](size_t idx) {
    const int32_t e = experts[idx];
    if (static_cast<size_t>(e) >= expert_count.size()) expert_count.resize(e + size_t{1}, 0);
    ++expert_count[static_cast<size_t>(e)];
    p.pair_expert.push_back(e);
    p.pair_weight.push_back(weights[idx]);
  };
  int owner = 0;
  int64_t next_begin = token_begin(1, T, R);
  for (int64_t t = 0; t < T; ++t) {
    while (owner + 1 < R && t >= next_begin) next_begin = token_begin(++owner + 1, T, R);
    const size_t base = static_cast<size_t>(t) * k;
    for (int j = 0; j < k; ++j) {
      if (dest[base + j] != me) continue;
      p.recv_token.push_back(t);
      ++p.recv_counts[static_cast<size_t>(owner)];
      add_pair(base + j);
      if (dedup)  // one row carries every slot of the token served here
        for (int i = j + 1; i < k; ++i)
          if (dest[base + i] == me) add_pair(base + i);
      p.pair_offsets.push_back(static_cast<int64_t>(p.pair_expert.size()));
      if (dedup) break;
    }
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
  fill_expert_view(p, count);
}

void build_dispatch_plan(DispatchPlan& p, std::span<const int32_t> experts,
                         std::span<const float> weights, std::span<const int32_t> dest, int top_k,
                         int num_ranks, int me, bool dedup) {
  const int64_t T = static_cast<int64_t>(experts.size()) / top_k;
  p.num_ranks = num_ranks;
  p.me = me;
  p.token_begin = token_begin(me, T, num_ranks);
  p.token_end = token_begin(me + 1, T, num_ranks);
  build_send_side(p, dest, top_k, dedup);
  std::vector<int64_t> expert_count;
  build_recv_side(p, experts, weights, dest, top_k, dedup, expert_count);
  fill_expert_view(p, expert_count);
}

DispatchPlan build_dispatch_plan(std::span<const int32_t> experts, std::span<const float> weights,
                                 std::span<const int32_t> dest, int top_k, int num_ranks, int me,
                                 bool dedup) {
  DispatchPlan p;
  build_dispatch_plan(p, experts, weights, dest, top_k, num_ranks, me, dedup);
  return p;
}

}  // namespace moeb
