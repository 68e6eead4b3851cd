// The oracle bound (docs/STRATEGIES.md "The oracle bound"): the row "oracle" (optimal fitted on
// the evaluation batches) in simulate's output, results file and report, its "of oracle"
// figures against a planted case computed by hand, and, on problems the exact solver covers,
// an oracle objective never worse than any strategy's and equal to the exact optimum.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/objective.hpp"
#include "core/oracle_figure.hpp"
#include "experiment/experiment.hpp"
#include "experiment/measurer.hpp"
#include "experiment/oracle.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"
#include "report/report.hpp"
#include "workload/importers.hpp"

using namespace moeb;
namespace fs = std::filesystem;

namespace {

const std::string kMoebench = std::string(MOEB_BINARY_DIR) + "/bin/moebench";
const std::string kSystem = std::string(MOEB_SOURCE_DIR) + "/suites/systems/h100-ndr400.toml";

fs::path tmp_dir() {
  fs::path d = fs::temp_directory_path() /
               ("moeb_test_oracle_row_" + std::to_string(getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string note(const StrategyResult& s, const std::string& key) {
  for (const auto& [k, v] : s.notes)
    if (k == key) return v;
  return "";
}

// Planted: one request of 64 tokens, 8 experts, top-2, one layer, 2 nodes x 2 ranks (tokens
// 0-31 are owned by ranks 0 and 1 on node 0, 32-63 by ranks 2 and 3 on node 1). Node 0's tokens
// choose experts {4, 6}, node 1's {1, 3}. Inter-node token copies (one per destination rank):
//   baseline (e on rank floor(e R / E): 1->0, 3->1, 4->2, 6->3): 32 x 2 + 32 x 2 = 128;
//   round_robin (e mod 4: 4->0, 6->2, 1->1, 3->3): 32 x 1 + 32 x 1 = 64;
//   oracle ({4, 6} on node 0, {1, 3} on node 1): 0.
// So round_robin reaches (128 - 64) / (128 - 0) = 50.0% of the oracle's cut.
std::string planted_suite(const fs::path& dir) {
  std::ofstream j(dir / "planted.jsonl");
  for (int t = 0; t < 64; ++t) {
    const int a = t < 32 ? 4 : 1, b = t < 32 ? 6 : 3;
    j << "{\"problem_id\": 0, \"token_idx\": " << t << ", \"layer\": 0, \"experts\": [" << a
      << ", " << b << "], \"gating_probs\": [0.6, 0.4]}\n";
  }
  j.close();
  ImportOptions opt;
  opt.format = "jsonl-topk";
  opt.num_experts = 8;
  import_trace({(dir / "planted.jsonl").string()}, (dir / "planted.h5").string(), opt);
  const fs::path suite = dir / "planted.toml";
  std::ofstream s(suite);
  s << "[suite]\nname = \"planted\"\nseed = 3\n"
    << "[model]\nexperts = 8\ntop_k = 2\nhidden = 64\nffn_hidden = 128\nlayers = 1\n"
    << "[topology]\nnodes = 2\nranks_per_node = 2\n"
    << "[workload]\nkind = \"trace\"\ntraces = [\"planted.h5\"]\nsplit = \"trace\"\n"
    << "calibration_trace = \"planted.h5\"\nbatch_tokens = 64\n"
    << "[placement]\nstrategies = [\"round_robin\"]\nslots_per_rank = 2\n";
  return suite.string();
}

int run_cli(const std::string& args, const fs::path& out) {
  const std::string cmd = kMoebench + " " + args + " >" + out.string() + " 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(OracleRow, PlantedCaseInSimulateResultsAndReport) {
  if (!fs::exists(kMoebench)) GTEST_SKIP() << "moebench is not built at " << kMoebench;
  const fs::path dir = tmp_dir();
  const std::string suite = planted_suite(dir), file = (dir / "sim.h5").string();
  const fs::path out = dir / "stdout.txt";
  ASSERT_EQ(run_cli("simulate " + suite + " --system " + kSystem +
                        " --oracle-objective inter_node_bytes -o " + file,
                    out),
            0)
      << slurp(out);
  const std::string console = slurp(out);
  EXPECT_NE(console.find("of oracle"), std::string::npos) << console;
  EXPECT_NE(console.find("of oracle: reduction of inter_node_bytes"), std::string::npos);
  EXPECT_NE(console.find("100.0%"), std::string::npos) << console;
  EXPECT_NE(console.find("50.0%"), std::string::npos) << console;

  const ValidationReport v = validate_results(file);
  ASSERT_TRUE(v.ok()) << (v.failures.empty() ? "" : v.failures.front());
  const RunResult r = read_results(file);
  ASSERT_EQ(r.strategies.size(), 3u);  // baseline added for the figure, oracle after it
  const StrategyResult &base = r.strategies[0], &oracle = r.strategies[1], &rr = r.strategies[2];
  EXPECT_EQ(base.name, "baseline");
  EXPECT_EQ(oracle.name, "oracle");
  EXPECT_EQ(oracle.strategy, "optimal");
  EXPECT_TRUE(oracle.oracle);
  EXPECT_FALSE(rr.oracle);
  EXPECT_EQ(note(oracle, "fitted_on"), "evaluation");
  EXPECT_EQ(note(oracle, "fitted_on_tokens"), "64");
  EXPECT_EQ(note(oracle, kOracleObjectiveNote), "inter_node_bytes");
  // By hand: inter-node copies 128, 0 and 64, each sent in dispatch and combine.
  const double row = r.attrs_num.at("dispatch_row_bytes");
  EXPECT_EQ(*measured_objective(base, "inter_node_bytes"), 128 * 2 * row);
  EXPECT_EQ(*measured_objective(oracle, "inter_node_bytes"), 0.0);
  EXPECT_EQ(*measured_objective(rr, "inter_node_bytes"), 64 * 2 * row);
  EXPECT_EQ(note(oracle, kOfOracleNote), "100.0");
  EXPECT_EQ(note(rr, kOfOracleNote), "50.0");

  report::ReportOptions ro;
  const report::Report rep = report::build_report({{file, r}}, ro);
  ASSERT_EQ(rep.groups.size(), 1u);
  EXPECT_EQ(rep.columns.back(), "of_oracle");  // added to the defaults by the oracle row
  const auto& cells = rep.groups[0].systems.at(0).cells;
  EXPECT_DOUBLE_EQ(cells.at("round_robin").whole.at("of_oracle").median, 50.0);
  EXPECT_DOUBLE_EQ(cells.at("oracle").whole.at("of_oracle").median, 100.0);
  EXPECT_DOUBLE_EQ(cells.at("baseline").whole.at("of_oracle").median, 0.0);

  const fs::path rep_out = dir / "report.txt";
  ASSERT_EQ(run_cli("report " + file, rep_out), 0) << slurp(rep_out);
  const std::string md = slurp(rep_out);
  EXPECT_NE(md.find("of oracle %"), std::string::npos) << md;
  EXPECT_NE(md.find("reduction of inter_node_bytes against baseline"), std::string::npos) << md;
  fs::remove_all(dir);
}

TEST(OracleRow, RefusesANameClashAndLayerTimeWithoutASystem) {
  if (!fs::exists(kMoebench)) GTEST_SKIP() << "moebench is not built at " << kMoebench;
  const fs::path dir = tmp_dir();
  const std::string suite = planted_suite(dir);
  const fs::path out = dir / "out.txt";
  EXPECT_EQ(run_cli("place " + suite + " --oracle-objective layer_time --no-table -o " +
                        (dir / "p.h5").string(),
                    out),
            2);
  EXPECT_NE(slurp(out).find("layer_time needs a system model"), std::string::npos) << slurp(out);
  EXPECT_FALSE(fs::exists(dir / "p.h5"));
  EXPECT_EQ(run_cli("place " + suite + " --oracle-objective fastest -o " + (dir / "p.h5").string(),
                    out),
            2);
  EXPECT_NE(slurp(out).find("--oracle-objective"), std::string::npos) << slurp(out);
  std::ofstream(suite, std::ios::app) << "[variant.oracle]\nstrategy = \"tacg\"\n";
  EXPECT_EQ(run_cli("place " + suite + " --strategy oracle --oracle -o " + (dir / "p.h5").string(),
                    out),
            2);
  EXPECT_NE(slurp(out).find("already named 'oracle'"), std::string::npos) << slurp(out);
  EXPECT_FALSE(fs::exists(dir / "p.h5"));
  fs::remove_all(dir);
}

namespace {

// A synthetic suite the exact solver covers: 8 experts on 2 x 2 ranks, 2 slots (no spare slot:
// the single-copy optimum is the optimum), two layers, one evaluation batch.
std::string small_suite(const fs::path& dir) {
  const fs::path suite = dir / "small.toml";
  std::ofstream s(suite);
  s << "[suite]\nname = \"small\"\nseed = 11\n"
    << "[model]\nexperts = 8\ntop_k = 2\nhidden = 64\nffn_hidden = 128\nlayers = 2\n"
    << "[topology]\nnodes = 2\nranks_per_node = 2\n"
    << "[workload]\nkind = \"synthetic\"\ndistribution = \"families\"\ntokens = 1600\n"
    << "batch_tokens = 400\ncalibration_fraction = 0.5\n"
    << "[placement]\nstrategies = [\"all\"]\nslots_per_rank = 2\n";
  return suite.string();
}

// The exact single-copy optimum of `kind` on the evaluation batch, over the baseline's value
// on the same tokens (LayerObjective units).
double exact_over_baseline(const Experiment& e, ObjectiveKind kind, const StrategyResult& base) {
  ObjectiveConfig oc;
  oc.kind = kind;
  oc.policy = ReplicaPolicyKind::kLocality;
  oc.seed = e.cells.front().cfg.seed;
  double exact = 0, baseline = 0;
  const RoutingTrace batch = e.batches->get(0);
  for (int l = 0; l < 2; ++l) {
    LayerTokens tok;
    tok.append_batch(batch, l, e.topo.num_ranks(), oc.seed, 0);
    exact += exact_single_copy(oc, e.topo, 8, 2, tok).value;
    LayerObjective obj(oc, e.topo, 8, tok);
    LayerPlacement lp;
    lp.replicas = base.replicas[l];
    obj.reset(lp);
    baseline += obj.value();
  }
  return exact / baseline;
}

}  // namespace

TEST(OracleRow, NeverWorseThanAnyStrategyAndExactOnSmallProblems) {
  const fs::path dir = tmp_dir();
  for (const char* objective : {"inter_node_bytes", "total_bytes", "max_rank_load"}) {
    ExperimentRequest req;
    req.mode = ExperimentMode::kSimulate;
    req.suite = small_suite(dir);
    req.system_model = kSystem;
    req.output = (dir / "unused.h5").string();
    req.oracle_objective = objective;
    req.warn_rank0 = false;
    Experiment e = resolve_experiment(req);
    auto m = make_model_measurer();
    const MeasurementProvenance mp = m->prepare(e);
    MemoryResultSink sink;
    ASSERT_EQ(run_experiment(e, *m, mp, {&sink}).exit_code, 0);
    const StrategyResult* oracle = nullptr;
    const StrategyResult* base = nullptr;
    for (const auto& s : sink.result().strategies) {
      if (s.name == "oracle") oracle = &s;
      if (s.name == "baseline") base = &s;
    }
    ASSERT_TRUE(oracle && base) << objective;
    const double best = *measured_objective(*oracle, objective);
    for (const auto& s : sink.result().strategies) {
      if (s.status != StrategyStatus::kComplete || !s.route_transform.empty()) continue;  // c2r
      EXPECT_LE(best, *measured_objective(s, objective)) << objective << " vs " << s.name;
    }
    // The measured ratio to baseline is the exact optimum's (one batch: the counts are exact).
    const double measured = best / *measured_objective(*base, objective);
    const ObjectiveKind kind = parse_objective(objective, "test");
    EXPECT_NEAR(measured, exact_over_baseline(e, kind, *base), 1e-12) << objective;
  }
  fs::remove_all(dir);
}
