// One MoE layer on one rank, as ARCHITECTURE.md "The MoE layer as measured" defines it:
// gate (routing + dispatch plan), permute, sync probe + dispatch all-to-all-v, grouped expert
// FFN, sync probe + combine all-to-all-v, unpermute; every phase timed, every count taken from
// the plan handed to the transport. The harness calls it per (iteration, layer).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/batch_routing.hpp"
#include "core/block_messages.hpp"
#include "core/dispatch_plan.hpp"
#include "core/hier_plan.hpp"
#include "core/placement.hpp"
#include "core/results.hpp"
#include "core/topology.hpp"
#include "runtime/transport.hpp"

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
  // Direct dispatch (permute_direct): the messages of the next send_messages, and scratch.
  std::vector<SendMessage> send_messages;
  std::vector<RecvMessage> recv_messages;
  std::vector<BlockMessage> cut;
};

// Runs the layer. The backend's input must hold this rank's owned tokens already; afterwards
// its output holds their layer output.
LayerSample run_layer(Backend& backend, Transport& transport, const LayerInput& in,
                      LayerState& state);

// Direct dispatch: true when the flat layer moves its rows by point-to-point messages that
// take runs of consecutive input rows straight from the backend's held rows (the transport has
// messages, the backend a host dispatch_source and its own self rows).
bool direct_dispatch(const Backend& backend, const Transport& transport);
// Runs of at least this many bytes of consecutive input rows go without a copy (cut_block's
// min_direct, in rows: at least one); shorter runs are packed into the send buffer.
inline constexpr int64_t kDirectMinBytes = int64_t{64} << 10;
// The permute of direct dispatch (after prepare), in place of post_receives + permute: cuts every
// peer's block (cut_block, both sides alike), posts one receive per message, packs the rows of
// the packed messages and this rank's own block (Backend::permute_part) and lists the messages
// for the exchange, transport.send_messages(state.send_messages, ...).
void permute_direct(Backend& backend, Transport& transport, const DispatchPlan& plan,
                    LayerState& state, int64_t min_direct_bytes = kDirectMinBytes);

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
