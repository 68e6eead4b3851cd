// Cost model (docs/COST_MODEL.md) against hand-computed cases, plus its invariants.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/cost_model.hpp"
#include "core/error.hpp"
#include "core/evaluator.hpp"
#include "core/hier_plan.hpp"
#include "core/routing.hpp"

using namespace moeb;

namespace {

SystemModel two_class_system() {
  SystemModel s;
  s.name = "test";
  s.intra = {1e-6, 1e9};   // 1 us, 1 GB/s
  s.inter = {10e-6, 1e8};  // 10 us, 100 MB/s
  s.device.flops = 1e12;
  s.device.mem_bandwidth_Bps = 1e11;
  s.device.act_dtype_bytes = 2;
  s.device.weight_dtype_bytes = 2;
  return s;
}

// A LayerTraffic from a hand-written rows matrix, bytes counted by the evaluator's own rule.
LayerTraffic traffic_from_rows(const std::vector<int64_t>& rows, const Topology& topo,
                               int64_t row_bytes) {
  LayerTraffic lt;
  lt.num_ranks = topo.num_ranks();
  lt.dispatch_row_bytes = lt.combine_row_bytes = row_bytes;
  lt.rows = rows;
  lt.rows_computed.assign(lt.num_ranks, 0);
  lt.tokens_owned.assign(lt.num_ranks, 0);
  for (int s = 0; s < lt.num_ranks; ++s)
    for (int d = 0; d < lt.num_ranks; ++d) lt.rows_computed[d] += rows[s * lt.num_ranks + d];
  lt.dispatch = rank_bytes(rows, topo, row_bytes, false);
  lt.combine = rank_bytes(rows, topo, row_bytes, true);
  return lt;
}

// Random top-k routing of T tokens over E experts, contiguous baseline placement.
struct RandomCase {
  RoutingTrace trace;
  Placement placement;
};
RandomCase random_case(int L, int E, int k, int64_t T, int R, uint32_t seed) {
  RandomCase c{RoutingTrace(L, k, E, T), {}};
  std::mt19937 rng(seed);
  std::vector<int32_t> ids(E);
  for (int l = 0; l < L; ++l)
    for (int64_t t = 0; t < T; ++t) {
      for (int e = 0; e < E; ++e) ids[e] = e;
      std::shuffle(ids.begin(), ids.end(), rng);
      auto ex = c.trace.experts(l, t);
      auto w = c.trace.weights(l, t);
      for (int j = 0; j < k; ++j) {
        ex[j] = ids[j];
        w[j] = 1.0f / k;
      }
    }
  c.placement.num_ranks = R;
  c.placement.layers.resize(L);
  for (auto& lp : c.placement.layers) {
    lp.replicas.resize(E);
    for (int e = 0; e < E; ++e)
      lp.replicas[e] = {static_cast<int>(static_cast<int64_t>(e) * R / E)};
  }
  return c;
}

}  // namespace

TEST(CostModel, UniformAllToAllOnOneNode) {
  const Topology topo = Topology::uniform(1, 4);
  std::vector<int64_t> rows(16, 10);  // every rank sends 10 rows to every rank
  const LayerTraffic lt = traffic_from_rows(rows, topo, 100);
  const SystemModel sys = two_class_system();
  const LayerCostInput in = flat_cost_input(lt, topo);
  ASSERT_EQ(in.dispatch_hops.size(), 1u);
  for (const auto& r : in.dispatch_hops[0]) {
    EXPECT_EQ(r.msgs_sent_intra, 3);
    EXPECT_EQ(r.msgs_recv_intra, 3);
    EXPECT_EQ(r.msgs_sent_inter, 0);
    EXPECT_EQ(r.bytes.sent_intra, 3000);
  }
  // 3 messages * 1 us + 3000 B / 1 GB/s = 6 us, on every rank, both directions.
  EXPECT_NEAR(phase_seconds(sys, in.dispatch_hops[0], topo), 6e-6, 1e-15);
  EXPECT_NEAR(phase_seconds(sys, in.combine_hops[0], topo), 6e-6, 1e-15);
}

