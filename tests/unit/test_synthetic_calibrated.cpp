// The calibrated generator: `trace info` statistics of a generated trace land within stated
// tolerances of what each workload preset asks for, for every generator version.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/model.hpp"
#include "workload/calibrated.hpp"
#include "workload/synthetic_trace.hpp"
#include "workload/trace_file.hpp"
#include "workload/trace_info.hpp"

using namespace moeb;
namespace fs = std::filesystem;

// Stated tolerances (results_schema/TRACE.md), for traces of >= 8 layers and >= 8192 tokens:
constexpr double kSkewRelTol = 0.15;      // relative, on the mean over layers
constexpr double kPairAbsTol = 0.05;      // absolute
constexpr double kSpearmanAbsTol = 0.08;  // absolute
constexpr double kRecurrenceAbsTol = 0.03;

namespace {

// Generates a calibrated trace of preset `name` with generator `version` and checks `trace info`.
void check_preset(const std::string& name, int version) {
  const auto& preset = workload_preset(name);
  RunConfig cfg;
  cfg.seed = 11;
  cfg.model = model_preset(name);
  cfg.model.num_layers = 8;
  cfg.workload.distribution = "calibrated";
  cfg.workload.preset = name;
  cfg.workload.tokens = 12288;
  cfg.workload.generator_version = version;
  // The process id keeps two checkouts (or two runs) running this test at once apart.
  fs::path path = fs::temp_directory_path() /
                  ("moeb_test_calibrated_" + name + "_v" + std::to_string(version) + "_" +
                   std::to_string(::getpid()) + ".h5");
  auto prov = write_synthetic_trace(cfg, path.string());
  TraceInfo info = trace_info(TraceReader(path.string()));
  fs::remove(path);
  const auto& t = preset.targets;
  EXPECT_NEAR(info.mean_skew, t.skew, kSkewRelTol * t.skew) << name;
  EXPECT_NEAR(info.mean_pair_top10_share, t.pair_share, kPairAbsTol) << name;
  EXPECT_NEAR(info.mean_phase_spearman, t.phase_spearman, kSpearmanAbsTol) << name;
  EXPECT_NEAR(info.mean_recurrence, t.recurrence, kRecurrenceAbsTol) << name;
  EXPECT_EQ(info.family_names.size(), static_cast<size_t>(t.num_families));
  EXPECT_EQ(prov.at("workload_preset"), name);
}

std::string param_name(const ::testing::TestParamInfo<std::string>& param_info) {
  std::string n = param_info.param;
  for (char& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

}  // namespace

class CalibratedPreset : public ::testing::TestWithParam<std::string> {};
class CalibratedPresetV2 : public ::testing::TestWithParam<std::string> {};

TEST_P(CalibratedPreset, TraceInfoMatchesTheTargets) { check_preset(GetParam(), 1); }
// generator_version 2 (no rejection) is solved for the same targets and must meet them too.
TEST_P(CalibratedPresetV2, TraceInfoMatchesTheTargets) { check_preset(GetParam(), 2); }

INSTANTIATE_TEST_SUITE_P(Presets, CalibratedPreset,
                         ::testing::Values("deepseek-v3", "qwen3-235b-a22b", "kimi-k2"),
                         param_name);
INSTANTIATE_TEST_SUITE_P(Presets, CalibratedPresetV2,
                         ::testing::Values("deepseek-v3", "qwen3-235b-a22b", "kimi-k2"),
                         param_name);

TEST(Calibrated, ExplicitTargetsAreHonoured) {
  CalibrationTargets t;
  t.skew = 6;
  t.pair_share = 0.6;
  t.phase_spearman = 0.9;
  t.recurrence = 0.5;
  t.num_families = 2;
  ModelSpec m = model_preset("olmoe-1b-7b");
  for (int version : {1, 2}) {
    SyntheticSpec base;
    base.generator_version = version;
    auto r = calibrate_generator(t, m, base, 3, 4096);
    EXPECT_EQ(r.spec.generator_version, version);
    EXPECT_NEAR(r.achieved_skew, 6, kSkewRelTol * 6) << "version " << version;
    EXPECT_NEAR(r.achieved_pair_share, 0.6, kPairAbsTol) << "version " << version;
    EXPECT_NEAR(r.achieved_phase_spearman, 0.9, kSpearmanAbsTol) << "version " << version;
    EXPECT_NEAR(r.achieved_recurrence, 0.5, kRecurrenceAbsTol) << "version " << version;
  }
}

TEST(Calibrated, SkewAboveWhatTopKAllowsIsClamped) {
  CalibrationTargets t;
  t.skew = 100;  // 128 experts, top-8: an expert in every token's top-k is 16x the mean
  ModelSpec m = model_preset("qwen3-235b-a22b");
  m.num_layers = 2;
  auto r = calibrate_generator(t, m, SyntheticSpec{}, 3, 2048);
  EXPECT_DOUBLE_EQ(r.targets.skew, 0.95 * 16);
}

TEST(Calibrated, UnknownPresetIsAConfigError) {
  EXPECT_THROW(workload_preset("gpt-5"), ConfigError);
}
