// DispatchPlan (the runtime's index math) against the pure evaluator: the rows each rank sends
// and receives, the rows it computes and the bytes the runtime would count must agree exactly,
// with dedup on and off, with replicas and self copies.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <ostream>
#include <string>
#include <tuple>

#include "../mpi/test_workload.hpp"
#include "core/dispatch_plan.hpp"
#include "core/block_messages.hpp"
#include "core/evaluator.hpp"
#include "core/rng.hpp"
#include "core/routing.hpp"
#include "runtime/layer_engine.hpp"

namespace moeb {
namespace {

constexpr int kLayers = 2, kTopK = 3, kExperts = 8;

LayerPlacement contiguous(int E, int R) {
  LayerPlacement lp;
  lp.replicas.resize(E);
  for (int e = 0; e < E; ++e)
    lp.replicas[e] = {static_cast<int>(static_cast<long long>(e) * R / E)};
  return lp;
}

// Every expert on its contiguous rank plus the next rank: replicas, self copies, remote copies.
LayerPlacement replicated(int E, int R) {
  LayerPlacement lp = contiguous(E, R);
  for (int e = 0; e < E; ++e) lp.replicas[e].push_back((lp.replicas[e][0] + 1) % R);
  return lp;
}

struct Case {
  bool dedup;
  bool replicas;
  int nodes, per_node;
  int64_t tokens;
};

// Readable parameters in failure messages and test names (gtest would print the struct's bytes,
// padding included).
std::string case_name(const Case& c) {
  return std::string(c.dedup ? "dedup" : "nodedup") + (c.replicas ? "_replicas_" : "_single_") +
         std::to_string(c.nodes) + "x" + std::to_string(c.per_node) + "_t" +
         std::to_string(c.tokens);
}
void PrintTo(const Case& c, std::ostream* os) { *os << case_name(c); }

class PlanVsEvaluator : public ::testing::TestWithParam<Case> {};

TEST_P(PlanVsEvaluator, RowsCountsAndBytesAgree) {
  const Case c = GetParam();
  const Topology topo = Topology::uniform(c.nodes, c.per_node);
  const int R = topo.num_ranks();
  const RoutingTrace batch = testing::make_random_trace(kLayers, kTopK, kExperts, c.tokens, 7);
  const LayerPlacement lp = c.replicas ? replicated(kExperts, R) : contiguous(kExperts, R);
  const auto policy = c.replicas ? ReplicaPolicyKind::kUniform : ReplicaPolicyKind::kPrimary;
  const TrafficOptions topt{c.dedup, 256, 128};
  for (int l = 0; l < kLayers; ++l) {
    const RouteContext ctx{11, l, 3};
    std::vector<int32_t> dest;
    const LayerTraffic lt = evaluate_layer(batch, l, lp, policy, topo, topt, ctx, &dest);
    std::vector<DispatchPlan> plans;
    for (int me = 0; me < R; ++me)
      plans.push_back(build_dispatch_plan(batch.layer_experts(l), batch.layer_weights(l), dest,
                                          kTopK, R, me, c.dedup));
    int64_t self_copies = 0;
    for (int me = 0; me < R; ++me) {
      const DispatchPlan& p = plans[me];
      EXPECT_EQ(p.token_end - p.token_begin, lt.tokens_owned[me]);
      EXPECT_EQ(p.rows_computed(), lt.rows_computed[me]) << "rank " << me;
      for (int d = 0; d < R; ++d) {
        EXPECT_EQ(p.send_counts[d], lt.rows[static_cast<size_t>(me) * R + d]) << me << "->" << d;
        EXPECT_EQ(p.recv_counts[d], lt.rows[static_cast<size_t>(d) * R + me]) << d << "->" << me;
        EXPECT_EQ(p.send_counts[d], plans[d].recv_counts[me]);
      }
      self_copies += p.send_counts[me];
      // The runtime's byte counts (from the counts it hands to MPI) equal the evaluator's.
      const auto counts = layer_counts(p, topo, topt.dispatch_row_bytes, topt.combine_row_bytes);
      EXPECT_EQ(counts[2], lt.dispatch[me].sent_intra);
      EXPECT_EQ(counts[3], lt.dispatch[me].sent_inter);
      EXPECT_EQ(counts[4], lt.dispatch[me].recv_intra);
      EXPECT_EQ(counts[5], lt.dispatch[me].recv_inter);
      EXPECT_EQ(counts[6], lt.combine[me].sent_intra);
      EXPECT_EQ(counts[7], lt.combine[me].sent_inter);
      EXPECT_EQ(counts[8], lt.combine[me].recv_intra);
      EXPECT_EQ(counts[9], lt.combine[me].recv_inter);
    }
    EXPECT_GT(self_copies, 0) << "the case should exercise local (self) copies";
  }
}

INSTANTIATE_TEST_SUITE_P(DispatchPlan, PlanVsEvaluator,
                         ::testing::Values(Case{true, false, 1, 4, 61},
                                           Case{false, false, 1, 4, 61}, Case{true, true, 2, 2, 64},
                                           Case{false, true, 2, 2, 64}, Case{true, true, 3, 1, 17},
                                           Case{true, false, 2, 3, 5}),
                         [](const auto& p) { return case_name(p.param); });

// Every (token, slot) pair of the batch is received exactly once, by the rank routing chose,
// with its expert and gate weight; the expert-grouped view is a permutation of those pairs.
TEST(DispatchPlan, EveryPairReceivedOnceWithItsWeight) {
  for (bool dedup : {true, false}) {
    const int R = 4;
    const Topology topo = Topology::uniform(2, 2);
    const RoutingTrace batch = testing::make_random_trace(1, kTopK, kExperts, 50, 3);
    const LayerPlacement lp = replicated(kExperts, R);
    std::vector<int32_t> dest(batch.layer_experts(0).size());
    route_layer(lp, ReplicaPolicyKind::kUniform, topo, batch.layer_experts(0), kTopK,
                RouteContext{5, 0, 0}, dest);
    std::map<std::pair<int64_t, int32_t>, int> seen;  // (token, expert) -> times
    for (int me = 0; me < R; ++me) {
      const DispatchPlan p = build_dispatch_plan(batch.layer_experts(0), batch.layer_weights(0),
                                                 dest, kTopK, R, me, dedup);
      ASSERT_EQ(p.recv_token.size(), static_cast<size_t>(p.rows_received()));
      for (int64_t row = 0; row < p.rows_received(); ++row)
        for (int64_t q = p.pair_offsets[row]; q < p.pair_offsets[row + 1]; ++q) {
          const int64_t t = p.recv_token[row];
          const auto e = batch.experts(0, t);
          const auto j = std::find(e.begin(), e.end(), p.pair_expert[q]) - e.begin();
          ASSERT_LT(j, kTopK);
          EXPECT_EQ(dest[static_cast<size_t>(t) * kTopK + j], me);
          EXPECT_FLOAT_EQ(p.pair_weight[q], batch.weights(0, t)[j]);
          ++seen[{t, p.pair_expert[q]}];
        }
      // Grouped view: experts ascending, each group's rows carry that expert.
      EXPECT_TRUE(std::is_sorted(p.experts.begin(), p.experts.end()));
      ASSERT_EQ(p.expert_offsets.size(), p.experts.size() + 1);
      for (size_t i = 0; i < p.experts.size(); ++i)
        for (int64_t k = p.expert_offsets[i]; k < p.expert_offsets[i + 1]; ++k) {
          const int64_t row = p.expert_row[k];
          bool found = false;
          for (int64_t q = p.pair_offsets[row]; q < p.pair_offsets[row + 1]; ++q)
            found |= p.pair_expert[q] == p.experts[i] && p.pair_weight[q] == p.expert_weight[k];
          EXPECT_TRUE(found);
        }
      if (!dedup) {
        for (int64_t row = 0; row < p.rows_received(); ++row) {
          EXPECT_EQ(p.pair_offsets[row + 1] - p.pair_offsets[row], 1);
        }
      }
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(50 * kTopK));
    for (const auto& [key, n] : seen) EXPECT_EQ(n, 1);
  }
}

// The engine rebuilds one plan per layer into the same object: a plan built into a reused one
// (last built for another rank, batch size and dedup setting) equals a freshly built plan.
TEST(DispatchPlan, ReusedPlanEqualsFreshPlan) {
  const int R = 4;
  const Topology topo = Topology::uniform(2, 2);
  const LayerPlacement lp = replicated(kExperts, R);
  DispatchPlan reused;
  int step = 0;
  for (int64_t tokens : {50, 9, 73}) {
    const RoutingTrace batch = testing::make_random_trace(1, kTopK, kExperts, tokens, 13);
    std::vector<int32_t> dest(batch.layer_experts(0).size());
    route_layer(lp, ReplicaPolicyKind::kUniform, topo, batch.layer_experts(0), kTopK,
                RouteContext{5, 0, 0}, dest);
    for (int me = 0; me < R; ++me) {
      const bool dedup = (step++ % 3) != 1;
      const DispatchPlan fresh = build_dispatch_plan(batch.layer_experts(0), batch.layer_weights(0),
                                                     dest, kTopK, R, me, dedup);
      build_dispatch_plan(reused, batch.layer_experts(0), batch.layer_weights(0), dest, kTopK, R,
                          me, dedup);
      const auto same = [&](const DispatchPlan& a, const DispatchPlan& b) {
        return std::tie(a.num_ranks, a.me, a.token_begin, a.token_end, a.send_counts,
                        a.send_offsets, a.send_token, a.recv_counts, a.recv_offsets, a.recv_token,
                        a.pair_offsets, a.pair_expert, a.pair_weight, a.experts, a.expert_offsets,
                        a.expert_row, a.expert_weight) ==
               std::tie(b.num_ranks, b.me, b.token_begin, b.token_end, b.send_counts,
                        b.send_offsets, b.send_token, b.recv_counts, b.recv_offsets, b.recv_token,
                        b.pair_offsets, b.pair_expert, b.pair_weight, b.experts, b.expert_offsets,
                        b.expert_row, b.expert_weight);
      };
      EXPECT_TRUE(same(reused, fresh)) << tokens << " tokens, rank " << me << ", dedup " << dedup;
    }
  }
}

}  // namespace
}  // namespace moeb

