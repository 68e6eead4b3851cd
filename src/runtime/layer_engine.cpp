#include "runtime/layer_engine.hpp"

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
}  // namespace

std::array<int64_t, kNumCountMetrics> layer_counts(const DispatchPlan& plan, const Topology& topo,
                                                   int64_t dispatch_row_bytes,
                                                   int64_t combine_row_bytes) {
  std::array<int64_t, kNumCountMetrics> c{};
  c[0] = plan.token_end - plan.token_begin;
  c[1] = plan.rows_computed();
  for (int r = 0; r < plan.num_ranks; ++r) {
    if (r == plan.me) continue;
    const int inter = topo.same_node(plan.me, r) ? 0 : 1;
    c[2 + inter] += plan.send_counts[r] * dispatch_row_bytes;  // bytes_sent_{intra,inter}
    c[4 + inter] += plan.recv_counts[r] * dispatch_row_bytes;  // bytes_recv_{intra,inter}
    // Combine mirrors dispatch: what was received goes back, what was sent comes back.
    c[6 + inter] += plan.recv_counts[r] * combine_row_bytes;
    c[8 + inter] += plan.send_counts[r] * combine_row_bytes;
  }
  return c;
}

namespace {

// The per-phase seconds of time_metric_names(): t_gate, t_permute, t_dispatch, t_ffn,
// t_combine, t_unpermute, t_layer, t_wait_dispatch, t_wait_combine.
std::array<double, kNumTimeMetrics> phase_times(Backend& backend) {
  return {backend.elapsed_s(kStart, kGated),          backend.elapsed_s(kGated, kPermuted),
          backend.elapsed_s(kDispatchReady, kDispatched),
          backend.elapsed_s(kDispatched, kComputed),  backend.elapsed_s(kCombineReady, kCombined),
          backend.elapsed_s(kCombined, kEnd),         backend.elapsed_s(kStart, kEnd),
          backend.elapsed_s(kPermuted, kDispatchReady),
          backend.elapsed_s(kComputed, kCombineReady)};
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
  st.dest.resize(in.experts.size());
  route_layer(*in.placement, in.policy, *in.topo, in.experts, in.top_k, in.route, st.dest);
  st.hier = build_hier_plan(in.experts, in.weights, st.dest, in.top_k, *in.topo, me, in.dedup);
  const HierPlan& h = st.hier;
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
  transport.alltoallv(backend.dispatch_send(), h.local.send_counts, h.local.send_offsets,
                      backend.dispatch_recv(), h.local.recv_counts, h.local.recv_offsets,
                      backend.dispatch_row_bytes());
  backend.record_time(kDispatched);

  backend.expert_ffn(in.route.layer, h.local);
  backend.record_time(kComputed);

  sync_probe(backend, transport, in.sync_probe);
  backend.record_time(kCombineReady);
  a2a_sync();
  transport.alltoallv(backend.combine_send(), h.local.recv_counts, h.local.recv_offsets,
                      backend.combine_recv(), h.local.send_counts, h.local.send_offsets,
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

std::array<int64_t, kNumCountMetrics> hier_layer_counts(const HierPlan& h, const Topology& topo,
                                                        int64_t dispatch_row_bytes,
                                                        int64_t combine_row_bytes) {
  // Hop 2 is counted like a flat plan (it only reaches ranks of the node); hop 1 adds the relay
  // rows on the links it actually uses.
  std::array<int64_t, kNumCountMetrics> c =
      layer_counts(h.local, topo, dispatch_row_bytes, combine_row_bytes);
  const int me = h.local.me;
  for (int r = 0; r < h.local.num_ranks; ++r) {
    if (r == me) continue;
    const int inter = topo.same_node(me, r) ? 0 : 1;
    c[2 + inter] += h.relay_send_counts[r] * dispatch_row_bytes;
    c[4 + inter] += h.relay_recv_counts[r] * dispatch_row_bytes;
    c[6 + inter] += h.relay_recv_counts[r] * combine_row_bytes;
    c[8 + inter] += h.relay_send_counts[r] * combine_row_bytes;
  }
  return c;
}

LayerSample run_layer(Backend& backend, Transport& transport, const LayerInput& in,
                      LayerState& st) {
  if (in.hierarchical) return run_hier_layer(backend, transport, in, st);
  const int R = transport.size(), me = transport.rank();
  const bool sync_before_a2a = !transport.stream_ordered();
  DispatchPlan& plan = st.plan;

  backend.record_time(kStart);
  // Gate: the whole batch's routing (every rank computes it identically), then this rank's plan.
  st.dest.resize(in.experts.size());
  route_layer(*in.placement, in.policy, *in.topo, in.experts, in.top_k, in.route, st.dest);
  plan = build_dispatch_plan(in.experts, in.weights, st.dest, in.top_k, R, me, in.dedup);
  backend.record_time(kGated);

  backend.prepare(plan);
  backend.permute(plan);
  backend.record_time(kPermuted);

  sync_probe(backend, transport, in.sync_probe);
  backend.record_time(kDispatchReady);
  if (sync_before_a2a) backend.synchronize();
  transport.alltoallv(backend.dispatch_send(), plan.send_counts, plan.send_offsets,
                      backend.dispatch_recv(), plan.recv_counts, plan.recv_offsets,
                      backend.dispatch_row_bytes());
  backend.record_time(kDispatched);

  backend.expert_ffn(in.route.layer, plan);
  backend.record_time(kComputed);

  sync_probe(backend, transport, in.sync_probe);
  backend.record_time(kCombineReady);
  if (sync_before_a2a) backend.synchronize();
  transport.alltoallv(backend.combine_send(), plan.recv_counts, plan.recv_offsets,
                      backend.combine_recv(), plan.send_counts, plan.send_offsets,
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
