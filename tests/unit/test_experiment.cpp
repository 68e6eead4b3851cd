// The experiment layer in process: the quickstart suite resolved once and looped over every
// strategy by the model measurer into a memory sink; the counts it stores equal the evaluator's
// counts recomputed independently from the stored placement and the workload's batches.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/evaluator.hpp"
#include "experiment/console_sink.hpp"
#include "experiment/experiment.hpp"
#include "experiment/measurer.hpp"
#include "io/result_sink.hpp"
#include "placement/registry.hpp"

namespace moeb {
namespace {

ExperimentRequest quickstart_request(ExperimentMode mode) {
  ExperimentRequest r;
  r.mode = mode;
  r.suite = std::string(MOEB_SOURCE_DIR) + "/suites/quickstart.toml";
  r.command_line = {"moebench", "test"};
  r.strategies = "all";
  r.iterations = 2;
  if (mode == ExperimentMode::kSimulate) r.system_model = "h100-ndr400";
  return r;
}

// Runs the experiment into a memory sink (the console sink too, as the commands do).
RunResult run_in_memory(const ExperimentRequest& req, Experiment& e) {
  e = resolve_experiment(req);
  auto m = make_model_measurer();
  m->open(e);
  const MeasurementProvenance mp = m->prepare(e);
  MemoryResultSink mem;
  auto console = make_console_sink(e, false);
  const ExperimentOutcome out = run_experiment(e, *m, mp, {&mem, console.get()});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(mem.begun());
  EXPECT_TRUE(mem.finished());
  return mem.result();
}

TEST(Experiment, PlaceLoopsOverEveryStrategyIntoTheMemorySink) {
  Experiment e;
  const RunResult r = run_in_memory(quickstart_request(ExperimentMode::kPlace), e);
  EXPECT_EQ(r.attrs_str.at("status"), "complete");
  EXPECT_EQ(r.attrs_str.at("backend"), "model");
  EXPECT_EQ(r.attrs_str.at("system_model"), "loopback");  // the suite's [system] model
  EXPECT_GE(r.attrs_num.at("host_cores"), 1);
  ASSERT_EQ(r.strategies.size(), strategy_names().size());
  for (size_t k = 0; k < r.strategies.size(); ++k) {
    EXPECT_EQ(r.strategies[k].name, strategy_names()[k]);
    EXPECT_EQ(r.strategies[k].status, StrategyStatus::kComplete) << r.strategies[k].skip_reason;
  }
}

TEST(Experiment, StoredCountsEqualAnIndependentEvaluation) {
  Experiment e;
  const RunResult r = run_in_memory(quickstart_request(ExperimentMode::kSimulate), e);
  const ExperimentCell& cell = e.cells.front();
  const int R = e.topo.num_ranks(), L = cell.cfg.model.num_layers;
  TrafficOptions topt;
  topt.dedup = cell.cfg.dedup;
  topt.dispatch_row_bytes = topt.combine_row_bytes =
      static_cast<int64_t>(r.attrs_num.at("dispatch_row_bytes"));
  for (const auto& s : r.strategies) {
    if (!s.route_transform.empty()) continue;  // the evaluator alone does not transform
    ASSERT_EQ(s.batch_index.size(), 2u) << s.name;
    EXPECT_EQ(s.routing_deviation, -1.0) << s.name;
    EXPECT_FALSE(s.predicted.empty()) << s.name;
    const ReplicaPolicyKind policy = parse_replica_policy(s.replica_policy, s.name);
    // A plan may override the run's dedup (megablocks: note "dedup" = "off: ...").
    topt.dedup = cell.cfg.dedup;
    for (const auto& [k, v] : s.notes)
      if (k == "dedup" && v.rfind("off", 0) == 0) topt.dedup = false;
    for (size_t i = 0; i < s.batch_index.size(); ++i) {
      const RoutingTrace batch = e.workload->batch(s.batch_index[i]);
      for (int l = 0; l < L; ++l) {
        LayerPlacement lp;
        lp.replicas = s.replicas[l];
        // Weights and predicted loads are not stored: policies that use them are skipped here.
        if (policy != ReplicaPolicyKind::kPrimary && policy != ReplicaPolicyKind::kUniform &&
            policy != ReplicaPolicyKind::kLocality)
          continue;
        const LayerTraffic lt = evaluate_layer(batch, l, lp, policy, e.topo, topt,
                                               RouteContext{cell.cfg.seed, l, s.batch_index[i]});
        for (int rk = 0; rk < R; ++rk) {
          const int ii = static_cast<int>(i);
          EXPECT_EQ(s.counts.at("rows_computed").at(ii, l, rk), lt.rows_computed[rk]) << s.name;
          EXPECT_EQ(s.counts.at("bytes_sent_inter").at(ii, l, rk), lt.dispatch[rk].sent_inter)
              << s.name;
          EXPECT_EQ(s.counts.at("bytes_recv_intra_combine").at(ii, l, rk),
                    lt.combine[rk].recv_intra)
              << s.name;
        }
      }
    }
  }
}

TEST(Experiment, UnknownStrategyIsBadInputBeforeAnyWork) {
  ExperimentRequest req = quickstart_request(ExperimentMode::kPlace);
  req.strategies = "baseline,nope";
  EXPECT_THROW(resolve_experiment(req), ConfigError);
  req = quickstart_request(ExperimentMode::kPlace);
  req.dispatch = "ring";
  EXPECT_THROW(resolve_experiment(req), ConfigError);
}

}  // namespace
}  // namespace moeb
