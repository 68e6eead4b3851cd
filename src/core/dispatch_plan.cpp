#include "core/dispatch_plan.hpp"

#include <algorithm>

#include "core/routing.hpp"

namespace moeb {

namespace {
void exclusive_scan_into(const std::vector<int64_t>& counts, std::vector<int64_t>& offsets) {
  offsets.assign(counts.size() + 1, 0);
  for (size_t i = 0; i < counts.size(); ++i) offsets[i + 1] = offsets[i] + counts[i];
}
}  // namespace

void build_expert_view(DispatchPlan& p) {
  int max_e = -1;
  for (int32_t e : p.pair_expert) max_e = std::max(max_e, static_cast<int>(e));
  std::vector<int64_t> count(static_cast<size_t>(max_e + 1), 0), start(count.size(), 0);
  for (int32_t e : p.pair_expert) ++count[e];
  p.experts.clear();
  p.expert_offsets.assign(1, 0);
  for (size_t e = 0; e < count.size(); ++e) {
    if (count[e] == 0) continue;
    start[e] = p.expert_offsets.back();
    p.experts.push_back(static_cast<int32_t>(e));
    p.expert_offsets.push_back(p.expert_offsets.back() + count[e]);
  }
  p.expert_row.assign(p.pair_expert.size(), 0);
  p.expert_weight.assign(p.pair_expert.size(), 0.0f);
  for (int64_t row = 0; row < p.rows_received(); ++row)
    for (int64_t q = p.pair_offsets[row]; q < p.pair_offsets[row + 1]; ++q) {
      const int64_t at = start[p.pair_expert[q]]++;
      p.expert_row[at] = row;
      p.expert_weight[at] = p.pair_weight[q];
    }
}

DispatchPlan build_dispatch_plan(std::span<const int32_t> experts, std::span<const float> weights,
                                 std::span<const int32_t> dest, int top_k, int num_ranks, int me,
                                 bool dedup) {
  const int R = num_ranks;
  const int64_t T = static_cast<int64_t>(experts.size()) / top_k;
  DispatchPlan p;
  p.num_ranks = R;
  p.me = me;
  p.token_begin = token_begin(me, T, R);
  p.token_end = token_begin(me + 1, T, R);
  p.send_counts.assign(R, 0);
  p.recv_counts.assign(R, 0);

  // Pass 1: counts. Pass 2: fill at offsets. A token's rows to one rank are either one (dedup)
  // or one per pair; `groups` lists, per row, the k-slots it carries.
  std::vector<std::vector<int64_t>> send_lists(R);
  struct RecvRow {
    int64_t token;
    int j_first;
    int j_count;
    int slots[64];
  };
  std::vector<std::vector<RecvRow>> recv_lists(R);
  for (int64_t t = 0; t < T; ++t) {
    const int owner = owner_of_token(t, T, R);
    const bool mine_out = owner == me;
    bool any_in = false;
    for (int j = 0; j < top_k; ++j)
      if (dest[static_cast<size_t>(t) * top_k + j] == me) any_in = true;
    if (!mine_out && !any_in) continue;
    // Distinct destinations in first-appearance order; rows are sorted by rank anyway.
    for (int j = 0; j < top_k; ++j) {
      const int d = dest[static_cast<size_t>(t) * top_k + j];
      bool first = true;
      if (dedup)
        for (int i = 0; i < j; ++i)
          if (dest[static_cast<size_t>(t) * top_k + i] == d) first = false;
      if (!first) continue;
      if (mine_out) send_lists[d].push_back(t - p.token_begin);
      if (d == me) {
        RecvRow row{t, j, 0, {}};
        if (dedup) {
          for (int i = j; i < top_k; ++i)
            if (dest[static_cast<size_t>(t) * top_k + i] == me) row.slots[row.j_count++] = i;
        } else {
          row.slots[row.j_count++] = j;
        }
        recv_lists[owner].push_back(row);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    p.send_counts[r] = static_cast<int64_t>(send_lists[r].size());
    p.recv_counts[r] = static_cast<int64_t>(recv_lists[r].size());
  }
  exclusive_scan_into(p.send_counts, p.send_offsets);
  exclusive_scan_into(p.recv_counts, p.recv_offsets);
  p.send_token.reserve(p.rows_sent());
  for (int r = 0; r < R; ++r)
    for (int64_t lt : send_lists[r]) p.send_token.push_back(static_cast<int32_t>(lt));

  p.recv_token.reserve(p.rows_received());
  p.pair_offsets.assign(1, 0);
  for (int s = 0; s < R; ++s)
    for (const auto& row : recv_lists[s]) {
      p.recv_token.push_back(row.token);
      for (int i = 0; i < row.j_count; ++i) {
        const size_t idx = static_cast<size_t>(row.token) * top_k + row.slots[i];
        p.pair_expert.push_back(experts[idx]);
        p.pair_weight.push_back(weights[idx]);
      }
      p.pair_offsets.push_back(static_cast<int64_t>(p.pair_expert.size()));
    }

  build_expert_view(p);
  return p;
}

}  // namespace moeb
