#include "core/evaluator.hpp"

#include <algorithm>
#include <bit>

#include "core/error.hpp"

namespace moeb {

std::vector<RankBytes> rank_bytes(const std::vector<int64_t>& rows, const Topology& topo,
                                  int64_t row_bytes, bool transpose) {
  const int R = topo.num_ranks();
  std::vector<RankBytes> out(R);
  for (int s = 0; s < R; ++s)
    for (int d = 0; d < R; ++d) {
      if (s == d) continue;
      int64_t n =
          transpose ? rows[static_cast<size_t>(d) * R + s] : rows[static_cast<size_t>(s) * R + d];
      int64_t b = n * row_bytes;
      if (topo.same_node(s, d)) {
        out[s].sent_intra += b;
        out[d].recv_intra += b;
      } else {
        out[s].sent_inter += b;
        out[d].recv_inter += b;
      }
    }
  return out;
}

namespace {

// For the tokens of each owner rank (token_begin's split of T over R), ids[t * k + j] names a
// column (a rank or an expert) of width `columns` (the ids' range): counts[owner][id] gains one per
// (token, id) pair seen first in that token (dedup) and every_choice[id] one per choice. Dedup
// without a per-token list: last[id] is the last token that chose id (no branch, no allocation).
template <class Cell>
void count_first_per_token(const int32_t* ids, int k, int64_t T, int R, int columns, Cell* counts,
                           int64_t* every_choice) {
  std::vector<int64_t> last(static_cast<size_t>(columns), -1);
  for (int owner = 0; owner < R; ++owner) {
    Cell* row = counts + static_cast<size_t>(owner) * columns;
    const int64_t end = token_begin(owner + 1, T, R);
    for (int64_t t = token_begin(owner, T, R); t < end; ++t) {
      const int32_t* x = ids + static_cast<size_t>(t) * k;
      for (int j = 0; j < k; ++j) {
        const int32_t c = x[j];
        ++every_choice[c];
        row[c] += last[c] != t;
        last[c] = t;
      }
    }
  }
}

// A layer's traffic before counting: R x R zero rows, the tokens each rank owns
// (token_begin's split of T over R) and the row sizes.
LayerTraffic empty_traffic(int R, int64_t T, const TrafficOptions& opt) {
  LayerTraffic lt;
  lt.num_ranks = R;
  lt.dispatch_row_bytes = opt.dispatch_row_bytes;
  lt.combine_row_bytes = opt.combine_row_bytes;
  lt.rows.assign(static_cast<size_t>(R) * R, 0);
  lt.rows_computed.assign(R, 0);
  lt.tokens_owned.assign(R, 0);
  for (int r = 0; r < R; ++r) lt.tokens_owned[r] = token_begin(r + 1, T, R) - token_begin(r, T, R);
  return lt;
}

// Per-rank byte totals of the counted rows, when asked for. Combine: rank d sends back what it
// received from s, so combine sent by d to s mirrors dispatch rows[s][d].
void add_byte_totals(LayerTraffic& lt, const Topology& topo, const TrafficOptions& opt) {
  if (!opt.byte_totals) return;
  lt.dispatch = rank_bytes(lt.rows, topo, opt.dispatch_row_bytes, false);
  lt.combine = rank_bytes(lt.rows, topo, opt.combine_row_bytes, true);
}

}  // namespace

LayerTraffic evaluate_layer(const RoutingTrace& batch, int layer, const LayerPlacement& lp,
                            ReplicaPolicyKind policy, const Topology& topo,
                            const TrafficOptions& opt, const RouteContext& ctx,
                            std::vector<int32_t>* dest_out) {
  std::vector<int32_t> dest(static_cast<size_t>(batch.num_tokens()) * batch.top_k());
  route_layer(lp, policy, topo, batch.layer_experts(layer), batch.top_k(), ctx, dest);
  LayerTraffic lt = evaluate_routed_layer(dest, batch.top_k(), topo, opt);
  if (dest_out) *dest_out = std::move(dest);
  return lt;
}

LayerTraffic evaluate_routed_layer(std::span<const int32_t> dest, int top_k, const Topology& topo,
                                   const TrafficOptions& opt) {
  const int R = topo.num_ranks();
  const int k = top_k;
  const int64_t T = static_cast<int64_t>(dest.size()) / k;
  LayerTraffic lt = empty_traffic(R, T, opt);

  // Tokens walked owner by owner (contiguous ranges): each owner's row of the matrix is one
  // counter array; dedup by last-token stamps (count_first_per_token). Without dedup every
  // choice is one row, so the rows each rank computes are the matrix's column sums.
  if (!opt.dedup) {
    for (int owner = 0; owner < R; ++owner) {
      int64_t* row = lt.rows.data() + static_cast<size_t>(owner) * R;
      const int32_t* d = dest.data() + static_cast<size_t>(token_begin(owner, T, R)) * k;
      const int32_t* end = dest.data() + static_cast<size_t>(token_begin(owner + 1, T, R)) * k;
      for (; d < end; ++d) ++row[*d];
      for (int r = 0; r < R; ++r) lt.rows_computed[r] += row[r];
    }
    add_byte_totals(lt, topo, opt);
    return lt;
  }
  count_first_per_token(dest.data(), k, T, R, R, lt.rows.data(), lt.rows_computed.data());
  add_byte_totals(lt, topo, opt);
  return lt;
}

namespace {

// How count_slots finds a choice's replica: every expert has one (no hash), a hash only for an
// expert with several (a branch per choice), or a hash for every choice (bounded(h, 1) = 0).
enum class SlotMode { kNoChoice, kBranch, kHashAll };

// StatelessRoute's routing of `experts` (tokens [0, T), top_k each) counted: rows[owner * R +
// rank] (a token counted once per rank with dedup, once per choice without; last[] holds the
// last token with a row to each rank) and hits[slot] per entry of route.flat() routed to. The
// same choices as StatelessRoute::token in every mode; the mode only decides the branches.
template <SlotMode kMode>
void count_slots(const StatelessRoute& route, const int32_t* experts, int k, int64_t T, int R,
                 bool dedup, int64_t* rows, int64_t* hits) {
  const int32_t* const count = route.count().data();
  const int32_t* const offset = route.offset().data();
  const int32_t* const flat = route.flat().data();
  const uint64_t prefix = route.batch_prefix();
  std::vector<int64_t> last_of(static_cast<size_t>(R), -1);
  int64_t* const last = last_of.data();
  const int64_t no_dedup = dedup ? 0 : 1;
  for (int owner = 0; owner < R; ++owner) {
    int64_t* const row = rows + static_cast<size_t>(owner) * R;
    const int64_t end = token_begin(owner + 1, T, R);
    for (int64_t t = token_begin(owner, T, R); t < end; ++t) {
      const int32_t* const x = experts + static_cast<size_t>(t) * k;
      const uint64_t token_prefix =
          kMode == SlotMode::kNoChoice ? 0 : hash_step_c(prefix, static_cast<uint64_t>(t));
      for (int j = 0; j < k; ++j) {
        const int32_t e = x[j];
        int32_t slot = offset[e];
        if constexpr (kMode == SlotMode::kHashAll) {
          slot += static_cast<int32_t>(bounded(hash_step_d(token_prefix, static_cast<uint64_t>(j)),
                                               static_cast<uint64_t>(count[e])));
        } else if constexpr (kMode == SlotMode::kBranch) {
          const int32_t n = count[e];
          if (n != 1)
            slot += static_cast<int32_t>(bounded(
                hash_step_d(token_prefix, static_cast<uint64_t>(j)), static_cast<uint64_t>(n)));
        }
        const int32_t r = flat[slot];
        ++hits[slot];
        row[r] += (last[r] != t) | no_dedup;
        last[r] = t;
      }
    }
  }
}

// The mode for a layer: a hash per choice when between about 1 in 8 and 9 in 10 of the first
// tokens' choices have several replicas (a branch on it would be mispredicted often; measured in
// bench_count_floor), else the branch.
SlotMode slot_mode(const StatelessRoute& route, std::span<const int32_t> experts) {
  const auto count = route.count();
  if (std::all_of(count.begin(), count.end(), [](int32_t n) { return n == 1; }))
    return SlotMode::kNoChoice;
  const size_t n = std::min<size_t>(experts.size(), 8192);
  size_t several = 0;
  for (size_t i = 0; i < n; ++i) several += count[static_cast<size_t>(experts[i])] != 1;
  return several * 8 >= n && several * 10 <= n * 9 ? SlotMode::kHashAll : SlotMode::kBranch;
}

}  // namespace

LayerTraffic evaluate_stateless_layer(const StatelessRoute& route, std::span<const int32_t> experts,
                                      int top_k, int num_experts, const Topology& topo,
                                      const TrafficOptions& opt, std::vector<int64_t>& touched) {
  const int R = topo.num_ranks(), k = top_k, E = num_experts;
  const int64_t T = static_cast<int64_t>(experts.size()) / k;
  LayerTraffic lt = empty_traffic(R, T, opt);
  const auto flat = route.flat();
  std::vector<int64_t> hits(flat.size(), 0);
  switch (slot_mode(route, experts)) {
    case SlotMode::kNoChoice:
      count_slots<SlotMode::kNoChoice>(route, experts.data(), k, T, R, opt.dedup, lt.rows.data(),
                                       hits.data());
      break;
    case SlotMode::kBranch:
      count_slots<SlotMode::kBranch>(route, experts.data(), k, T, R, opt.dedup, lt.rows.data(),
                                     hits.data());
      break;
    case SlotMode::kHashAll:
      count_slots<SlotMode::kHashAll>(route, experts.data(), k, T, R, opt.dedup, lt.rows.data(),
                                      hits.data());
      break;
  }
  // Rows computed: every choice at its rank; experts touched: distinct (rank, expert) pairs hit
  // (an expert may have two replicas on one rank).
  const int W = (E + 63) / 64;
  std::vector<uint64_t> seen(static_cast<size_t>(R) * W, 0);
  const auto offset = route.offset(), count = route.count();
  for (int e = 0; e < E; ++e) {
    // A lone replica's entries beyond offset[e] (primary policy) are never routed to.
    for (int i = 0; i < count[e]; ++i) {
      const size_t slot = static_cast<size_t>(offset[e] + i);
      if (hits[slot] == 0) continue;
      const size_t r = static_cast<size_t>(flat[slot]);
      lt.rows_computed[r] += hits[slot];
      seen[r * W + (static_cast<uint32_t>(e) >> 6)] |= uint64_t{1} << (e & 63);
    }
  }
  touched.assign(R, 0);
  for (int r = 0; r < R; ++r)
    for (int w = 0; w < W; ++w) touched[r] += std::popcount(seen[static_cast<size_t>(r) * W + w]);
  add_byte_totals(lt, topo, opt);
  return lt;
}

namespace {
// StatefulRoute's routing of `experts` counted as it is routed, tokens in order: rows as
// count_slots, and per choice its rank's rows computed and the (rank, expert) bit of seen
// (W words per rank). Raw pointers captured by value, so that they stay in registers.
void count_stateful(StatefulRoute& route, const int32_t* experts, int k, int64_t T, int R, int W,
                    bool dedup, int64_t* rows, int64_t* computed, uint64_t* seen) {
  std::vector<int64_t> last_of(static_cast<size_t>(R), -1);
  int64_t* const last = last_of.data();
  const int64_t no_dedup = dedup ? 0 : 1;
  for (int owner = 0; owner < R; ++owner) {
    int64_t* const row = rows + static_cast<size_t>(owner) * R;
    const int64_t end = token_begin(owner + 1, T, R);
    for (int64_t t = token_begin(owner, T, R); t < end; ++t) {
      const int32_t* const x = experts + static_cast<size_t>(t) * k;
      route.token(t, owner, x, k, [=](int j, int32_t r) {
        row[r] += (last[r] != t) | no_dedup;
        last[r] = t;
        ++computed[r];
        const uint32_t e = static_cast<uint32_t>(x[j]);
        seen[static_cast<size_t>(r) * W + (e >> 6)] |= uint64_t{1} << (e & 63);
      });
    }
  }
}
}  // namespace

LayerTraffic evaluate_stateful_layer(StatefulRoute& route, std::span<const int32_t> experts,
                                     int top_k, int num_experts, const Topology& topo,
                                     const TrafficOptions& opt, std::vector<int64_t>& touched) {
  const int R = topo.num_ranks(), k = top_k, W = (num_experts + 63) / 64;
  const int64_t T = static_cast<int64_t>(experts.size()) / k;
  LayerTraffic lt = empty_traffic(R, T, opt);
  std::vector<uint64_t> seen(static_cast<size_t>(R) * W, 0);
  count_stateful(route, experts.data(), k, T, R, W, opt.dedup, lt.rows.data(),
                 lt.rows_computed.data(), seen.data());
  touched.assign(R, 0);
  for (int r = 0; r < R; ++r)
    for (int w = 0; w < W; ++w) touched[r] += std::popcount(seen[static_cast<size_t>(r) * W + w]);
  add_byte_totals(lt, topo, opt);
  return lt;
}

void count_experts(std::span<const int32_t> experts, int top_k, int num_ranks, int num_experts,
                   ExpertCounts& out) {
  const int R = num_ranks, E = num_experts, k = top_k;
  const int64_t T = static_cast<int64_t>(experts.size()) / k;
  out.reset(R, E, T);
  count_first_per_token(experts.data(), k, T, R, E, out.owner_tokens.data(), out.choices.data());
}

LayerTraffic evaluate_by_expert(const ExpertCounts& c, std::span<const int32_t> rank_of,
                                const Topology& topo, const TrafficOptions& opt,
                                std::vector<int64_t>& touched) {
  const int R = topo.num_ranks(), E = c.num_experts;
  if (!opt.dedup) throw Error("evaluate_by_expert: counts without dedup need the routing");
  if (c.num_ranks != R || static_cast<int>(rank_of.size()) != E)
    throw Error("evaluate_by_expert: counts, table and topology differ in size");
  std::vector<char> hosts(static_cast<size_t>(R), 0);
  for (const int32_t r : rank_of) {
    if (r < 0 || r >= R || hosts[r]) throw Error("evaluate_by_expert: a rank hosts two experts");
    hosts[r] = 1;
  }
  LayerTraffic lt = empty_traffic(R, c.num_tokens, opt);
  for (int owner = 0; owner < R; ++owner) {
    int64_t* row = lt.rows.data() + static_cast<size_t>(owner) * R;
    const int32_t* n = c.owner_tokens.data() + static_cast<size_t>(owner) * E;
    for (int e = 0; e < E; ++e) row[rank_of[e]] += n[e];
  }
  touched.assign(R, 0);
  for (int e = 0; e < E; ++e) {
    lt.rows_computed[rank_of[e]] += c.choices[e];
    touched[rank_of[e]] += c.choices[e] > 0;
  }
  add_byte_totals(lt, topo, opt);
  return lt;
}

int64_t LayerTraffic::dispatch_bytes(int src, int dst) const {
  if (src == dst) return 0;
  return rows[static_cast<size_t>(src) * num_ranks + dst] * dispatch_row_bytes;
}

int64_t LayerTraffic::total_bytes() const {
  int64_t s = 0;
  for (int r = 0; r < num_ranks; ++r) s += dispatch[r].sent() + combine[r].sent();
  return s;
}

int64_t LayerTraffic::inter_node_bytes() const {
  int64_t s = 0;
  for (int r = 0; r < num_ranks; ++r) s += dispatch[r].sent_inter + combine[r].sent_inter;
  return s;
}

int64_t LayerTraffic::max_rank_bytes() const {
  int64_t m = 0;
  for (const auto& b : dispatch) m = std::max({m, b.sent(), b.recv()});
  return m;
}

int64_t LayerTraffic::messages(const Topology& topo, bool inter) const {
  int64_t n = 0;
  for (int s = 0; s < num_ranks; ++s)
    for (int d = 0; d < num_ranks; ++d)
      if (s != d && rows[static_cast<size_t>(s) * num_ranks + d] > 0 &&
          topo.same_node(s, d) != inter)
        ++n;
  return n;
}

}  // namespace moeb
