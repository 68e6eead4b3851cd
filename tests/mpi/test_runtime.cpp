// The harness end to end on real MPI ranks: layer outputs do not depend on placement, every
// measured byte equals the pure evaluator's count, the correctness check catches a wrong
// result, a stop request is agreed by all ranks, phase times partition the layer.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include "core/dispatch_plan.hpp"
#include "core/error.hpp"
#include "core/evaluator.hpp"
#include "core/rng.hpp"
#include "core/routing.hpp"
#include "placement/registry.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/cpu_backend.hpp"
#include "runtime/harness.hpp"
#include "runtime/layer_engine.hpp"
#include "runtime/mpi_transport.hpp"
#include "test_workload.hpp"

namespace moeb {
namespace {

ModelSpec test_model() {
  ModelSpec m;
  m.name = "test";
  m.num_experts = 8;
  m.top_k = 2;
  m.hidden = 32;
  m.ffn_hidden = 48;
  m.num_layers = 2;
  return m;
}

// np 4 -> 2 virtual nodes x 2 ranks; otherwise one rank per node (all traffic inter-node).
Topology test_topology(int R) { return R >= 4 && R % 2 == 0 ? Topology::uniform(2, R / 2) : Topology::uniform(R, 1); }

struct Env {
  MpiTransport transport;
  Topology topo = test_topology(transport.size());
  ModelSpec model = test_model();
  // 3 batches of 50 tokens, the last one shorter (43), so ownership blocks are uneven.
  testing::InMemoryWorkload workload{
      testing::make_random_trace(2, 2, 8, 143, 1234), 50};
  BackendOptions backend_opt{model.hidden, model.ffn_hidden, 1, 0};

