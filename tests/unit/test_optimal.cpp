// The exact objectives (core/objective) against the evaluator and the cost model, the exact
// solvers against each other, and the optimizing strategy against the exact optimum.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <iostream>

#include "core/cost_model.hpp"
#include "core/error.hpp"
#include "core/evaluator.hpp"
#include "core/objective.hpp"
#include "core/placement.hpp"
#include "placement_test_util.hpp"
#include "workload/workload.hpp"

namespace moeb {
namespace {

SystemModel test_system() {
  SystemModel s;
  s.name = "test";
  s.intra = {2e-6, 100e9, 0};
  s.inter = {8e-6, 12e9, 0};
  s.device.flops = 50e12;
  s.device.mem_bandwidth_Bps = 1e12;
  return s;
}

// A random placement with 1..3 replicas per expert (slots unbounded).
LayerPlacement random_placement(int E, int R, Rng& rng) {
  LayerPlacement lp;
  lp.replicas.resize(E);
  for (int e = 0; e < E; ++e) {
    const int n = 1 + static_cast<int>(rng.below(std::min(3, R)));
    while (static_cast<int>(lp.replicas[e].size()) < n) {
      const int r = static_cast<int>(rng.below(R));
      if (std::find(lp.replicas[e].begin(), lp.replicas[e].end(), r) == lp.replicas[e].end())
        lp.replicas[e].push_back(r);
    }
  }
  return lp;
}

// Checks every count of `obj` against the evaluator on `batch` (one batch, index 0).
void expect_matches_evaluator(const LayerObjective& obj, const RoutingTrace& batch, int layer,
                              ReplicaPolicyKind policy, const Topology& topo, uint64_t seed) {
  const auto lt = evaluate_layer(batch, layer, obj.placement(), policy, topo, {true, 1, 1},
                                 {seed, layer, 0});
  EXPECT_EQ(obj.inter_node_copies() * 2, lt.inter_node_bytes());
  EXPECT_EQ(obj.off_rank_copies() * 2, lt.total_bytes());
  EXPECT_EQ(obj.rows_computed(), lt.rows_computed);
}

TEST(Objective, CountsEqualTheEvaluatorUnderEveryStatelessPolicy) {
  const int E = 16, k = 4, L = 2;
  const auto tr = test::make_trace(L, E, k, 300, 3, test::zipf_picker(E, 1.0));
  for (const Topology& topo : {Topology::uniform(2, 2), Topology::from_node_map({0, 1, 0, 1, 2})})
    for (auto policy : {ReplicaPolicyKind::kPrimary, ReplicaPolicyKind::kUniform,
                        ReplicaPolicyKind::kLocality}) {
      const int R = topo.num_ranks();
      ObjectiveConfig cfg;
      cfg.policy = policy;
      cfg.seed = 11;
      Rng rng(5);
      for (int l = 0; l < L; ++l) {
        LayerTokens tok;
        tok.append_batch(tr, l, R, cfg.seed, 0);
        LayerObjective obj(cfg, topo, E, tok);
        obj.reset(random_placement(E, R, rng));
        expect_matches_evaluator(obj, tr, l, policy, topo, cfg.seed);
        // Incremental changes of one and two experts stay exact.
        for (int step = 0; step < 30; ++step) {
          const int a = static_cast<int>(rng.below(E)), b = static_cast<int>(rng.below(E));
          const LayerPlacement next = random_placement(E, R, rng);
          if (a == b) obj.set_replicas(a, next.replicas[a]);
          else obj.set_replicas({{a, next.replicas[a]}, {b, next.replicas[b]}});
        }
        expect_matches_evaluator(obj, tr, l, policy, topo, cfg.seed);
      }
    }
}

TEST(Objective, LayerTimeIsTheCostModelsPrediction) {
  const int E = 16, k = 2;
  const ModelSpec m = test::small_model(E, k, 1);
  const auto tr = test::make_trace(1, E, k, 256, 4, test::zipf_picker(E, 1.2));
  const Topology topo = Topology::uniform(2, 2);
  const SystemModel sys = test_system();
  ObjectiveConfig cfg;
  cfg.kind = ObjectiveKind::kLayerTime;
  cfg.policy = ReplicaPolicyKind::kLocality;
  cfg.seed = 3;
  cfg.dispatch_row_bytes = cfg.combine_row_bytes = sys.row_bytes(m);
  cfg.system = &sys;
  cfg.model = &m;
  LayerTokens tok;
  tok.append_batch(tr, 0, 4, cfg.seed, 0);
  LayerObjective obj(cfg, topo, E, tok);
  Rng rng(8);
  Placement p;
  p.num_ranks = 4;
  p.layers.push_back(random_placement(E, 4, rng));
  obj.reset(p.layers[0]);
  SimulateOptions so;
  so.seed = cfg.seed;
  const auto sim = simulate_batch(sys, m, topo, p, cfg.policy, nullptr, tr, so);
  EXPECT_DOUBLE_EQ(obj.value(), sim[0].pred.t_layer);
}

// Random top-k tokens over E experts, or planted: tokens draw from one of R/2 hidden groups.
RoutingTrace routing(int E, int k, int64_t tokens, int groups, uint64_t seed) {
  return test::make_trace(2, E, k, tokens, seed, [=](int l, int64_t, Rng& rng, std::vector<int32_t>& ids) {
    std::vector<int> pool(E);
    std::vector<double> w(E, 1.0);
    for (int e = 0; e < E; ++e) pool[e] = (e * 5 + l) % E;
    if (groups > 0) {
      const int g = static_cast<int>(rng.below(groups)), size = E / groups;
      for (int e = 0; e < E; ++e) w[e] = (e / size == g) ? 20.0 : 1.0;
    }
    test::draw_distinct(pool, w, rng, ids);
  });
}

TEST(Objective, DynamicProgramEqualsEnumeration) {
  const Topology topo = Topology::uniform(2, 2);
  for (auto kind : {ObjectiveKind::kInterNodeBytes, ObjectiveKind::kTotalBytes,
                    ObjectiveKind::kMaxRankLoad})
    for (int groups : {0, 2}) {
      const auto tr = routing(8, 2, 200, groups, 17 + groups);
      ObjectiveConfig cfg;
      cfg.kind = kind;
      LayerTokens tok;
      tok.append_batch(tr, 0, 4, 0, 0);
      const auto dp = exact_single_copy(cfg, topo, 8, 2, tok);
      const auto en = enumerate_single_copy(cfg, topo, 8, 2, tok);
      EXPECT_EQ(dp.value, en.value) << to_string(kind);
      LayerObjective obj(cfg, topo, 8, tok);
      obj.reset(dp.placement);
      EXPECT_EQ(obj.value(), dp.value) << "the DP's placement scores its value";
    }
}

// Sum over layers of the objective of `p`, with a fresh evaluation.
double score(const ObjectiveConfig& cfg, const Topology& topo, const RoutingStats& st,
             const Placement& p, int E) {
  double v = 0;
  for (int l = 0; l < p.num_layers(); ++l) {
    LayerObjective obj(cfg, topo, E, sample_layer_tokens(st, l, topo.num_ranks(), cfg.seed));
    obj.reset(p.layers[l]);
    v += obj.value();
  }
  return v;
}

struct SmallCase {
  int experts, nodes, ranks_per_node, groups;
};

TEST(Optimal, ReachesTheExactOptimumOnSmallProblems) {
  const auto& s = find_strategy("optimal", "test");
  for (SmallCase c : {SmallCase{8, 2, 2, 0}, SmallCase{8, 2, 2, 2}, SmallCase{16, 2, 4, 0},
                      SmallCase{16, 2, 4, 4}}) {
    const int E = c.experts, R = c.nodes * c.ranks_per_node;
    const ModelSpec m = test::small_model(E, 2, 2);
    const Topology topo = Topology::uniform(c.nodes, c.ranks_per_node);
    const auto st = test::stats_of(routing(E, 2, 400, c.groups, 40 + E + c.groups), 64);
    for (const char* objective : {"inter_node_bytes", "total_bytes", "max_rank_load"}) {
      const auto plan = test::place(s, m, topo, st, 2, 7,
                                    {{"objective", std::string(objective)},
                                     {"iterations", int64_t{E == 8 ? 20000 : 50000}},
                                     {"time_limit_s", 0.0}});
      ObjectiveConfig cfg;
      cfg.kind = parse_objective(objective, "test");
      cfg.policy = plan.policy.kind;
      cfg.seed = 7;
      cfg.dispatch_row_bytes = cfg.combine_row_bytes = m.hidden * 2;
      for (int l = 0; l < 2; ++l) {
        const auto tok = sample_layer_tokens(st, l, R, cfg.seed);
        const auto exact = exact_single_copy(cfg, topo, E, 2, tok);
        LayerObjective obj(cfg, topo, E, tok);
        obj.reset(plan.placement.layers[l]);
        EXPECT_EQ(obj.value(), exact.value)
            << E << " experts on " << R << ", groups " << c.groups << ", " << objective
            << ", layer " << l;
      }
    }
  }
}

TEST(Optimal, ReachesTheEnumeratedOptimumOfPredictedLayerTime) {
  const auto& s = find_strategy("optimal", "test");
  const ModelSpec m = test::small_model(8, 2, 2);
  const Topology topo = Topology::uniform(2, 2);
  const SystemModel sys = test_system();
  const auto st = test::stats_of(routing(8, 2, 300, 2, 9), 64);
  const Options opt = test::resolve(s, {{"iterations", int64_t{5000}}, {"time_limit_s", 0.0}});
  PlacementInput in{m, topo, st, 2, opt, 7, &sys};
  const auto plan = s.place(in);
  ObjectiveConfig cfg;
  cfg.kind = ObjectiveKind::kLayerTime;
  cfg.policy = plan.policy.kind;
  cfg.seed = 7;
  cfg.dispatch_row_bytes = cfg.combine_row_bytes = sys.row_bytes(m);
  cfg.system = &sys;
  cfg.model = &m;
  EXPECT_EQ(plan.notes[0].second, "layer_time") << "auto picks layer_time with a system model";
  for (int l = 0; l < 2; ++l) {
    const auto tok = sample_layer_tokens(st, l, 4, cfg.seed);
    const auto exact = enumerate_single_copy(cfg, topo, 8, 2, tok);
    LayerObjective obj(cfg, topo, 8, tok);
    obj.reset(plan.placement.layers[l]);
    EXPECT_NEAR(obj.value(), exact.value, 1e-12 * exact.value) << "layer " << l;
  }
}

TEST(Optimal, NeverEndsWorseThanAnyStartAndKeepsTheBudget) {
  const auto& s = find_strategy("optimal", "test");
  const ModelSpec m = test::small_model(60, 4, 2);
  const Topology topo = Topology::uniform(2, 4);
  const auto st = test::stats_of(test::make_trace(2, 60, 4, 2048, 2, test::zipf_picker(60, 1.2)), 256);
  for (const char* objective : {"inter_node_bytes", "max_rank_load"}) {
    const auto plan = test::place(s, m, topo, st, 11, 7,
                                  {{"objective", std::string(objective)},
                                   {"iterations", int64_t{3000}},
                                   {"time_limit_s", 0.0}});
    EXPECT_EQ(check_placement(plan.placement, 60, 11), "");
    ObjectiveConfig cfg;
    cfg.kind = parse_objective(objective, "test");
    cfg.policy = plan.policy.kind;
    cfg.seed = 7;
    cfg.dispatch_row_bytes = cfg.combine_row_bytes = m.hidden * 2;
    const double mine = score(cfg, topo, st, plan.placement, 60);
    for (const auto& name : strategy_names()) {
      if (name == "optimal" || name == "c2r") continue;
      const auto& other = find_strategy(name, "test");
      const auto p = test::place(other, m, topo, st, 11, 7);
      EXPECT_LE(mine, score(cfg, topo, st, p.placement, 60)) << objective << " vs " << name;
    }
  }
}

// A stop request (PlacementInput::stop) is polled at points the input and seed fix: the same
// number of polls for the same input (every MPI rank then agrees the answer at the same
// collective), a poll every 4096 proposals and one per layer; a yes ends the search with
// Interrupted, and an unanswered poll leaves the placement unchanged.
TEST(Optimal, StopRequestIsPolledAtSeedFixedPointsAndEndsTheSearch) {
  const auto& s = find_strategy("optimal", "test");
  const ModelSpec m = test::small_model(16, 2, 2);
  const Topology topo = Topology::uniform(2, 2);
  const auto st = test::stats_of(routing(16, 2, 400, 2, 5), 128);
  const Options opt = test::resolve(s, {{"iterations", int64_t{10000}},
                                        {"objective", std::string("inter_node_bytes")}});
  int polls = 0;
  PlacementInput in{m, topo, st, 5, opt, 7};
  const auto quiet = s.place(in);
  in.stop = [&polls] { return ++polls < 0; };
  const auto polled = s.place(in);
  // Per layer: one poll before the search, floor(10000 / 4096) = 2 inside it.
  EXPECT_EQ(polls, 2 * (1 + 2));
  for (int l = 0; l < 2; ++l)
    EXPECT_EQ(polled.placement.layers[l].replicas, quiet.placement.layers[l].replicas) << l;
  int asked = 0;
  in.stop = [&asked] { return ++asked == 3; };  // yes inside layer 0's search
  EXPECT_THROW(s.place(in), Interrupted);
  EXPECT_EQ(asked, 3);
}

TEST(Optimal, RefusesAStatefulPolicyAndLayerTimeWithoutASystem) {
  const auto& s = find_strategy("optimal", "test");
  EXPECT_THROW(test::resolve(s, {{"replica_policy", std::string("least_load")}}), ConfigError);
  const ModelSpec m = test::small_model(8, 2, 1);
  const auto st = test::stats_of(routing(8, 2, 64, 0, 1), 64);
  EXPECT_THROW(test::place(s, m, Topology::uniform(2, 2), st, 2, 7,
                           {{"objective", std::string("layer_time")}}),
               ConfigError);
}

}  // namespace
}  // namespace moeb

