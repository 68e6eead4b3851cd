#include "runtime/layer_engine.hpp"

#include <algorithm>

#include "runtime/backend.hpp"
#include "runtime/transport.hpp"

namespace moeb {

namespace {
// Timestamp slots, in the order the phases run.
enum Slot : int {
  kStart = 0,
  kGated,
  kPermuted,
  kDispatchReady,
  kDispatched,
  kComputed,
  kCombineReady,
  kCombined,
  kEnd
};

void sync_probe(Backend& backend, Transport& transport, bool enabled) {
  if (!enabled) return;
  backend.synchronize();
  transport.barrier();
}

// The plan's counts as the transport must see them: block `me` is 0 when the backend moves its
// self rows itself (Backend::keeps_self_rows), else the plan's counts unchanged.
void set_wire_counts(const Backend& backend, const DispatchPlan& p, LayerState& st) {
  st.wire_send_counts = p.send_counts;
  st.wire_recv_counts = p.recv_counts;
  if (!backend.keeps_self_rows()) return;
  st.wire_send_counts[static_cast<size_t>(p.me)] = 0;
  st.wire_recv_counts[static_cast<size_t>(p.me)] = 0;
}
}  // namespace

CountRow layer_counts(const DispatchPlan& plan, const Topology& topo, int64_t dispatch_row_bytes,
                      int64_t combine_row_bytes) {
  CountRow c{};
  c[kTokensOwned] = plan.token_end - plan.token_begin;
  c[kRowsComputed] = plan.rows_computed();
  for (int r = 0; r < plan.num_ranks; ++r)
    if (r != plan.me)
      add_link_rows(c, !topo.same_node(plan.me, r), plan.send_counts[r], plan.recv_counts[r],
                    dispatch_row_bytes, combine_row_bytes);
  return c;
}

namespace {

// The per-phase seconds of the time metrics (core/results.hpp) from the timestamp slots.
TimeRow phase_times(Backend& backend) {
  TimeRow t{};
  t[kTGate] = backend.elapsed_s(kStart, kGated);
  t[kTPermute] = backend.elapsed_s(kGated, kPermuted);
  t[kTDispatch] = backend.elapsed_s(kDispatchReady, kDispatched);
  t[kTFfn] = backend.elapsed_s(kDispatched, kComputed);
  t[kTCombine] = backend.elapsed_s(kCombineReady, kCombined);
  t[kTUnpermute] = backend.elapsed_s(kCombined, kEnd);
  t[kTLayer] = backend.elapsed_s(kStart, kEnd);
  t[kTWaitDispatch] = backend.elapsed_s(kPermuted, kDispatchReady);
  t[kTWaitCombine] = backend.elapsed_s(kComputed, kCombineReady);
  return t;
}

// Hierarchical layer: hop 1 relays owned rows to peers on other nodes, hop 2 forwards held
// rows inside the node; combine runs the two hops backwards, the forwarder summing its node's
// partial results before relaying them home.
LayerSample run_hier_layer(Backend& backend, Transport& transport, const LayerInput& in,
                           LayerState& st) {
  const int me = transport.rank();
  const bool sync_before_a2a = !transport.stream_ordered();
  const auto a2a_sync = [&] {
    if (sync_before_a2a) backend.synchronize();
  };
  backend.record_time(kStart);
  const RoutingTrace& trace = in.batch->trace();
  st.hier = build_hier_plan(trace.layer_experts(in.layer), trace.layer_weights(in.layer),
                            in.batch->dest(in.layer), trace.top_k(), *in.topo, me, in.dedup);
  const HierPlan& h = st.hier;
  set_wire_counts(backend, h.local, st);
  backend.record_time(kGated);

  backend.prepare_relay(h);
  backend.prepare(h.local);
  backend.relay_permute(h);
  backend.record_time(kPermuted);

  sync_probe(backend, transport, in.sync_probe);
  backend.record_time(kDispatchReady);
  a2a_sync();
  transport.alltoallv(backend.relay_send(), h.relay_send_counts, h.relay_send_offsets,
                      backend.relay_recv(), h.relay_recv_counts, h.relay_recv_offsets,
                      backend.dispatch_row_bytes());
  backend.permute(h.local);  // forward: held rows into hop-2 send order
  a2a_sync();
  transport.alltoallv(backend.dispatch_send(), st.wire_send_counts, h.local.send_offsets,
                      backend.dispatch_recv(), st.wire_recv_counts, h.local.recv_offsets,
                      backend.dispatch_row_bytes());
  backend.record_time(kDispatched);

  backend.expert_ffn(in.layer, h.local);
  backend.record_time(kComputed);

  sync_probe(backend, transport, in.sync_probe);
  backend.record_time(kCombineReady);
  a2a_sync();
  transport.alltoallv(backend.combine_send(), st.wire_recv_counts, h.local.recv_offsets,
                      backend.combine_recv(), st.wire_send_counts, h.local.send_offsets,
                      backend.combine_row_bytes());
  backend.unpermute(h.local);  // the forwarder sums its node's partial results per held row
  a2a_sync();
  transport.alltoallv(backend.relay_combine_send(), h.relay_recv_counts, h.relay_recv_offsets,
                      backend.relay_combine_recv(), h.relay_send_counts, h.relay_send_offsets,
                      backend.combine_row_bytes());
  backend.record_time(kCombined);

  backend.relay_unpermute(h);
  backend.record_time(kEnd);
  backend.synchronize();

  LayerSample s;
  s.counts = hier_layer_counts(h, *in.topo, backend.dispatch_row_bytes(),
                               backend.combine_row_bytes());
  s.times = phase_times(backend);
  s.rows_sent_to.resize(h.local.send_counts.size());
  for (size_t r = 0; r < s.rows_sent_to.size(); ++r)
    s.rows_sent_to[r] = h.local.send_counts[r] + h.relay_send_counts[r];
  return s;
}

}  // namespace

bool direct_dispatch(const Backend& backend, const Transport& transport) {
  return transport.has_messages() && backend.dispatch_source() != nullptr &&
         backend.keeps_self_rows();
}

void permute_direct(Backend& backend, Transport& transport, const DispatchPlan& plan,
                    LayerState& st, int64_t min_direct_bytes) {
  const int R = plan.num_ranks, me = plan.me;
  const int64_t rb = backend.dispatch_row_bytes();
  const int64_t min_direct = std::max<int64_t>(1, min_direct_bytes / rb);
  char* recv = static_cast<char*>(backend.dispatch_recv());
  st.recv_messages.clear();
  for (int k = 1; k < R; ++k) {  // sources me-1, me-2, ...: the order peers send in
    const int s = (me - k + R) % R;
    st.cut.clear();
    cut_block(plan.recv_token.data() + plan.recv_offsets[s], plan.recv_counts[s], min_direct,
              st.cut);
    for (const BlockMessage& m : st.cut)
      st.recv_messages.push_back({s, recv + (plan.recv_offsets[s] + m.begin) * rb, m.end - m.begin});
  }
  transport.post_messages(st.recv_messages, rb);
  const char* src = static_cast<const char*>(backend.dispatch_source());
  const char* send = static_cast<const char*>(backend.dispatch_send());
  st.send_messages.clear();
  for (int k = 1; k < R; ++k) {  // destinations me+1, me+2, ...: spreads the first sends
    const int d = (me + k) % R;
    const int64_t block = plan.send_offsets[d];
    st.cut.clear();
    cut_block(plan.send_token.data() + block, plan.send_counts[d], min_direct, st.cut);
    for (const BlockMessage& m : st.cut) {
      const int64_t pos = block + m.begin;
      if (!m.direct) backend.permute_part(plan, pos, block + m.end);
      const char* data = m.direct ? src + plan.send_token[pos] * rb : send + pos * rb;
      st.send_messages.push_back({d, data, m.end - m.begin});
    }
  }
  backend.permute_part(plan, plan.send_offsets[me], plan.send_offsets[me + 1]);  // own rows
}

CountRow hier_layer_counts(const HierPlan& h, const Topology& topo, int64_t dispatch_row_bytes,
                           int64_t combine_row_bytes) {
  // Hop 2 is counted like a flat plan (it only reaches ranks of the node); hop 1 adds the relay
  // rows on the links it actually uses.
  CountRow c = layer_counts(h.local, topo, dispatch_row_bytes, combine_row_bytes);
  const int me = h.local.me;
  for (int r = 0; r < h.local.num_ranks; ++r)
    if (r != me)
      add_link_rows(c, !topo.same_node(me, r), h.relay_send_counts[r], h.relay_recv_counts[r],
                    dispatch_row_bytes, combine_row_bytes);
  return c;
}

LayerSample run_layer(Backend& backend, Transport& transport, const LayerInput& in,
                      LayerState& st) {
  if (in.hierarchical) return run_hier_layer(backend, transport, in, st);
  const int R = transport.size(), me = transport.rank();
  const bool sync_before_a2a = !transport.stream_ordered();
  DispatchPlan& plan = st.plan;

  backend.record_time(kStart);
  // Gate: the whole batch's routing (every rank computes it identically, once per batch and
  // layer: RoutedBatch), then this rank's plan.
  const RoutingTrace& trace = in.batch->trace();
  build_dispatch_plan(plan, trace.layer_experts(in.layer), trace.layer_weights(in.layer),
                      in.batch->dest(in.layer), trace.top_k(), R, me, in.dedup);
  set_wire_counts(backend, plan, st);
  backend.record_time(kGated);

  backend.prepare(plan);
  // Receives first (MPI: point to point), so peers' rows can land while this rank permutes.
  const bool direct = direct_dispatch(backend, transport);
  if (direct) {
    permute_direct(backend, transport, plan, st);
  } else {
    transport.post_receives(backend.dispatch_recv(), st.wire_recv_counts, plan.recv_offsets,
                            backend.dispatch_row_bytes());
    backend.permute(plan);
  }
  backend.record_time(kPermuted);

  sync_probe(backend, transport, in.sync_probe);
  backend.record_time(kDispatchReady);
  if (sync_before_a2a) backend.synchronize();
  if (direct)
    transport.send_messages(st.send_messages, backend.dispatch_row_bytes());
  else
    transport.alltoallv(backend.dispatch_send(), st.wire_send_counts, plan.send_offsets,
                        backend.dispatch_recv(), st.wire_recv_counts, plan.recv_offsets,
                        backend.dispatch_row_bytes());
  backend.record_time(kDispatched);

  backend.expert_ffn(in.layer, plan);
  backend.record_time(kComputed);

  sync_probe(backend, transport, in.sync_probe);
  backend.record_time(kCombineReady);
  if (sync_before_a2a) backend.synchronize();
  transport.alltoallv(backend.combine_send(), st.wire_recv_counts, plan.recv_offsets,
                      backend.combine_recv(), st.wire_send_counts, plan.send_offsets,
                      backend.combine_row_bytes());
  backend.record_time(kCombined);

  backend.unpermute(plan);
  backend.record_time(kEnd);
  backend.synchronize();

  LayerSample s;
  s.counts = layer_counts(plan, *in.topo, backend.dispatch_row_bytes(),
                          backend.combine_row_bytes());
  s.times = phase_times(backend);
  s.rows_sent_to = plan.send_counts;
  return s;
}

}  // namespace moeb
