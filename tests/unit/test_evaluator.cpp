// The traffic evaluator on cases small enough to count by hand: dedup, self copies (0 bytes),
// intra/inter split, combine as the mirror of dispatch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/cost_model.hpp"
#include "core/error.hpp"
#include "core/evaluator.hpp"
#include "core/rng.hpp"

namespace moeb {
namespace {

// 4 tokens, top-2, 4 experts on 4 ranks (expert e on rank e), 2 nodes x 2 ranks.
// Owners: token t on rank t. Routing chosen so that:
//   t0 -> {e0, e1}: self + intra;  t1 -> {e2, e3}: two inter copies to node 1;
//   t2 -> {e2, e0}: self + inter;  t3 -> {e3, e1}: self + inter.
struct Tiny {
  RoutingTrace batch{1, 2, 4, 4};
  LayerPlacement lp;
  Topology topo = Topology::uniform(2, 2);
  Tiny() {
    const int32_t ids[4][2] = {{0, 1}, {2, 3}, {2, 0}, {3, 1}};
    for (int t = 0; t < 4; ++t)
      for (int j = 0; j < 2; ++j) {
        batch.experts(0, t)[j] = ids[t][j];
        batch.weights(0, t)[j] = 0.5f;
      }
    lp.replicas = {{0}, {1}, {2}, {3}};
  }
};

TEST(Evaluator, CountsTinyCaseByHand) {
  Tiny c;
  const LayerTraffic lt = evaluate_layer(c.batch, 0, c.lp, ReplicaPolicyKind::kPrimary, c.topo,
                                         TrafficOptions{true, 10, 4}, RouteContext{});
  const std::vector<int64_t> rows = {1, 1, 0, 0,   // t0 from rank 0: e0 (self), e1
                                     0, 0, 1, 1,   // t1 from rank 1: e2, e3
                                     1, 0, 1, 0,   // t2 from rank 2: e2 (self), e0
                                     0, 1, 0, 1};  // t3 from rank 3: e3 (self), e1
  EXPECT_EQ(lt.rows, rows);
  EXPECT_EQ(lt.rows_computed, (std::vector<int64_t>{2, 2, 2, 2}));
  EXPECT_EQ(lt.tokens_owned, (std::vector<int64_t>{1, 1, 1, 1}));
  // Rank 0: sends 1 row intra (to 1); receives 1 row inter (from 2). Self copies cost nothing.
  EXPECT_EQ(lt.dispatch[0].sent_intra, 10);
  EXPECT_EQ(lt.dispatch[0].sent_inter, 0);
  EXPECT_EQ(lt.dispatch[0].recv_intra, 0);
  EXPECT_EQ(lt.dispatch[0].recv_inter, 10);
  // Rank 1: sends 2 rows inter; receives 1 intra (from 0) and 1 inter (from 3).
  EXPECT_EQ(lt.dispatch[1].sent_inter, 20);
  EXPECT_EQ(lt.dispatch[1].recv_intra, 10);
  EXPECT_EQ(lt.dispatch[1].recv_inter, 10);
  // Combine mirrors dispatch with its own row size.
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(lt.combine[r].sent_intra * 10, lt.dispatch[r].recv_intra * 4);
    EXPECT_EQ(lt.combine[r].sent_inter * 10, lt.dispatch[r].recv_inter * 4);
    EXPECT_EQ(lt.combine[r].recv_inter * 10, lt.dispatch[r].sent_inter * 4);
  }
  EXPECT_EQ(lt.dispatch_bytes(0, 0), 0);
  EXPECT_EQ(lt.dispatch_bytes(1, 3), 10);
  EXPECT_EQ(lt.max_rank_bytes(), 20);
}

TEST(Evaluator, DedupSendsATokenOncePerRank) {
  Tiny c;
  c.lp.replicas = {{1}, {1}, {0}, {0}};  // both experts of t0 on rank 1, of t1 on rank 0
  const auto on = evaluate_layer(c.batch, 0, c.lp, ReplicaPolicyKind::kPrimary, c.topo,
                                 TrafficOptions{true, 10, 10}, RouteContext{});
  const auto off = evaluate_layer(c.batch, 0, c.lp, ReplicaPolicyKind::kPrimary, c.topo,
                                  TrafficOptions{false, 10, 10}, RouteContext{});
  EXPECT_EQ(on.rows[0 * 4 + 1], 1);   // t0: e0, e1 both on rank 1 -> one copy
  EXPECT_EQ(off.rows[0 * 4 + 1], 2);  // one per pair without dedup
  EXPECT_EQ(on.rows[1 * 4 + 0], 1);   // t1: e2, e3 both on rank 0 -> one copy
  EXPECT_EQ(off.rows[1 * 4 + 0], 2);
  EXPECT_EQ(on.rows_computed, off.rows_computed);  // compute load does not depend on dedup
  EXPECT_EQ(off.total_bytes() - on.total_bytes(), 2 * 2 * 10);  // 2 copies saved, both ways
}

TEST(Evaluator, BytesAreConservedAcrossRanks) {
  Tiny c;
  const auto lt = evaluate_layer(c.batch, 0, c.lp, ReplicaPolicyKind::kPrimary, c.topo,
                                 TrafficOptions{true, 8, 8}, RouteContext{});
  int64_t si = 0, ri = 0, se = 0, re = 0;
  for (const auto& b : lt.dispatch) {
    si += b.sent_intra;
    ri += b.recv_intra;
    se += b.sent_inter;
    re += b.recv_inter;
  }
  EXPECT_EQ(si, ri);
  EXPECT_EQ(se, re);
  EXPECT_EQ(lt.inter_node_bytes(), 2 * se);
}

// T tokens of top-k over E experts, drawn uniformly (repeats within a token included).
std::vector<int32_t> random_experts(int64_t T, int k, int E, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> experts(static_cast<size_t>(T) * k);
  for (auto& x : experts) x = static_cast<int32_t>(rng.below(E));
  return experts;
}

// A counting path's result against the evaluator's on the routed layer (dest) of `experts`.
void expect_same_counts(const LayerTraffic& got, const LayerTraffic& want,
                        const std::vector<int64_t>& touched, const std::vector<int32_t>& experts,
                        const std::vector<int32_t>& dest, int R, int E) {
  EXPECT_EQ(got.rows, want.rows);
  EXPECT_EQ(got.rows_computed, want.rows_computed);
  EXPECT_EQ(got.tokens_owned, want.tokens_owned);
  EXPECT_EQ(got.total_bytes(), want.total_bytes());
  EXPECT_EQ(touched, experts_touched(experts, dest, R, E));
}

// Counting per expert (the measuring pass's path for placements with one expert per rank)
// gives the evaluator's counts and experts_touched of the routed layer: 7 experts on 3x4 ranks
// (5 ranks host none), 1001 tokens of top-3 (uneven owners), repeated experts in some tokens.
TEST(Evaluator, CountingPerExpertEqualsRoutedCounts) {
  const Topology topo = Topology::uniform(3, 4);
  const int E = 7, k = 3, R = topo.num_ranks();
  const std::vector<int32_t> experts = random_experts(1001, k, E, 7);
  const std::vector<int32_t> rank_of = {11, 0, 5, 3, 8, 9, 2};
  std::vector<int32_t> dest(experts.size());
  for (size_t i = 0; i < dest.size(); ++i) dest[i] = rank_of[experts[i]];
  const TrafficOptions opt{true, 10, 6};
  const LayerTraffic want = evaluate_routed_layer(dest, k, topo, opt);
  ExpertCounts c;
  count_experts(experts, k, R, E, c);
  std::vector<int64_t> touched;
  const LayerTraffic got = evaluate_by_expert(c, rank_of, topo, opt, touched);
  expect_same_counts(got, want, touched, experts, dest, R, E);
  std::vector<int32_t> shared = rank_of;
  shared[1] = shared[0];  // a rank hosting two experts: dedup needs the routing
  EXPECT_THROW(evaluate_by_expert(c, shared, topo, opt, touched), Error);
  EXPECT_THROW(evaluate_by_expert(c, rank_of, topo, TrafficOptions{false, 10, 6}, touched), Error);
}

// Routing and counting in one pass (primary and uniform policies) gives route_layer's routing
// counted by the evaluator, with and without dedup: 6 experts, some with several replicas
// (two on one rank for expert 4), 3x2 ranks, 997 tokens of top-3 with repeats.
TEST(Evaluator, StatelessRoutingCountedInOnePassEqualsRoutedCounts) {
  const Topology topo = Topology::uniform(3, 2);
  const int E = 6, k = 3, R = topo.num_ranks();
  const std::vector<int32_t> experts = random_experts(997, k, E, 11);
  LayerPlacement lp;
  lp.replicas = {{0}, {1, 4}, {2}, {3, 5, 0}, {4, 4}, {5, 1}};
  const RouteContext ctx{42, 3, 7};
  for (const auto policy : {ReplicaPolicyKind::kPrimary, ReplicaPolicyKind::kUniform})
    for (const bool dedup : {true, false}) {
      std::vector<int32_t> dest(experts.size());
      route_layer(lp, policy, topo, experts, k, ctx, dest);
      const TrafficOptions opt{dedup, 10, 6};
      const LayerTraffic want = evaluate_routed_layer(dest, k, topo, opt);
      std::vector<int64_t> touched;
      const LayerTraffic got = evaluate_stateless_layer(StatelessRoute(lp, policy, ctx), experts, k,
                                                        E, topo, opt, touched);
      SCOPED_TRACE(std::string(policy == ReplicaPolicyKind::kPrimary ? "primary" : "uniform") +
                   (dedup ? ", dedup" : ", no dedup"));
      expect_same_counts(got, want, touched, experts, dest, R, E);
    }
}

// The one-pass count of the uniform policy routes a choice of a replicated expert by a hash on a
// branch when few or most choices are replicated, and hashes every choice otherwise (the share of
// the layer's first choices decides; core/evaluator.cpp slot_mode): each way gives the routed
// counts. 40 experts on 4x4 ranks, 2003 tokens of top-4; replicated: none, 1, 10, 20, 35 and all
// 40 experts (some with a second replica on the same rank, some with a third), so the share of replicated choices
// runs from 0 through about 1/40, 1/4, 1/2 and 7/8 to 1.
TEST(Evaluator, StatelessCountingEqualsRoutedCountsAtAnyShareOfReplicatedChoices) {
  const Topology topo = Topology::uniform(4, 4);
  const int E = 40, k = 4, R = topo.num_ranks();
  const std::vector<int32_t> experts = random_experts(2003, k, E, 5);
  const RouteContext ctx{7, 1, 2};
  for (const int replicated : {0, 1, 10, 20, 35, 40}) {
    LayerPlacement lp;
    lp.replicas.resize(E);
    for (int e = 0; e < E; ++e) {
      lp.replicas[e] = {e % R};
      if ((e + E - 1) % E >= replicated) continue;  // experts 1, 2, ..., then 0
      lp.replicas[e].push_back(e % 3 == 0 ? e % R : (e * 7 + 3) % R);
      if (e % 5 == 0) lp.replicas[e].push_back((e + 9) % R);
    }
    std::vector<int32_t> dest(experts.size());
    route_layer(lp, ReplicaPolicyKind::kUniform, topo, experts, k, ctx, dest);
    for (const bool dedup : {true, false}) {
      const TrafficOptions opt{dedup, 10, 6};
      const LayerTraffic want = evaluate_routed_layer(dest, k, topo, opt);
      std::vector<int64_t> touched;
      const LayerTraffic got = evaluate_stateless_layer(
          StatelessRoute(lp, ReplicaPolicyKind::kUniform, ctx), experts, k, E, topo, opt, touched);
      SCOPED_TRACE(std::to_string(replicated) + " experts replicated" +
                   (dedup ? ", dedup" : ", no dedup"));
      expect_same_counts(got, want, touched, experts, dest, R, E);
    }
  }
}

// The replica choice of the stateful policies as route_layer made it before StatefulRoute (one
// choice at a time: std::find of the owner among all replicas, candidate sets rebuilt per call,
// wrr state in a map keyed by (expert, node or "remote"), the choice's hash always drawn): the
// reference the one-pass routing must reproduce decision for decision.
std::vector<int32_t> reference_route(const LayerPlacement& lp, ReplicaPolicyKind policy,
                                     const Topology& topo, const std::vector<int32_t>& experts,
                                     int k, const RouteContext& ctx) {
  const int R = topo.num_ranks();
  const int64_t T = static_cast<int64_t>(experts.size()) / k;
  std::vector<double> load(R, 0.0);
  double pred_total = 0;
  for (double x : lp.predicted_rank_load) pred_total += x;
  if (policy == ReplicaPolicyKind::kLeastLoad && pred_total > 0)
    for (int r = 0; r < R; ++r)
      load[r] = lp.predicted_rank_load[r] / pred_total * static_cast<double>(experts.size());
  std::map<uint64_t, std::vector<double>> wrr;
  std::vector<int32_t> dest(experts.size());
  for (int64_t t = 0; t < T; ++t) {
    const int owner = owner_of_token(t, T, R);
    for (int j = 0; j < k; ++j) {
      const int e = experts[static_cast<size_t>(t) * k + j];
      const auto& reps = lp.replicas[e];
      const uint64_t h = hash_counters(ctx.seed, ctx.layer, ctx.batch_index, t, j);
      int chosen = reps[0];
      if (reps.size() > 1 && std::find(reps.begin(), reps.end(), owner) != reps.end()) {
        chosen = owner;
      } else if (reps.size() > 1) {
        bool local = false;
        for (int r : reps) local |= topo.same_node(r, owner);
        std::vector<int> c;
        std::vector<double> w;
        for (size_t i = 0; i < reps.size(); ++i)
          if (!local || topo.same_node(reps[i], owner)) {
            c.push_back(reps[i]);
            w.push_back(lp.replica_weights.empty() ? 1.0 : lp.replica_weights[e][i]);
          }
        if (std::any_of(w.begin(), w.end(), [](double x) { return !(x > 0) || !std::isfinite(x); }))
          w.assign(c.size(), 1.0);
        if (policy == ReplicaPolicyKind::kLocality) {
          chosen = c[bounded(h, c.size())];
        } else if (policy == ReplicaPolicyKind::kWeightedRR) {
          const uint64_t key = (static_cast<uint64_t>(e) << 32) ^
                               (local ? static_cast<uint64_t>(topo.node_of(owner)) : 0xFFFFFFFFULL);
          auto& cur = wrr[key];
          cur.resize(c.size(), 0.0);
          double total = 0;
          size_t best = 0;
          for (size_t i = 0; i < c.size(); ++i) {
            cur[i] += w[i];
            total += w[i];
            if (cur[i] > cur[best]) best = i;
          }
          cur[best] -= total;
          chosen = c[best];
        } else {  // least load, ties by the lowest hash_counters(h, rank)
          double best = std::numeric_limits<double>::infinity();
          for (int r : c)
            if (load[r] < best ||
                (load[r] == best && hash_counters(h, r) < hash_counters(h, chosen))) {
              best = load[r];
              chosen = r;
            }
        }
      }
      if (policy == ReplicaPolicyKind::kLeastLoad) load[chosen] += 1.0;
      dest[static_cast<size_t>(t) * k + j] = chosen;
    }
  }
  return dest;
}

// A random placement of E experts on the ranks of `topo`: 1 to 4 distinct replicas each,
// weights on some layers (some invalid: 0), predicted loads on some (small integers: ties).
LayerPlacement random_placement(int E, const Topology& topo, uint64_t seed) {
  Rng rng(seed);
  const int R = topo.num_ranks();
  LayerPlacement lp;
  const bool weighted = rng.below(3) != 0, predicted = rng.below(3) != 0;
  for (int e = 0; e < E; ++e) {
    std::vector<int> reps;
    const int n = 1 + static_cast<int>(rng.below(4));
    while (static_cast<int>(reps.size()) < n) {
      const int r = static_cast<int>(rng.below(R));
      if (std::find(reps.begin(), reps.end(), r) == reps.end()) reps.push_back(r);
    }
    std::vector<double> w;
    for (int i = 0; i < n; ++i) w.push_back(static_cast<double>(rng.below(4)));
    lp.replicas.push_back(reps);
    if (weighted) lp.replica_weights.push_back(w);
  }
  if (predicted)
    for (int r = 0; r < R; ++r) lp.predicted_rank_load.push_back(static_cast<double>(rng.below(3)));
  return lp;
}

// Stateful policies (least load, weighted round robin, locality) routed by StatefulRoute make
// the reference's decisions, and counted in one pass (the measuring pass's path for them on
// flat dispatch) give the evaluator's counts and experts_touched of that routing, with and
// without dedup: 40 random placements of 9 experts with replicas on uneven nodes (5, 3, 1, 3
// ranks), 1009 tokens of top-4 with repeats.
TEST(Evaluator, StatefulRoutingCountedInOnePassEqualsRoutedCounts) {
  const Topology topo = Topology::from_node_map({0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 3, 3});
  const int E = 9, k = 4, R = topo.num_ranks();
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const std::vector<int32_t> experts = random_experts(1009, k, E, 100 + seed);
    const LayerPlacement lp = random_placement(E, topo, seed);
    const RouteContext ctx{seed, 3, 7};
    for (const auto policy : {ReplicaPolicyKind::kLeastLoad, ReplicaPolicyKind::kWeightedRR,
                              ReplicaPolicyKind::kLocality}) {
      SCOPED_TRACE(std::string(to_string(policy)) + ", placement " + std::to_string(seed));
      std::vector<int32_t> dest(experts.size());
      route_layer(lp, policy, topo, experts, k, ctx, dest);
      ASSERT_EQ(dest, reference_route(lp, policy, topo, experts, k, ctx));
      for (const bool dedup : {true, false}) {
        const TrafficOptions opt{dedup, 10, 6};
        std::vector<int64_t> touched;
        StatefulRoute route(lp, policy, topo, ctx, experts.size());
        const LayerTraffic got = evaluate_stateful_layer(route, experts, k, E, topo, opt, touched);
        expect_same_counts(got, evaluate_routed_layer(dest, k, topo, opt), touched, experts, dest,
                           R, E);
      }
    }
  }
}

}  // namespace
}  // namespace moeb