TEST(CostModel, TwoNodesKnownMatrixBusiestRankBoundsThePhase) {
  const Topology topo = Topology::uniform(2, 2);  // ranks 0,1 | 2,3
  const std::vector<int64_t> rows = {5, 2, 1, 0,  //
                                     0, 3, 4, 4,  //
                                     1, 0, 2, 6,  //
                                     0, 0, 0, 1};
  const LayerTraffic lt = traffic_from_rows(rows, topo, 1000);
  SystemModel sys = two_class_system();
  const PhaseTraffic p = flat_cost_input(lt, topo).dispatch_hops[0];
  // Rank 0 sends 2 rows intra (1 us + 2 us) and 1 row inter (10 us + 10 us): overlap -> 20 us.
  EXPECT_NEAR(rank_phase_seconds(sys, p[0]), 20e-6, 1e-15);
  // Rank 1 sends 4 + 4 rows inter to two peers: 2 * 10 us + 8000 B / 100 MB/s = 100 us.
  EXPECT_NEAR(rank_phase_seconds(sys, p[1]), 100e-6, 1e-15);
  // Rank 2 receives 1 + 4 rows inter from two peers: 20 us + 50 us.
  EXPECT_NEAR(rank_phase_seconds(sys, p[2]), 70e-6, 1e-15);
  // Rank 3 receives 4 rows inter (10 + 40 us) and 6 rows intra (1 + 6 us): max 50, sum 57.
  EXPECT_NEAR(rank_phase_seconds(sys, p[3]), 50e-6, 1e-15);
  EXPECT_NEAR(phase_seconds(sys, p, topo), 100e-6, 1e-15);
  // A shared NIC of 50 MB/s per node: node 0 sends 1 + 8 rows inter = 9000 B -> 180 us.
  sys.inter.node_bandwidth_Bps = 5e7;
  EXPECT_NEAR(phase_seconds(sys, p, topo), 180e-6, 1e-15);
  sys.inter.node_bandwidth_Bps = 0;
  sys.overlap_intra_inter = false;
  EXPECT_NEAR(rank_phase_seconds(sys, p[3]), 57e-6, 1e-15);
  EXPECT_NEAR(rank_phase_seconds(sys, p[2]), 70e-6, 1e-15);
  // Combine mirrors dispatch: rank 1 now receives the 8000 B.
  const PhaseTraffic c = flat_cost_input(lt, topo).combine_hops[0];
  EXPECT_EQ(c[1].bytes.recv_inter, 8000);
  EXPECT_EQ(c[1].msgs_recv_inter, 2);
  EXPECT_NEAR(phase_seconds(sys, c, topo), 100e-6, 1e-15);
  // Byte totals agree with the evaluator's own count.
  const auto b = flat_cost_input(lt, topo).dispatch_bytes();
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(b[r].sent_intra, lt.dispatch[r].sent_intra);
    EXPECT_EQ(b[r].sent_inter, lt.dispatch[r].sent_inter);
    EXPECT_EQ(b[r].recv_intra, lt.dispatch[r].recv_intra);
    EXPECT_EQ(b[r].recv_inter, lt.dispatch[r].recv_inter);
  }
}