  PlacementPlan registered(const std::string& name) {
    const auto& s = find_strategy(name, "test");
    const Options o = resolve_options(s.spec().options, {}, "test");
    const int slots = (model.num_experts + topo.num_ranks() - 1) / topo.num_ranks();
    return s.place(PlacementInput{model, topo, workload.calibration_stats(), slots, o, 42});
  }
  // Contiguous primaries plus one replica on another rank (the other node where there is
  // one), routed uniformly: replicas, self copies and remote copies all occur.
  PlacementPlan replicated() {
    PlacementPlan p = registered("baseline");
    const int R = topo.num_ranks();
    const int shift = topo.num_nodes() > 1 ? topo.ranks_per_node() : 1;
    for (auto& lp : p.placement.layers)
      for (auto& reps : lp.replicas) reps.push_back((reps[0] + shift) % R);
    p.policy.kind = ReplicaPolicyKind::kUniform;
    return p;
  }
  HarnessOptions options() {
    HarnessOptions o;
    o.warmup = 1;
    o.iterations = 2;
    o.seed = 99;
    return o;
  }
};

// Layer outputs of the first measured iteration, keyed by (layer, global token).
using Outputs = std::map<std::pair<int, int64_t>, std::vector<float>>;

Outputs run_collecting(Env& env, const PlacementPlan& plan, HarnessOptions opt,
                       StrategyResult& out) {
  Outputs got;
  const int H = env.model.hidden;
  opt.inspect_output = [&](int layer, int64_t begin, std::span<const float> y) {
    for (size_t t = 0; t * H < y.size(); ++t)
      got[{layer, begin + static_cast<int64_t>(t)}].assign(y.begin() + t * H,
                                                           y.begin() + (t + 1) * H);
  };
  auto backend = make_backend("cpu", env.backend_opt);
  run_harness(*backend, env.transport, env.topo, env.model, plan, env.workload, opt, out);
  return got;
}

TEST(Runtime, OutputIndependentOfPlacement) {
  Env env;
  std::vector<std::pair<std::string, PlacementPlan>> plans = {
      {"baseline", env.registered("baseline")},
      {"round_robin", env.registered("round_robin")},
      {"replicated_uniform", env.replicated()}};
  std::vector<Outputs> outs;
  for (auto& [name, plan] : plans) {
    for (bool dedup : {true, false}) {
      HarnessOptions opt = env.options();
      opt.dedup = dedup;
      StrategyResult r;
      r.name = name;
      outs.push_back(run_collecting(env, plan, opt, r));
      EXPECT_GT(r.checked_elements, 0) << name;
      EXPECT_EQ(r.wrong_elements, 0) << name;
    }
  }
  const Outputs& ref = outs.front();
  ASSERT_FALSE(ref.empty());
  double max_mag = 0;
  for (size_t k = 1; k < outs.size(); ++k) {
    ASSERT_EQ(outs[k].size(), ref.size()) << "run " << k;
    for (const auto& [key, y] : ref) {
      const auto& z = outs[k].at(key);
      for (size_t h = 0; h < y.size(); ++h) {
        EXPECT_NEAR(z[h], y[h], 1e-5 + 1e-4 * std::abs(y[h]))
            << "run " << k << " layer " << key.first << " token " << key.second << " elem " << h;
        max_mag = std::max(max_mag, static_cast<double>(std::abs(y[h])));
      }
    }
  }
  EXPECT_GT(max_mag, 1e-2) << "outputs should not be trivially zero";
}

TEST(Runtime, MeasuredBytesEqualEvaluator) {
  Env env;
  const int R = env.topo.num_ranks();
  for (bool replicated : {false, true}) {
    for (bool dedup : {true, false}) {
      const PlacementPlan plan = replicated ? env.replicated() : env.registered("baseline");
      HarnessOptions opt = env.options();
      opt.iterations = 4;  // batches 0, 1, 2, 0
      opt.dedup = dedup;
      opt.check = false;
      StrategyResult out;
      auto backend = make_backend("cpu", env.backend_opt);
      run_harness(*backend, env.transport, env.topo, env.model, plan, env.workload, opt, out);
      if (env.transport.rank() != 0) continue;  // measurements are gathered on rank 0
      const TrafficOptions topt{dedup, backend->dispatch_row_bytes(), backend->combine_row_bytes()};
      ASSERT_EQ(out.batch_index, (std::vector<int64_t>{0, 1, 2, 0}));
      std::vector<std::vector<int64_t>> rows_sum(env.model.num_layers,
                                                 std::vector<int64_t>(static_cast<size_t>(R) * R, 0));
      for (int i = 0; i < opt.iterations; ++i) {
        const RoutingTrace batch = env.workload.batch(out.batch_index[i]);
        EXPECT_EQ(out.batch_tokens[i], batch.num_tokens());
        for (int l = 0; l < env.model.num_layers; ++l) {
          const LayerTraffic lt = evaluate_layer(batch, l, plan.placement.layers[l],
                                                 plan.policy.kind, env.topo, topt,
                                                 RouteContext{opt.seed, l, out.batch_index[i]});
          for (size_t k = 0; k < lt.rows.size(); ++k) rows_sum[l][k] += lt.rows[k];
          for (int r = 0; r < R; ++r) {
            const auto c = [&](const char* n) { return out.counts.at(n).at(i, l, r); };
            SCOPED_TRACE("replicated " + std::to_string(replicated) + " dedup " +
                         std::to_string(dedup) + " iteration " + std::to_string(i) + " layer " +
                         std::to_string(l) + " rank " + std::to_string(r));
            EXPECT_EQ(c("tokens_owned"), lt.tokens_owned[r]);
            EXPECT_EQ(c("rows_computed"), lt.rows_computed[r]);
            EXPECT_EQ(c("bytes_sent_intra"), lt.dispatch[r].sent_intra);
            EXPECT_EQ(c("bytes_sent_inter"), lt.dispatch[r].sent_inter);
            EXPECT_EQ(c("bytes_recv_intra"), lt.dispatch[r].recv_intra);
            EXPECT_EQ(c("bytes_recv_inter"), lt.dispatch[r].recv_inter);
            EXPECT_EQ(c("bytes_sent_intra_combine"), lt.combine[r].sent_intra);
            EXPECT_EQ(c("bytes_sent_inter_combine"), lt.combine[r].sent_inter);
            EXPECT_EQ(c("bytes_recv_intra_combine"), lt.combine[r].recv_intra);
            EXPECT_EQ(c("bytes_recv_inter_combine"), lt.combine[r].recv_inter);
          }
        }
      }
      ASSERT_EQ(out.rows_matrix.size(), static_cast<size_t>(env.model.num_layers));
      for (int l = 0; l < env.model.num_layers; ++l) EXPECT_EQ(out.rows_matrix[l], rows_sum[l]);
    }
  }
}

TEST(Runtime, CheckDetectsWrongResult) {
  Env env;
  const PlacementPlan plan = env.replicated();
  {  // No fault: the check passes and counts what it compared.
    StrategyResult out;
    auto backend = make_backend("cpu", env.backend_opt);
    EXPECT_NO_THROW(run_harness(*backend, env.transport, env.topo, env.model, plan,
                                env.workload, env.options(), out));
    EXPECT_EQ(out.wrong_elements, 0);
    EXPECT_GT(out.checked_elements, 0);
  }
  {  // A fault on the last rank only: every rank learns of it and throws.
    CpuBackend backend(env.backend_opt);
    if (env.transport.rank() == env.transport.size() - 1) backend.inject_fault_for_testing(1.0f);
    StrategyResult out;
    bool threw = false;
    try {
      run_harness(backend, env.transport, env.topo, env.model, plan, env.workload,
                  env.options(), out);
    } catch (const Interrupted&) {
      ADD_FAILURE() << "unexpected Interrupted";
    } catch (const Error& e) {
      threw = true;
      EXPECT_NE(std::string(e.what()).find("correctness check failed"), std::string::npos)
          << e.what();
    }
    EXPECT_TRUE(threw);
    EXPECT_GT(out.wrong_elements, 0);
    EXPECT_GE(out.max_abs_err, 0.5);
    // The results are still filled in before the throw.
    EXPECT_EQ(out.counts.at("rows_computed").iterations, env.options().iterations);
  }
}

TEST(Runtime, StopRequestIsCollective) {
  Env env;
  HarnessOptions opt = env.options();
  opt.iterations = 5;
  int polls = 0;
  // Only rank 0 asks to stop, at its third poll; every rank must stop there together.
  opt.stop_requested = [&] { return env.transport.rank() == 0 && ++polls >= 3; };
  StrategyResult out;
  auto backend = make_backend("cpu", env.backend_opt);
  EXPECT_THROW(run_harness(*backend, env.transport, env.topo, env.model, env.registered("baseline"),
                           env.workload, opt, out),
               Interrupted);
  // Ranks are in step afterwards: a collective still works.
  int one = 1, sum = 0;
  MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  EXPECT_EQ(sum, env.transport.size());
}

// Direct dispatch (permute_direct + send_messages) leaves the receive buffer exactly as the
// whole permute + all-to-all-v does, whatever part of the rows goes straight from the input:
// runs of >= 1 row (all direct), >= 2 rows (mixed) and >= 64 KiB (the default: all packed here).
TEST(Runtime, DirectDispatchEqualsPermuteAndAlltoallv) {
  MpiTransport transport;
  const int R = transport.size(), me = transport.rank(), H = 16, k = 3, E = 8;
  const int64_t T = 97;
  Rng rng(3);  // same routing on every rank
  std::vector<int32_t> experts(static_cast<size_t>(T) * k), dest(experts.size());
  for (size_t i = 0; i < experts.size(); ++i) {
    experts[i] = static_cast<int32_t>(rng.below(E));
    dest[i] = rng.below(4) == 0 ? static_cast<int32_t>(rng.below(R)) : experts[i] * R / E;
  }
  const std::vector<float> weights(experts.size(), 0.5f);
  for (bool dedup : {true, false}) {
    DispatchPlan plan;
    build_dispatch_plan(plan, experts, weights, dest, k, R, me, dedup);
    CpuBackend backend({H, 8, 1, 0});
    const int64_t owned = plan.token_end - plan.token_begin;
    std::vector<float> x(static_cast<size_t>(owned) * H);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(me * 100000 + i);
    backend.set_input(x, owned);
    ASSERT_TRUE(direct_dispatch(backend, transport));
    LayerState st;
    st.wire_send_counts = plan.send_counts;
    st.wire_recv_counts = plan.recv_counts;
    st.wire_send_counts[me] = st.wire_recv_counts[me] = 0;
    const size_t n = static_cast<size_t>(plan.rows_received()) * H;
    backend.prepare(plan);
    transport.post_receives(backend.dispatch_recv(), st.wire_recv_counts, plan.recv_offsets,
                            backend.dispatch_row_bytes());
    backend.permute(plan);
    transport.alltoallv(backend.dispatch_send(), st.wire_send_counts, plan.send_offsets,
                        backend.dispatch_recv(), st.wire_recv_counts, plan.recv_offsets,
                        backend.dispatch_row_bytes());
    const auto* got = static_cast<const float*>(backend.dispatch_recv());
    const std::vector<float> want(got, got + n);
    for (int64_t min_bytes : {int64_t{1}, 2 * H * int64_t{sizeof(float)}, kDirectMinBytes}) {
      std::fill_n(static_cast<float*>(backend.dispatch_recv()), n, -1.0f);
      backend.prepare(plan);
      permute_direct(backend, transport, plan, st, min_bytes);
      transport.send_messages(st.send_messages, backend.dispatch_row_bytes());
      EXPECT_TRUE(std::equal(want.begin(), want.end(), got))
          << "dedup " << dedup << ", runs of >= " << min_bytes << " bytes direct";
    }
  }
}

TEST(Runtime, TimesPartitionTheLayer) {
  Env env;
  for (int variant = 0; variant < 4; ++variant) {
    HarnessOptions opt = env.options();
    opt.sync_probe = variant % 2 == 0;
    opt.dispatch = variant < 2 ? DispatchMode::kFlat : DispatchMode::kHierarchical;
    StrategyResult out;
    auto backend = make_backend("cpu", env.backend_opt);
    run_harness(*backend, env.transport, env.topo, env.model, env.replicated(), env.workload,
                opt, out);
    const int r = env.transport.rank();  // every rank holds its own column
    for (int i = 0; i < opt.iterations; ++i)
      for (int l = 0; l < env.model.num_layers; ++l) {
        double sum = 0;
        for (const auto& n : time_metric_names()) {
          const double t = out.times.at(n).at(i, l, r);
          EXPECT_TRUE(std::isfinite(t) && t >= 0) << n;
          if (n != "t_layer") sum += t;
        }
        const double layer = out.times.at("t_layer").at(i, l, r);
        EXPECT_GT(layer, 0);
        EXPECT_NEAR(sum, layer, 1e-9 + 1e-9 * layer);
      }
  }
  // The probe's own cost: a barrier among synchronized ranks, finite and small.
  auto backend = make_backend("cpu", env.backend_opt);
  const double probe = measure_probe_overhead(*backend, env.transport, 20);
  EXPECT_TRUE(std::isfinite(probe) && probe >= 0 && probe < 1.0) << probe;
}

// Hierarchical dispatch (two hops, relay through the same-local-index peer) computes the same
// layer output as flat dispatch, sends each token across to a remote node at most once (dedup)
// and never moves more inter-node bytes than flat dispatch.
TEST(Runtime, HierarchicalMatchesFlat) {
  Env env;
  const int R = env.topo.num_ranks();
  for (bool dedup : {true, false}) {
    for (const PlacementPlan& plan : {env.replicated(), env.registered("round_robin")}) {
      HarnessOptions opt = env.options();
      opt.dedup = dedup;
      StrategyResult flat, hier;
      const Outputs y_flat = run_collecting(env, plan, opt, flat);
      opt.dispatch = DispatchMode::kHierarchical;
      const Outputs y_hier = run_collecting(env, plan, opt, hier);
      EXPECT_EQ(hier.wrong_elements, 0);
      EXPECT_GT(hier.checked_elements, 0);
      ASSERT_EQ(y_flat.size(), y_hier.size());
      for (const auto& [key, y] : y_flat)
        for (size_t h = 0; h < y.size(); ++h)
          EXPECT_NEAR(y_hier.at(key)[h], y[h], 1e-5 + 1e-4 * std::abs(y[h]))
              << "layer " << key.first << " token " << key.second;
      if (env.transport.rank() != 0) continue;
      const int64_t row_bytes = env.model.hidden * static_cast<int64_t>(sizeof(float));
      int64_t total_flat = 0, total_hier = 0;
      for (int i = 0; i < opt.iterations; ++i) {
        const RoutingTrace batch = env.workload.batch(hier.batch_index[i]);
        const int64_t T = batch.num_tokens();
        for (int l = 0; l < env.model.num_layers; ++l) {
          // Independent count of the rows that must cross nodes once.
          std::vector<int32_t> dest(static_cast<size_t>(T) * env.model.top_k);
          route_layer(plan.placement.layers[l], plan.policy.kind, env.topo, batch.layer_experts(l),
                      env.model.top_k, RouteContext{opt.seed, l, hier.batch_index[i]}, dest);
          int64_t must_cross = 0;
          for (int64_t t = 0; t < T; ++t) {
            const int home = env.topo.node_of(owner_of_token(t, T, R));
            std::vector<int> nodes;
            for (int j = 0; j < env.model.top_k; ++j) {
              const int n = env.topo.node_of(dest[static_cast<size_t>(t) * env.model.top_k + j]);
              if (n != home && (!dedup || std::find(nodes.begin(), nodes.end(), n) == nodes.end())) {
                nodes.push_back(n);
                ++must_cross;
              }
            }
          }
          int64_t inter_flat = 0, inter_hier = 0, intra_sent = 0, intra_recv = 0;
          for (int r = 0; r < R; ++r) {
            inter_flat += flat.counts.at("bytes_sent_inter").at(i, l, r);
            inter_hier += hier.counts.at("bytes_sent_inter").at(i, l, r);
            intra_sent += hier.counts.at("bytes_sent_intra").at(i, l, r);
            intra_recv += hier.counts.at("bytes_recv_intra").at(i, l, r);
            EXPECT_EQ(hier.counts.at("rows_computed").at(i, l, r),
                      flat.counts.at("rows_computed").at(i, l, r));
            EXPECT_EQ(hier.counts.at("bytes_sent_inter_combine").at(i, l, r),
                      hier.counts.at("bytes_recv_inter").at(i, l, r));
          }
          EXPECT_EQ(inter_hier, must_cross * row_bytes) << "iteration " << i << " layer " << l;
          EXPECT_LE(inter_hier, inter_flat);
          EXPECT_EQ(intra_sent, intra_recv);
          total_flat += inter_flat;
          total_hier += inter_hier;
        }
      }
      // With several ranks per node, deduplicated relaying must actually save something.
      if (dedup && env.topo.ranks_per_node() > 1) {
        EXPECT_LT(total_hier, total_flat);
      }
    }
  }
}

TEST(Runtime, RejectsUnsupportedOptions) {
  Env env;
  auto backend = make_backend("cpu", env.backend_opt);
  StrategyResult out;
  HarnessOptions opt = env.options();
  opt.iterations = 0;
  EXPECT_THROW(run_harness(*backend, env.transport, env.topo, env.model,
                           env.registered("baseline"), env.workload, opt, out),
               ConfigError);
  // An unknown dispatch mode is rejected where the mode is parsed (once, into DispatchMode).
  EXPECT_THROW(parse_dispatch_mode("ring", "dispatch"), ConfigError);
}

}  // namespace
}  // namespace moeb
