// One MoE layer on one rank, as ARCHITECTURE.md "The MoE layer as measured" defines it:
// gate (routing + dispatch plan), permute, sync probe + dispatch all-to-all-v, grouped expert
// FFN, sync probe + combine all-to-all-v, unpermute; every phase timed, every count taken from
// the plan handed to the transport. The harness calls it per (iteration, layer).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "core/batch_routing.hpp"
#include "core/dispatch_plan.hpp"
#include "core/hier_plan.hpp"
#include "core/placement.hpp"
#include "core/results.hpp"
#include "core/topology.hpp"

namespace moeb {

class Backend;
class Transport;

struct LayerInput {
  const Topology* topo = nullptr;
  RoutedBatch* batch = nullptr;      // the batch under the plan; routed once (in the gate phase)
  int layer = 0;
  bool dedup = true;
  bool sync_probe = true;
  bool hierarchical = false;         // two-hop dispatch (core/hier_plan) instead of flat
};

struct LayerSample {
  CountRow counts{};
  TimeRow times{};                               // seconds
  std::vector<int64_t> rows_sent_to;             // [R] token copies sent per destination, all hops
};

// Plans of the last layer run; reused across layers to avoid reallocation.
struct LayerState {
  DispatchPlan plan;  // flat plan, or the hop-2 plan of `hier`'s copy when hierarchical
  HierPlan hier;
  // The counts handed to the transport when the backend keeps its self rows (block `me` 0).
  std::vector<int64_t> wire_send_counts, wire_recv_counts;
};

// Runs the layer. The backend's input must hold this rank's owned tokens already; afterwards
// its output holds their layer output.
LayerSample run_layer(Backend& backend, Transport& transport, const LayerInput& in,
                      LayerState& state);

// The flat layer's permute fused with its dispatch all-to-all-v, as run_layer runs them without
// the sync probe when the backend permutes in parts (after prepare and post_receives): the
// transport packs each chunk of the send rows through Backend::permute_part just before sending
// it and lets peers' transfers progress in between (Transport::packed_alltoallv), the rows the
// exchange does not carry last. `on_permuted` runs once every row is packed, before the wait for
// the last transfers. `wire_send` / `wire_recv`: the counts handed to the transport.
void packed_dispatch(Backend& backend, Transport& transport, const DispatchPlan& plan,
                     std::span<const int64_t> wire_send, std::span<const int64_t> wire_recv,
                     const std::function<void()>& on_permuted);

// Counts of a hierarchical layer: hop-1 bytes are inter-node, hop-2 bytes intra-node (self 0).
CountRow hier_layer_counts(const HierPlan& plan, const Topology& topo, int64_t dispatch_row_bytes,
                           int64_t combine_row_bytes);

// Counts of count_metric_names() for one rank's plan: bytes from the per-peer row counts
// actually exchanged, split intra/inter node by `topo`; sending to oneself is 0 bytes.
CountRow layer_counts(const DispatchPlan& plan, const Topology& topo, int64_t dispatch_row_bytes,
                      int64_t combine_row_bytes);

// Identity of global token `t` of batch `batch_index` for input generation: inputs depend on
// (seed, layer, batch, token in batch) and never on the rank layout.
inline int64_t input_token_id(int64_t batch_index, int64_t t) { return (batch_index << 32) + t; }

}  // namespace moeb
