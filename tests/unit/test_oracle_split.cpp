// split = "oracle" evaluates exactly the tokens the honest split evaluates (the whole trace when
// a calibration trace is named, else the evaluation part of the split by request) and
// calibrates on exactly those batches.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/model.hpp"
#include "workload/synthetic_trace.hpp"
#include "workload/workload.hpp"

using namespace moeb;
namespace fs = std::filesystem;

namespace {

fs::path tmp_dir() {
  fs::path d = fs::temp_directory_path() /
               ("moeb_test_oracle_" +
                std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

void synth(const std::string& path, uint64_t seed, int64_t tokens) {
  RunConfig cfg;
  cfg.seed = seed;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.model.num_layers = 2;
  cfg.workload.distribution = "families";
  cfg.workload.tokens = tokens;
  write_synthetic_trace(cfg, path);
}

RunConfig trace_config(const std::string& eval) {
  RunConfig cfg;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.model.num_layers = 2;
  cfg.workload.kind = "trace";
  cfg.workload.traces = {eval};
  cfg.workload.batch_tokens = 48;
  return cfg;
}

// Both workloads replay the same batches, token for token, and the oracle's calibration loads
// are those of the batches it replays.
void expect_same_evaluation(const Workload& honest, const Workload& oracle) {
  ASSERT_EQ(honest.num_batches(), oracle.num_batches());
  EXPECT_EQ(honest.provenance().at("evaluation_tokens"), oracle.provenance().at("evaluation_tokens"));
  EXPECT_EQ(oracle.provenance().at("calibration_tokens"), oracle.provenance().at("evaluation_tokens"));
  std::vector<double> load(8, 0.0);
  for (int64_t b = 0; b < honest.num_batches(); ++b) {
    const auto x = honest.batch(b), y = oracle.batch(b);
    ASSERT_EQ(x.num_tokens(), y.num_tokens());
    for (int l = 0; l < 2; ++l) {
      auto ex = x.layer_experts(l), ey = y.layer_experts(l);
      EXPECT_TRUE(std::equal(ex.begin(), ex.end(), ey.begin())) << "batch " << b;
    }
    for (int32_t e : y.layer_experts(1)) load[e] += 1;
  }
  EXPECT_EQ(oracle.calibration_stats().layer(1).load, load);
  EXPECT_TRUE(oracle.oracle());
}

}  // namespace

TEST(OracleSplit, EvaluatesTheSameTokensAsTheTraceSplit) {
  auto dir = tmp_dir();
  const std::string eval = (dir / "e.h5").string(), cal = (dir / "c.h5").string();
  synth(eval, 1, 500);
  synth(cal, 2, 300);
  RunConfig cfg = trace_config(eval);
  cfg.workload.split = "trace";
  cfg.workload.calibration_trace = cal;
  auto honest = open_workload(cfg, cfg.model);
  cfg.workload.split = "oracle";
  auto oracle = open_workload(cfg, cfg.model);
  EXPECT_EQ(honest->provenance().at("evaluation_tokens"), "500");
  expect_same_evaluation(*honest, *oracle);
  EXPECT_EQ(oracle->provenance().at("oracle_of_split"), "trace");
  fs::remove_all(dir);
}

TEST(OracleSplit, EvaluatesTheSameTokensAsTheFractionSplit) {
  auto dir = tmp_dir();
  const std::string eval = (dir / "e.h5").string();
  synth(eval, 3, 700);
  RunConfig cfg = trace_config(eval);
  cfg.workload.calibration_fraction = 0.4;
  auto honest = open_workload(cfg, cfg.model);
  cfg.workload.split = "oracle";
  auto oracle = open_workload(cfg, cfg.model);
  expect_same_evaluation(*honest, *oracle);
  EXPECT_EQ(oracle->provenance().at("oracle_of_split"), "fraction");
  fs::remove_all(dir);
}

TEST(OracleSplit, SharedMixtralTraceOracleEvaluatesTheWholeTraceLikeTheTraceSplit) {
  const std::string mixtral =
      std::string(MOEB_SHARED_TRACES) + "/mixtral-8x7b/gsm8k_2_routing.jsonl";
  if (!fs::exists(mixtral)) GTEST_SKIP() << "shared traces absent (" << mixtral << ")";
  RunConfig cfg = trace_config(mixtral);
  cfg.workload.split = "trace";
  cfg.workload.calibration_trace = mixtral;
  auto honest = open_workload(cfg, cfg.model);
  cfg.workload.split = "oracle";
  auto oracle = open_workload(cfg, cfg.model);
  expect_same_evaluation(*honest, *oracle);
}