// The message cut both sides of the dispatch compute from a block's token ids.
namespace moeb {
namespace {
TEST(BlockMessages, RunsOfAtLeastMinDirectGoDirectTheRestPacked) {
  // Runs: [3 4 5] [7] [9 10 11 12] [20 21]
  const std::vector<int32_t> t = {3, 4, 5, 7, 9, 10, 11, 12, 20, 21};
  std::vector<BlockMessage> m;
  cut_block(t.data(), 10, 3, m);
  EXPECT_EQ(m, (std::vector<BlockMessage>{{0, 3, true}, {3, 4, false}, {4, 8, true}, {8, 10, false}}));
  m.clear();
  cut_block(t.data(), 10, 1, m);  // every run direct
  EXPECT_EQ(m, (std::vector<BlockMessage>{{0, 3, true}, {3, 4, true}, {4, 8, true}, {8, 10, true}}));
  m.clear();
  cut_block(t.data(), 10, 5, m);  // no run long enough: one packed message
  EXPECT_EQ(m, (std::vector<BlockMessage>{{0, 10, false}}));
  m.clear();
  cut_block(t.data(), 0, 1, m);
  EXPECT_TRUE(m.empty());
}

TEST(BlockMessages, SameCutFromLocalAndGlobalIdsAndEveryRowOnce) {
  Rng rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int32_t> local;
    for (int32_t t = 0; t < 300; ++t)
      if (rng.below(10) < 7) local.push_back(t);
    std::vector<int64_t> global(local.begin(), local.end());
    for (int64_t& g : global) g += 1000;
    const int64_t n = static_cast<int64_t>(local.size()), min_direct = 1 + trial % 6;
    std::vector<BlockMessage> a, b;
    cut_block(local.data(), n, min_direct, a);
    cut_block(global.data(), n, min_direct, b);
    EXPECT_EQ(a, b);
    int64_t next = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].begin, next);
      EXPECT_LT(a[i].begin, a[i].end);
      if (a[i].direct) {
        EXPECT_GE(a[i].end - a[i].begin, min_direct);
        for (int64_t r = a[i].begin + 1; r < a[i].end; ++r) EXPECT_EQ(local[r], local[r - 1] + 1);
      }
      if (i > 0) {
        EXPECT_FALSE(!a[i].direct && !a[i - 1].direct) << "adjacent packed messages";
      }
      next = a[i].end;
    }
    EXPECT_EQ(next, n);
  }
}
}  // namespace
}  // namespace moeb
