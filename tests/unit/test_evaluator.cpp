// The traffic evaluator on cases small enough to count by hand: dedup, self copies (0 bytes),
// intra/inter split, combine as the mirror of dispatch.
#include <gtest/gtest.h>

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

// A routed layer counted with experts_touched in one pass (the measuring pass's path for
// stateful policies) gives the evaluator's counts and experts_touched, with and without dedup:
// least-load and weighted round robin routing of the placement above.
TEST(Evaluator, RoutedCountedWithTouchedEqualsRoutedCounts) {
  const Topology topo = Topology::uniform(3, 2);
  const int E = 6, k = 3, R = topo.num_ranks();
  const std::vector<int32_t> experts = random_experts(997, k, E, 13);
  LayerPlacement lp;
  lp.replicas = {{0}, {1, 4}, {2}, {3, 5, 0}, {4, 2}, {5, 1}};
  for (const auto policy : {ReplicaPolicyKind::kLeastLoad, ReplicaPolicyKind::kWeightedRR})
    for (const bool dedup : {true, false}) {
      std::vector<int32_t> dest(experts.size());
      route_layer(lp, policy, topo, experts, k, RouteContext{42, 3, 7}, dest);
      const TrafficOptions opt{dedup, 10, 6};
      std::vector<int64_t> touched;
      const LayerTraffic got = evaluate_routed_touched(experts, dest, k, E, topo, opt, touched);
      SCOPED_TRACE(std::string(to_string(policy)) + (dedup ? ", dedup" : ", no dedup"));
      expect_same_counts(got, evaluate_routed_layer(dest, k, topo, opt), touched, experts, dest,
                         R, E);
    }
}

}  // namespace
}  // namespace moeb
