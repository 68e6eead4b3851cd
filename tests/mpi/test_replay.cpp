// Trace replay on real ranks: a routing-trace file (a synthetic one written here, and the shared
// Mixtral trace when ../shared is present) is opened by open_workload on every rank and run
// through the harness under every registered strategy; every measured byte equals the pure
// evaluator's count for the same replayed batches.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/evaluator.hpp"
#include "core/routing.hpp"
#include "placement/registry.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/harness.hpp"
#include "runtime/mpi_transport.hpp"
#include "workload/synthetic_trace.hpp"
#include "workload/workload.hpp"

namespace moeb {
namespace {

namespace fs = std::filesystem;

// Runs every registered strategy (that accepts this shape) over `cfg`'s workload and compares
// the measured counts on rank 0 with evaluate_layer on the same batches.
void replay_matches_evaluator(const RunConfig& cfg) {
  MpiTransport transport;
  const int R = transport.size();
  const Topology topo =
      R >= 4 && R % 2 == 0 ? Topology::uniform(2, R / 2) : Topology::uniform(R, 1);
  const ModelSpec& model = cfg.model;
  auto wl = open_workload(cfg, model);
  ASSERT_GT(wl->num_batches(), 0);
  const int slots = (model.num_experts + R - 1) / R + 1;  // room for one replica per rank
  BackendOptions bo{model.hidden, model.ffn_hidden, 1, 0};
  int checked = 0;
  for (const auto& s : strategies()) {
    const Options o = resolve_options(s->spec().options, {}, "test");
    if (s->constraints(model, topo, slots, o)) continue;
    const PlacementPlan plan =
        s->place(PlacementInput{model, topo, wl->calibration_stats(), slots, o, cfg.seed});
    HarnessOptions opt;
    opt.warmup = 1;
    opt.iterations = 3;
    opt.seed = cfg.seed;
    StrategyResult out;
    auto backend = make_backend("cpu", bo);
    run_harness(*backend, transport, topo, model, plan, *wl, opt, out);
    ++checked;
    if (transport.rank() != 0) continue;
    EXPECT_EQ(out.wrong_elements, 0) << s->name();
    const TrafficOptions topt{true, backend->dispatch_row_bytes(), backend->combine_row_bytes()};
    for (int i = 0; i < opt.iterations; ++i) {
      RoutingTrace batch = wl->batch(out.batch_index[i]);
      if (plan.transform)
        for (int l = 0; l < model.num_layers; ++l) plan.transform->apply(l, batch);
      EXPECT_EQ(out.batch_tokens[i], batch.num_tokens());
      for (int l = 0; l < model.num_layers; ++l) {
        const LayerTraffic lt =
            evaluate_layer(batch, l, plan.placement.layers[l], plan.policy.kind, topo, topt,
                           RouteContext{opt.seed, l, out.batch_index[i]});
        for (int r = 0; r < R; ++r) {
          const auto c = [&](const char* n) { return out.counts.at(n).at(i, l, r); };
          SCOPED_TRACE(s->name() + " iteration " + std::to_string(i) + " layer " +
                       std::to_string(l) + " rank " + std::to_string(r));
          EXPECT_EQ(c("tokens_owned"), lt.tokens_owned[r]);
          EXPECT_EQ(c("rows_computed"), lt.rows_computed[r]);
          EXPECT_EQ(c("bytes_sent_intra"), lt.dispatch[r].sent_intra);
          EXPECT_EQ(c("bytes_sent_inter"), lt.dispatch[r].sent_inter);
          EXPECT_EQ(c("bytes_recv_intra"), lt.dispatch[r].recv_intra);
          EXPECT_EQ(c("bytes_recv_inter"), lt.dispatch[r].recv_inter);
          EXPECT_EQ(c("bytes_sent_inter_combine"), lt.combine[r].sent_inter);
          EXPECT_EQ(c("bytes_recv_inter_combine"), lt.combine[r].recv_inter);
        }
      }
    }
  }
  EXPECT_GE(checked, 2) << "at least baseline and one other strategy should run";
}

RunConfig trace_config(const std::string& path) {
  RunConfig cfg;
  cfg.seed = 7;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.model.hidden = 32;
  cfg.model.ffn_hidden = 32;
  cfg.model.num_layers = 2;
  cfg.workload.kind = "trace";
  cfg.workload.traces = {path};
  cfg.workload.batch_tokens = 48;
  cfg.workload.calibration_fraction = 0.5;
  return cfg;
}

TEST(Replay, SyntheticTraceFileMatchesEvaluator) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  // One file, written by rank 0 under a name every rank agrees on.
  int stamp = 0;
  if (rank == 0) stamp = static_cast<int>(::getpid());
  MPI_Bcast(&stamp, 1, MPI_INT, 0, MPI_COMM_WORLD);
  const fs::path path =
      fs::temp_directory_path() / ("moeb_mpi_replay_" + std::to_string(stamp) + ".h5");
  if (rank == 0) {
    RunConfig gen;
    gen.seed = 3;
    gen.model = model_preset("mixtral-8x7b");
    gen.model.num_layers = 2;
    gen.workload.distribution = "families";
    gen.workload.tokens = 400;
    gen.workload.request_tokens = 20;
    write_synthetic_trace(gen, path.string());
  }
  MPI_Barrier(MPI_COMM_WORLD);
  replay_matches_evaluator(trace_config(path.string()));
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) fs::remove(path);
}

TEST(Replay, SharedMixtralTraceMatchesEvaluator) {
  const char* env = std::getenv("MOEB_SHARED_TRACES");
  const std::string path =
      std::string(env ? env : "../shared/traces") + "/mixtral-8x7b/gsm8k_2_routing.jsonl";
  if (!fs::exists(path)) GTEST_SKIP() << "shared traces absent (" << path << ")";
  replay_matches_evaluator(trace_config(path));
}

}  // namespace
}  // namespace moeb
