// Hierarchical dispatch index math: every (token, expert) pair reaches the rank routing chose
// exactly once with its weight; hop 1 only crosses nodes, to the same-local-index peer, at most
// once per (token, remote node) with dedup; hop 2 stays inside the node; senders and receivers
// agree on every count; inter-node rows never exceed the flat dispatch's.
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <string>
#include <set>

#include "../mpi/test_workload.hpp"
#include "core/evaluator.hpp"
#include "core/hier_plan.hpp"
#include "core/routing.hpp"

namespace moeb {
namespace {

constexpr int kTopK = 4, kExperts = 16;

struct Case {
  int nodes, per_node;
  bool dedup;
};

// Readable parameters in failure messages and test names (not the struct's bytes).
std::string case_name(const Case& c) {
  return std::to_string(c.nodes) + "x" + std::to_string(c.per_node) +
         (c.dedup ? "_dedup" : "_nodedup");
}
void PrintTo(const Case& c, std::ostream* os) { *os << case_name(c); }

class HierPlanTest : public ::testing::TestWithParam<Case> {};

TEST_P(HierPlanTest, DeliversEveryPairOnceAndCrossesNodesOnce) {
  const Case c = GetParam();
  const Topology topo = Topology::uniform(c.nodes, c.per_node);
  const int R = topo.num_ranks();
  const int64_t T = 77;
  const RoutingTrace batch = testing::make_random_trace(1, kTopK, kExperts, T, 21);
  LayerPlacement lp;
  for (int e = 0; e < kExperts; ++e) lp.replicas.push_back({e % R, (e + 1) % R});
  if (R == 1)
    for (auto& r : lp.replicas) r.resize(1);
  std::vector<int32_t> dest;
  const LayerTraffic flat =
      evaluate_layer(batch, 0, lp, ReplicaPolicyKind::kUniform, topo,
                     TrafficOptions{c.dedup, 1, 1}, RouteContext{3, 0, 0}, &dest);
  std::vector<HierPlan> plans;
  for (int me = 0; me < R; ++me)
    plans.push_back(build_hier_plan(batch.layer_experts(0), batch.layer_weights(0), dest, kTopK,
                                    topo, me, c.dedup));

  std::map<std::pair<int64_t, int>, int> delivered;  // (token, expert) -> times
  int64_t hier_inter_rows = 0, flat_inter_rows = 0, expected_inter_rows = 0;
  for (int me = 0; me < R; ++me) {
    const HierPlan& h = plans[me];
    EXPECT_EQ(h.owned, flat.tokens_owned[me]);
    EXPECT_EQ(h.local.rows_computed(), flat.rows_computed[me]);
    for (int p = 0; p < R; ++p) {
      // Hop 1: only to the peer on another node; counts agree between the two ends.
      if (h.relay_send_counts[p] > 0) {
        EXPECT_FALSE(topo.same_node(me, p));
        EXPECT_EQ(relay_peer(topo, me, topo.node_of(p)), p);
      }
      EXPECT_EQ(h.relay_send_counts[p], plans[p].relay_recv_counts[me]);
      hier_inter_rows += h.relay_send_counts[p];
      // Hop 2: inside the node only; counts agree.
      if (h.local.send_counts[p] > 0) {
        EXPECT_TRUE(topo.same_node(me, p));
      }
      EXPECT_EQ(h.local.send_counts[p], plans[p].local.recv_counts[me]);
      if (!topo.same_node(me, p)) flat_inter_rows += flat.rows[static_cast<size_t>(me) * R + p];
    }
    for (int64_t i = 0; i < static_cast<int64_t>(h.local.send_token.size()); ++i)
      EXPECT_LT(h.local.send_token[i], h.held());
    for (int64_t row = 0; row < h.local.rows_received(); ++row)
      for (int64_t q = h.local.pair_offsets[row]; q < h.local.pair_offsets[row + 1]; ++q) {
        const int64_t t = h.local.recv_token[row];
        const auto e = batch.experts(0, t);
        const auto j = std::find(e.begin(), e.end(), h.local.pair_expert[q]) - e.begin();
        ASSERT_LT(j, kTopK);
        EXPECT_EQ(dest[static_cast<size_t>(t) * kTopK + j], me);
        EXPECT_FLOAT_EQ(h.local.pair_weight[q], batch.weights(0, t)[j]);
        ++delivered[{t, h.local.pair_expert[q]}];
      }
  }
  // Independent count of hop-1 rows: (token, remote node) pairs with dedup, remote pairs without.
  for (int64_t t = 0; t < T; ++t) {
    const int home = topo.node_of(owner_of_token(t, T, R));
    std::set<int> nodes;
    for (int j = 0; j < kTopK; ++j) {
      const int n = topo.node_of(dest[static_cast<size_t>(t) * kTopK + j]);
      if (n == home) continue;
      if (c.dedup) nodes.insert(n);
      else ++expected_inter_rows;
    }
    expected_inter_rows += static_cast<int64_t>(nodes.size());
  }
  EXPECT_EQ(hier_inter_rows, expected_inter_rows);
  EXPECT_LE(hier_inter_rows, flat_inter_rows);
  EXPECT_EQ(delivered.size(), static_cast<size_t>(T * kTopK));
  for (const auto& [key, n] : delivered) EXPECT_EQ(n, 1) << key.first << "," << key.second;
}

INSTANTIATE_TEST_SUITE_P(Topologies, HierPlanTest,
                         ::testing::Values(Case{2, 2, true}, Case{2, 2, false}, Case{3, 2, true},
                                           Case{2, 4, true}, Case{1, 3, true}, Case{4, 1, false},
                                           Case{1, 1, true}),
                         [](const auto& p) { return case_name(p.param); });

TEST(HierPlan, RelayPeerKeepsTheLocalIndex) {
  const Topology topo = Topology::from_node_map({0, 0, 0, 1, 1, 2});
  EXPECT_EQ(relay_peer(topo, 1, 1), 4);  // local 1 -> local 1 of node 1
  EXPECT_EQ(relay_peer(topo, 2, 1), 3);  // local 2 -> node 1 has 2 ranks: 2 % 2 = 0
  EXPECT_EQ(relay_peer(topo, 4, 2), 5);  // node 2 has one rank
  EXPECT_EQ(relay_peer(topo, 5, 0), 0);
}

}  // namespace
}  // namespace moeb