TEST(CostModel, HierarchicalSendsOneInterCopyPerNodeAndForwards) {
  const Topology topo = Topology::uniform(2, 4);  // ranks 0-3 | 4-7
  const int k = 4;
  // 8 tokens, one per rank. Token 0 (rank 0) -> {4, 5, 6, 1}; token 5 (rank 5) -> {0, 1, 2, 6};
  // every other token stays on its owner.
  std::vector<int32_t> dest;
  for (int t = 0; t < 8; ++t) {
    if (t == 0)
      dest.insert(dest.end(), {4, 5, 6, 1});
    else if (t == 5)
      dest.insert(dest.end(), {0, 1, 2, 6});
    else
      dest.insert(dest.end(), {t, t, t, t});
  }
  const HopMatrices h = hierarchical_hops(dest, k, 8, topo, true);
  auto at = [](const std::vector<int64_t>& m, int s, int d) { return m[s * 8 + d]; };
  // Stage 1, inter-node only: rank 0 -> peer 4 (local index 0 on node 1), rank 5 -> peer 1.
  EXPECT_EQ(at(h.stage1, 0, 4), 1);
  EXPECT_EQ(at(h.stage1, 5, 1), 1);
  // Stage 2, intra-node only: owners' own-node copies, and peers forwarding inside their node
  // (rank 1 is itself a destination of token 5, so it keeps its copy).
  EXPECT_EQ(at(h.stage2, 0, 1), 1);
  EXPECT_EQ(at(h.stage2, 5, 6), 1);
  EXPECT_EQ(at(h.stage2, 4, 5), 1);
  EXPECT_EQ(at(h.stage2, 4, 6), 1);
  EXPECT_EQ(at(h.stage2, 1, 0), 1);
  EXPECT_EQ(at(h.stage2, 1, 2), 1);
  int64_t off_diag1 = 0, off_diag2 = 0;
  for (int s = 0; s < 8; ++s)
    for (int d = 0; d < 8; ++d)
      if (s != d) {
        off_diag1 += at(h.stage1, s, d);
        off_diag2 += at(h.stage2, s, d);
      }
  EXPECT_EQ(off_diag1, 2);
  EXPECT_EQ(off_diag2, 6);

  const PhaseTraffic s1 = phase_traffic(h.stage1, topo, 10, false);
  const PhaseTraffic s2 = phase_traffic(h.stage2, topo, 10, false);
  int64_t hier_inter_msgs = 0, hier_inter_bytes = 0, stage2_intra_msgs = 0, stage2_inter = 0;
  for (int r = 0; r < 8; ++r) {
    hier_inter_msgs += s1[r].msgs_sent_inter;
    hier_inter_bytes += s1[r].bytes.sent_inter;
    stage2_intra_msgs += s2[r].msgs_sent_intra;
    stage2_inter += s2[r].bytes.sent_inter + s2[r].msgs_sent_inter;
  }
  EXPECT_EQ(hier_inter_msgs, 2);
  EXPECT_EQ(hier_inter_bytes, 20);
  EXPECT_EQ(stage2_intra_msgs, 6);
  EXPECT_EQ(stage2_inter, 0);  // forwarding never leaves the node

  // Flat dispatch of the same routing: 3 + 3 inter copies, each its own message.
  std::vector<int64_t> flat(64, 0);
  for (int t = 0; t < 8; ++t) {
    std::vector<int32_t> seen;
    for (int j = 0; j < k; ++j) {
      const int d = dest[t * k + j];
      if (std::find(seen.begin(), seen.end(), d) != seen.end()) continue;
      seen.push_back(d);
      ++flat[t * 8 + d];
    }
  }
  const PhaseTraffic f = phase_traffic(flat, topo, 10, false);
  int64_t flat_inter_msgs = 0, flat_inter_bytes = 0;
  for (int r = 0; r < 8; ++r) {
    flat_inter_msgs += f[r].msgs_sent_inter;
    flat_inter_bytes += f[r].bytes.sent_inter;
  }
  EXPECT_EQ(flat_inter_msgs, 6);
  EXPECT_EQ(flat_inter_bytes, 60);
}

TEST(CostModel, HierarchicalWithoutDedupSendsOneCopyPerPair) {
  const Topology topo = Topology::uniform(2, 2);
  // Token 0 (rank 0) -> {2, 3, 3}: stage 1 sends 3 copies to peer 2, stage 2 forwards 2 to 3;
  // tokens 1..3 stay on their owners.
  const std::vector<int32_t> dest = {2, 3, 3, 1, 1, 1, 2, 2, 2, 3, 3, 3};
  const HopMatrices h = hierarchical_hops(dest, 3, 4, topo, false);
  EXPECT_EQ(h.stage1[0 * 4 + 2], 3);
  EXPECT_EQ(h.stage2[2 * 4 + 3], 2);
  const HopMatrices hd = hierarchical_hops(dest, 3, 4, topo, true);
  EXPECT_EQ(hd.stage1[0 * 4 + 2], 1);
  EXPECT_EQ(hd.stage2[2 * 4 + 3], 1);
}

