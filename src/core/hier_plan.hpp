// Hierarchical (two-hop) dispatch of one rank, as GRACE-MoE's hierarchical sparse communication
// and DeepEP's internode kernels do it: a token crosses to each remote node that serves it
// once, to its peer rank there (the rank with the same local index), which forwards it inside
// its node; combine mirrors it (the forwarder sums the partial results of its node's ranks and
// sends one row back per relayed row). Pure index math, shared by every backend.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/dispatch_plan.hpp"
#include "core/topology.hpp"

namespace moeb {

struct HierPlan {
  int64_t owned = 0;  // tokens this rank owns (held rows [0, owned))

  // Hop 1, inter-node relay. Send rows grouped by peer rank (ascending), tokens ascending
  // (then k-slot ascending without dedup); relay_send_token is the local owned token index.
  std::vector<int64_t> relay_send_counts, relay_send_offsets;  // [R], [R + 1]
  std::vector<int32_t> relay_send_token;
  // Receive side: rows grouped by source rank, in the sender's order. Relayed row i becomes
  // held row owned + i.
  std::vector<int64_t> relay_recv_counts, relay_recv_offsets;  // [R], [R + 1]
  std::vector<int64_t> relay_recv_token;                      // global token index

  // Hop 2, intra-node, over the held rows: local.send_token indexes held rows
  // [0, owned + relayed); the receive side and the expert-grouped view are as in a flat plan.
  // local.token_begin/token_end are this rank's owned tokens.
  DispatchPlan local;

  int64_t relayed() const { return static_cast<int64_t>(relay_recv_token.size()); }
  int64_t held() const { return owned + relayed(); }
};

// The rank on `node` that relays for `rank`: same local index, modulo the node's size.
int relay_peer(const Topology& topo, int rank, int node);

// Builds rank `me`'s hierarchical plan for one layer from the whole batch's routing (`dest` of
// every (token, k-slot), as route_layer computes it). With `dedup`, a token crosses once per
// remote node and goes once to each destination rank; without, once per (token, expert) pair
// on each hop.
HierPlan build_hier_plan(std::span<const int32_t> experts, std::span<const float> weights,
                         std::span<const int32_t> dest, int top_k, const Topology& topo, int me,
                         bool dedup);

}  // namespace moeb
