// The pure traffic evaluator: trace + placement + replica policy -> per-layer traffic matrix and
// per-rank loads, following the definitions of METRICS.md. It counts from the routing alone,
// independently of the runtime's dispatch plan, so tests can hold one against the other.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/placement.hpp"
#include "core/routing.hpp"
#include "core/topology.hpp"
#include "core/trace.hpp"

namespace moeb {

struct TrafficOptions {
  bool dedup = true;               // one copy per (token, destination rank), else per pair
  int64_t dispatch_row_bytes = 0;  // bytes of one token copy sent in dispatch
  int64_t combine_row_bytes = 0;   // bytes of one partial result sent back in combine
  // Fill LayerTraffic::dispatch / combine (per-rank byte totals); the cost model computes its
  // own from the rows matrix and skips them.
  bool byte_totals = true;
};

// Per-rank byte totals split by link class; sending to oneself is 0 bytes.
struct RankBytes {
  int64_t sent_intra = 0, sent_inter = 0, recv_intra = 0, recv_inter = 0;
  int64_t sent() const { return sent_intra + sent_inter; }
  int64_t recv() const { return recv_intra + recv_inter; }
};

struct LayerTraffic {
  int num_ranks = 0;
  int64_t dispatch_row_bytes = 0, combine_row_bytes = 0;
  std::vector<int64_t> rows;           // [src * R + dst]: token copies (diagonal = local copies)
  std::vector<int64_t> rows_computed;  // [R]: (token, expert) pairs each rank's experts process
  std::vector<int64_t> tokens_owned;   // [R]
  std::vector<RankBytes> dispatch;     // [R]
  std::vector<RankBytes> combine;      // [R] (mirror of dispatch with combine_row_bytes)

  int64_t dispatch_bytes(int src, int dst) const;  // 0 on the diagonal
  int64_t total_bytes() const;                     // dispatch + combine over all ranks (sent side)
  int64_t inter_node_bytes() const;                // dispatch + combine, inter-node only
  int64_t max_rank_bytes() const;                  // max_r max(sent, recv) of dispatch
  int64_t messages(const Topology& topo, bool inter) const;  // nonzero off-diagonal pairs
};

// Evaluates one layer of one batch. `dest_out`, when non-null, receives the routing used.
LayerTraffic evaluate_layer(const RoutingTrace& batch, int layer, const LayerPlacement& lp,
                            ReplicaPolicyKind policy, const Topology& topo,
                            const TrafficOptions& opt, const RouteContext& ctx,
                            std::vector<int32_t>* dest_out = nullptr);

// Counts one layer of one batch already routed: `dest` is route_layer's output (num_tokens *
// top_k ranks, token-major; core/batch_routing RoutedBatch::dest).
LayerTraffic evaluate_routed_layer(std::span<const int32_t> dest, int top_k, const Topology& topo,
                                   const TrafficOptions& opt);

// One layer's choices counted per expert: the counting that every placement routing each expert
// to one rank, no rank hosting two of them, shares (evaluate_by_expert). Tokens are owned as in
// route_layer (token_begin).
struct ExpertCounts {
  int num_ranks = 0, num_experts = 0;
  int64_t num_tokens = 0;
  std::vector<int32_t> owner_tokens;  // [owner * E + e]: owner's tokens choosing e (once each)
  std::vector<int64_t> choices;       // [e]: every choice of e
  // Sized for R ranks, E experts and T tokens, every count zero (capacity kept).
  void reset(int R, int E, int64_t T) {
    num_ranks = R;
    num_experts = E;
    num_tokens = T;
    owner_tokens.assign(static_cast<size_t>(R) * E, 0);
    choices.assign(static_cast<size_t>(E), 0);
  }
};
// `experts`: num_tokens * top_k expert ids in [0, num_experts), token-major.
void count_experts(std::span<const int32_t> experts, int top_k, int num_ranks, int num_experts,
                   ExpertCounts& out);

// What evaluate_routed_layer with opt.dedup gives for the routing dest[i] = rank_of[experts[i]],
// from the counts alone, when rank_of sends no two experts to one rank (a token's distinct
// experts then land on distinct ranks); `touched` receives experts_touched (core/cost_model)
// of that routing. Throws Error without opt.dedup or when rank_of repeats a rank.
LayerTraffic evaluate_by_expert(const ExpertCounts& c, std::span<const int32_t> rank_of,
                                const Topology& topo, const TrafficOptions& opt,
                                std::vector<int64_t>& touched);

// evaluate_routed_layer and experts_touched (core/cost_model) of the routing `route` gives
// `experts` (num_tokens * top_k ids in [0, num_experts)), in one pass without an array of
// destinations.
LayerTraffic evaluate_stateless_layer(const StatelessRoute& route, std::span<const int32_t> experts,
                                      int top_k, int num_experts, const Topology& topo,
                                      const TrafficOptions& opt, std::vector<int64_t>& touched);

// The same for a policy with state: `route` is a fresh StatefulRoute of this layer and batch
// (its state advances), `experts` the ids it routes.
LayerTraffic evaluate_stateful_layer(StatefulRoute& route, std::span<const int32_t> experts,
                                     int top_k, int num_experts, const Topology& topo,
                                     const TrafficOptions& opt, std::vector<int64_t>& touched);

// Per-rank intra/inter totals from a rows matrix.
std::vector<RankBytes> rank_bytes(const std::vector<int64_t>& rows, const Topology& topo,
                                  int64_t row_bytes, bool transpose);

}  // namespace moeb