TEST(CostModel, FfnRooflineComputeAndMemoryBound) {
  ModelSpec m;
  m.hidden = 4;
  m.ffn_hidden = 8;
  m.num_experts = 4;
  m.top_k = 1;
  SystemModel s = two_class_system();
  s.device.flops = 1e3;
  s.device.mem_bandwidth_Bps = 1e3;
  // 10 rows: 10 * 6 * 4 * 8 = 1920 FLOPs -> 1.92 s. Bytes: 2 experts * 96 params * 2 B = 384
  // plus 10 rows * (8 + 16) * 2 B = 480 -> 864 B -> 0.864 s. Compute-bound.
  EXPECT_NEAR(ffn_seconds(s, m, 10, 2), 1.92, 1e-12);
  s.device.mem_bandwidth_Bps = 100;
  EXPECT_NEAR(ffn_seconds(s, m, 10, 2), 8.64, 1e-12);
  EXPECT_EQ(ffn_seconds(s, m, 0, 0), 0.0);
}

TEST(CostModel, LayerTimeSumsPhasesAndIdleIsMaxMinusMean) {
  ModelSpec m;
  m.hidden = 4;
  m.ffn_hidden = 8;
  m.num_experts = 4;
  m.top_k = 1;
  SystemModel s = two_class_system();
  s.device.flops = 1e3;
  s.device.mem_bandwidth_Bps = 1e9;  // compute-bound: t_ffn(rows) = rows * 0.192 s
  s.model_permute = false;
  const Topology topo = Topology::uniform(1, 2);
  // Rank 0 keeps 3 rows and sends 1 to rank 1; rank 1 keeps 1 row.
  const LayerTraffic lt = traffic_from_rows({3, 1, 0, 1}, topo, 8);
  LayerCostInput in = flat_cost_input(lt, topo);
  in.experts_touched = {1, 1};
  const LayerPrediction p = predict_layer(s, m, topo, in);
  EXPECT_NEAR(p.rank_ffn[0], 3 * 0.192, 1e-12);
  EXPECT_NEAR(p.rank_ffn[1], 2 * 0.192, 1e-12);
  EXPECT_NEAR(p.t_ffn, 0.576, 1e-12);
  EXPECT_NEAR(p.t_idle_ffn, 0.576 - 0.48, 1e-12);
  EXPECT_NEAR(p.t_dispatch, 1e-6 + 8e-9, 1e-15);
  EXPECT_NEAR(p.t_combine, 1e-6 + 8e-9, 1e-15);
  EXPECT_NEAR(p.t_layer, p.t_dispatch + p.t_ffn + p.t_combine, 1e-15);
  // Permute modeled as read + write of every packed copy (4 copies of 8 B on rank 0).
  s.model_permute = true;
  const LayerPrediction q = predict_layer(s, m, topo, in);
  EXPECT_NEAR(q.rank_permute[0], 2.0 * 4 * 8 / 1e9, 1e-18);
  EXPECT_NEAR(q.t_layer, q.t_permute + q.t_dispatch + q.t_ffn + q.t_combine + q.t_unpermute, 1e-15);
}