namespace moeb {
namespace {

// Done-when of issue 14: on the shared Mixtral GSM8K trace (2 nodes x 2 ranks, 2 slots, fitted
// on its evaluation part) the optimizer's inter-node cut against baseline reaches >= 95% of the
// exact optimum's.
TEST(Optimal, SharedMixtralTraceReachesTheExactInterNodeCut) {
  const std::string mixtral =
      std::string(MOEB_SHARED_TRACES) + "/mixtral-8x7b/gsm8k_2_routing.jsonl";
  if (!std::filesystem::exists(mixtral)) GTEST_SKIP() << "shared traces absent (" << mixtral << ")";
  RunConfig cfg;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.workload.kind = "trace";
  cfg.workload.traces = {mixtral};
  cfg.workload.split = "oracle";
  cfg.workload.calibration_fraction = 0.5;
  cfg.workload.batch_tokens = 64;
  const auto wl = open_workload(cfg, cfg.model);
  const RoutingStats& st = wl->calibration_stats();
  ASSERT_GT(st.sample_size(), 0u);
  const Topology topo = Topology::uniform(2, 2);
  const auto& s = find_strategy("optimal", "test");
  const auto plan = test::place(s, cfg.model, topo, st, 2, cfg.seed,
                                {{"objective", std::string("inter_node_bytes")},
                                 {"time_limit_s", 0.0}});
  const auto base = test::place(find_strategy("baseline", "test"), cfg.model, topo, st, 2, cfg.seed);
  ObjectiveConfig oc;
  oc.policy = plan.policy.kind;
  oc.seed = cfg.seed;
  double v_base = 0, v_opt = 0, v_exact = 0;
  for (int l = 0; l < cfg.model.num_layers; ++l) {
    const auto tok = sample_layer_tokens(st, l, 4, oc.seed);
    LayerObjective obj(oc, topo, 8, tok);
    obj.reset(base.placement.layers[l]);
    v_base += obj.value();
    obj.reset(plan.placement.layers[l]);
    v_opt += obj.value();
    v_exact += exact_single_copy(oc, topo, 8, 2, tok).value;
  }
  const double cut_opt = (v_base - v_opt) / v_base, cut_exact = (v_base - v_exact) / v_base;
  std::cout << "inter-node copies over " << cfg.model.num_layers << " layers, "
            << wl->provenance().at("evaluation_tokens") << " evaluation tokens: baseline "
            << v_base / 2 << ", optimal " << v_opt / 2 << " (cut " << 100 * cut_opt
            << "%), exact " << v_exact / 2 << " (cut " << 100 * cut_exact << "%)\n";
  ASSERT_GT(cut_exact, 0);
  EXPECT_GE(cut_opt, 0.95 * cut_exact);
}

}  // namespace
}  // namespace moeb
