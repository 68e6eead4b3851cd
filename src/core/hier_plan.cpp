#include "core/hier_plan.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/routing.hpp"

namespace moeb {

namespace {

// A row held by a rank before hop 2: a token and the k-slots it must deliver inside the node.
struct HeldRow {
  int64_t token;
  std::vector<int> slots;
};

void exclusive_scan_into(const std::vector<int64_t>& counts, std::vector<int64_t>& offsets) {
  offsets.assign(counts.size() + 1, 0);
  for (size_t i = 0; i < counts.size(); ++i) offsets[i + 1] = offsets[i] + counts[i];
}

struct Batch {
  std::span<const int32_t> experts;
  std::span<const float> weights;
  std::span<const int32_t> dest;
  int top_k;
  int64_t tokens;
  const Topology& topo;
  int dest_of(int64_t t, int j) const { return dest[static_cast<size_t>(t) * top_k + j]; }
  // Slots of token t served on `node`.
  std::vector<int> slots_on(int64_t t, int node) const {
    std::vector<int> s;
    for (int j = 0; j < top_k; ++j)
      if (topo.node_of(dest_of(t, j)) == node) s.push_back(j);
    return s;
  }
};

// Rows that `src` relays to `peer` (on another node), in send order.
std::vector<HeldRow> relay_rows(const Batch& b, int src, int peer, bool dedup) {
  std::vector<HeldRow> rows;
  const int R = b.topo.num_ranks();
  const int node = b.topo.node_of(peer);
  if (node == b.topo.node_of(src) || relay_peer(b.topo, src, node) != peer) return rows;
  for (int64_t t = token_begin(src, b.tokens, R); t < token_begin(src + 1, b.tokens, R); ++t) {
    std::vector<int> s = b.slots_on(t, node);
    if (s.empty()) continue;
    if (dedup) {
      rows.push_back({t, std::move(s)});
    } else {
      for (int j : s) rows.push_back({t, {j}});
    }
  }
  return rows;
}

// Every row `rank` holds before hop 2, in held order: its owned tokens (with their same-node
// slots), then the rows relayed to it by source rank ascending.
std::vector<HeldRow> held_rows(const Batch& b, int rank, bool dedup) {
  const int R = b.topo.num_ranks();
  const int node = b.topo.node_of(rank);
  std::vector<HeldRow> rows;
  for (int64_t t = token_begin(rank, b.tokens, R); t < token_begin(rank + 1, b.tokens, R); ++t)
    rows.push_back({t, b.slots_on(t, node)});
  for (int src = 0; src < R; ++src) {
    std::vector<HeldRow> r = relay_rows(b, src, rank, dedup);
    rows.insert(rows.end(), std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
  }
  return rows;
}

// Hop-2 rows of one held row: per destination rank the slots it carries, in send order
// (destinations in first-appearance order with dedup, one row per slot without).
std::vector<std::pair<int, std::vector<int>>> hop2_rows(const Batch& b, const HeldRow& h,
                                                         bool dedup) {
  std::vector<std::pair<int, std::vector<int>>> out;
  for (int j : h.slots) {
    const int d = b.dest_of(h.token, j);
    if (dedup) {
      auto it = std::find_if(out.begin(), out.end(), [&](const auto& p) { return p.first == d; });
      if (it != out.end()) {
        it->second.push_back(j);
        continue;
      }
    }
    out.push_back({d, {j}});
  }
  return out;
}


}  // namespace

int relay_peer(const Topology& topo, int rank, int node) {
  const auto& ranks = topo.ranks_of_node(node);
  return ranks[static_cast<size_t>(topo.local_rank(rank)) % ranks.size()];
}

HierPlan build_hier_plan(std::span<const int32_t> experts, std::span<const float> weights,
                         std::span<const int32_t> dest, int top_k, const Topology& topo, int me,
                         bool dedup) {
  const int R = topo.num_ranks();
  if (top_k <= 0 || experts.size() != dest.size() || weights.size() != dest.size())
    throw Error("build_hier_plan: experts, weights and dest sizes differ");
  const Batch b{experts, weights, dest, top_k, static_cast<int64_t>(experts.size()) / top_k, topo};
  HierPlan h;
  h.owned = token_begin(me + 1, b.tokens, R) - token_begin(me, b.tokens, R);
  const int64_t first = token_begin(me, b.tokens, R);

  // Hop 1.
  h.relay_send_counts.assign(R, 0);
  h.relay_recv_counts.assign(R, 0);
  for (int p = 0; p < R; ++p) {
    for (const HeldRow& r : relay_rows(b, me, p, dedup)) {
      h.relay_send_token.push_back(static_cast<int32_t>(r.token - first));
      ++h.relay_send_counts[p];
    }
    for (const HeldRow& r : relay_rows(b, p, me, dedup)) {
      h.relay_recv_token.push_back(r.token);
      ++h.relay_recv_counts[p];
    }
  }
  exclusive_scan_into(h.relay_send_counts, h.relay_send_offsets);
  exclusive_scan_into(h.relay_recv_counts, h.relay_recv_offsets);

  // Hop 2, send side: my held rows to ranks of my node.
  DispatchPlan& p = h.local;
  p.num_ranks = R;
  p.me = me;
  p.token_begin = first;
  p.token_end = first + h.owned;
  p.send_counts.assign(R, 0);
  p.recv_counts.assign(R, 0);
  std::vector<std::vector<int32_t>> send_lists(R);
  const std::vector<HeldRow> mine = held_rows(b, me, dedup);
  for (size_t i = 0; i < mine.size(); ++i)
    for (const auto& [d, slots] : hop2_rows(b, mine[i], dedup))
      send_lists[d].push_back(static_cast<int32_t>(i));
  for (int d = 0; d < R; ++d) {
    p.send_counts[d] = static_cast<int64_t>(send_lists[d].size());
    p.send_token.insert(p.send_token.end(), send_lists[d].begin(), send_lists[d].end());
  }
  exclusive_scan_into(p.send_counts, p.send_offsets);

  // Hop 2, receive side: replay each same-node sender's held rows in its send order.
  p.pair_offsets.assign(1, 0);
  for (int s : topo.ranks_of_node(topo.node_of(me))) {
    const std::vector<HeldRow> theirs = s == me ? mine : held_rows(b, s, dedup);
    for (const HeldRow& r : theirs)
      for (const auto& [d, slots] : hop2_rows(b, r, dedup)) {
        if (d != me) continue;
        ++p.recv_counts[s];
        p.recv_token.push_back(r.token);
        for (int j : slots) {
          const size_t idx = static_cast<size_t>(r.token) * top_k + j;
          p.pair_expert.push_back(experts[idx]);
          p.pair_weight.push_back(weights[idx]);
        }
        p.pair_offsets.push_back(static_cast<int64_t>(p.pair_expert.size()));
      }
  }
  exclusive_scan_into(p.recv_counts, p.recv_offsets);
  build_expert_view(p);
  return h;
}

}  // namespace moeb