TEST(CostModel, FasterLinkNeverPredictsSlowerLayer) {
  const int R = 8, E = 16, k = 4;
  const Topology topo = Topology::uniform(2, 4);
  ModelSpec m;
  m.name = "t";
  m.num_experts = E;
  m.top_k = k;
  m.hidden = 64;
  m.ffn_hidden = 128;
  m.num_layers = 2;
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    const RandomCase c = random_case(2, E, k, 256, R, seed);
    for (const DispatchMode dispatch : {DispatchMode::kFlat, DispatchMode::kHierarchical}) {
      SimulateOptions opt;
      opt.dispatch = dispatch;
      SystemModel base = two_class_system();
      const auto ref = simulate_batch(base, m, topo, c.placement, ReplicaPolicyKind::kPrimary,
                                      nullptr, c.trace, opt);
      std::mt19937 rng(seed);
      std::uniform_real_distribution<double> f(1.0, 10.0);
      for (int trial = 0; trial < 20; ++trial) {
        SystemModel fast = base;
        fast.intra.bandwidth_Bps *= f(rng);
        fast.inter.bandwidth_Bps *= f(rng);
        fast.intra.alpha_s /= f(rng);
        fast.inter.alpha_s /= f(rng);
        fast.device.flops *= f(rng);
        fast.device.mem_bandwidth_Bps *= f(rng);
        fast.overlap_intra_inter = trial % 2 == 0;
        SystemModel slow_base = base;
        slow_base.overlap_intra_inter = fast.overlap_intra_inter;
        const auto a = simulate_batch(slow_base, m, topo, c.placement, ReplicaPolicyKind::kPrimary,
                                      nullptr, c.trace, opt);
        const auto b = simulate_batch(fast, m, topo, c.placement, ReplicaPolicyKind::kPrimary,
                                      nullptr, c.trace, opt);
        for (size_t l = 0; l < a.size(); ++l) {
          EXPECT_LE(b[l].pred.t_dispatch, a[l].pred.t_dispatch);
          EXPECT_LE(b[l].pred.t_combine, a[l].pred.t_combine);
          EXPECT_LE(b[l].pred.t_ffn, a[l].pred.t_ffn);
          EXPECT_LE(b[l].pred.t_layer, a[l].pred.t_layer);
        }
      }
      // Overlapping the two link classes never predicts slower than serializing them.
      SystemModel serial = base;
      serial.overlap_intra_inter = false;
      const auto ser = simulate_batch(serial, m, topo, c.placement, ReplicaPolicyKind::kPrimary,
                                      nullptr, c.trace, opt);
      for (size_t l = 0; l < ref.size(); ++l) EXPECT_LE(ref[l].pred.t_layer, ser[l].pred.t_layer);
    }
  }
}

TEST(CostModel, SimulateBatchCountsAsTheEvaluatorAndHierarchicalCrossesLess) {
  const int R = 8, E = 32, k = 6;
  const Topology topo = Topology::uniform(2, 4);
  ModelSpec m;
  m.num_experts = E;
  m.top_k = k;
  m.hidden = 32;
  m.ffn_hidden = 64;
  m.num_layers = 3;
  const RandomCase c = random_case(3, E, k, 500, R, 7);
  const SystemModel sys = two_class_system();
  SimulateOptions opt;
  opt.seed = 3;
  const auto flat =
      simulate_batch(sys, m, topo, c.placement, ReplicaPolicyKind::kPrimary, nullptr, c.trace, opt);
  opt.dispatch = DispatchMode::kHierarchical;
  const auto hier =
      simulate_batch(sys, m, topo, c.placement, ReplicaPolicyKind::kPrimary, nullptr, c.trace, opt);
  ASSERT_EQ(flat.size(), 3u);
  TrafficOptions topt;
  topt.dispatch_row_bytes = topt.combine_row_bytes = sys.row_bytes(m);
  for (int l = 0; l < 3; ++l) {
    const LayerTraffic lt = evaluate_layer(c.trace, l, c.placement.layers[l],
                                           ReplicaPolicyKind::kPrimary, topo, topt, {3, l, 0});
    int64_t flat_inter = 0, hier_inter = 0, sent_intra = 0, recv_intra = 0, rows = 0;
    for (int r = 0; r < R; ++r) {
      EXPECT_EQ(flat[l].dispatch[r].sent_inter, lt.dispatch[r].sent_inter);
      EXPECT_EQ(flat[l].dispatch[r].recv_intra, lt.dispatch[r].recv_intra);
      EXPECT_EQ(flat[l].combine[r].sent_inter, lt.combine[r].sent_inter);
      EXPECT_EQ(flat[l].rows_computed[r], lt.rows_computed[r]);
      EXPECT_EQ(hier[l].rows_computed[r], lt.rows_computed[r]);
      // Combine mirrors dispatch on every rank, in both modes.
      EXPECT_EQ(hier[l].combine[r].sent(), hier[l].dispatch[r].recv());
      flat_inter += flat[l].dispatch[r].sent_inter;
      hier_inter += hier[l].dispatch[r].sent_inter;
      sent_intra += hier[l].dispatch[r].sent_intra;
      recv_intra += hier[l].dispatch[r].recv_intra;
      rows += hier[l].rows_computed[r];
    }
    EXPECT_EQ(rows, 500 * k);
    EXPECT_EQ(sent_intra, recv_intra);
    EXPECT_LT(hier_inter, flat_inter);  // 6 of 8 ranks per token: many share a node
    EXPECT_GE(hier[l].pred.t_layer, hier[l].pred.t_dispatch);
  }
}

TEST(CostModel, PredictedPhaseTimesAreMediansOverIterations) {
  std::vector<std::vector<LayerPrediction>> it(3, std::vector<LayerPrediction>(2));
  const double disp[3] = {3.0, 1.0, 2.0};
  for (int i = 0; i < 3; ++i)
    for (int l = 0; l < 2; ++l) {
      it[i][l].t_dispatch = disp[i] * (l + 1);
      it[i][l].t_layer = 10 + i;
    }
  const auto p = predicted_phase_times(it);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_DOUBLE_EQ(p.at("t_dispatch")[0], 2.0);
  EXPECT_DOUBLE_EQ(p.at("t_dispatch")[1], 4.0);
  EXPECT_DOUBLE_EQ(p.at("t_layer")[1], 11.0);
  EXPECT_EQ(p.at("t_ffn").size(), 2u);
}

TEST(CostModel, ValidateSystemNamesTheBadKey) {
  SystemModel s = two_class_system();
  EXPECT_NO_THROW(validate_system(s, "x.toml"));
  s.inter.bandwidth_Bps = 0;
  try {
    validate_system(s, "x.toml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("inter.bandwidth_Bps"), std::string::npos);
  }
}

TEST(CostModel, HierarchicalHopsMatchTheRuntimesHierPlan) {
  const Topology topo = Topology::uniform(3, 2);
  const int R = 6, E = 12, k = 4;
  const RandomCase c = random_case(1, E, k, 90, R, 11);
  std::vector<int32_t> dest(90 * k);
  route_layer(c.placement.layers[0], ReplicaPolicyKind::kPrimary, topo, c.trace.layer_experts(0), k,
              {1, 0, 0}, dest);
  for (bool dedup : {true, false}) {
    const HopMatrices h = hierarchical_hops(dest, k, 90, topo, dedup);
    for (int me = 0; me < R; ++me) {
      const HierPlan p = build_hier_plan(c.trace.layer_experts(0), c.trace.layer_weights(0), dest,
                                         k, topo, me, dedup);
      for (int d = 0; d < R; ++d) {
        if (d == me) continue;
        EXPECT_EQ(h.stage1[me * R + d], p.relay_send_counts[d]) << me << "->" << d << " hop 1";
        EXPECT_EQ(h.stage2[me * R + d], p.local.send_counts[d]) << me << "->" << d << " hop 2";
      }
    }
  }
}

TEST(CostModel, FitLinkRecoversAlphaAndBandwidth) {
  std::vector<LatencySample> s;
  for (double b = 8; b <= 4 << 20; b *= 4) s.push_back({b, 2e-6 + b / 5e9});
  const LinkFit f = fit_link(s);
  EXPECT_NEAR(f.link.alpha_s, 2e-6, 1e-12);
  EXPECT_NEAR(f.link.bandwidth_Bps, 5e9, 5e9 * 1e-9);
  EXPECT_LT(f.max_rel_residual, 1e-9);
  // A curve that would fit a negative latency is refitted through the origin.
  const std::vector<LatencySample> neg = {{1000, 0.5e-6}, {2000, 1.5e-6}, {4000, 3.5e-6}};
  const LinkFit g = fit_link(neg);
  EXPECT_EQ(g.link.alpha_s, 0.0);
  EXPECT_GT(g.link.bandwidth_Bps, 0.0);
  EXPECT_THROW(fit_link(std::vector<LatencySample>{{8, 1e-6}}), Error);
}
