// Phases: eval_phase restricts the evaluation batches, calib_phase the calibration statistics,
// so "place from prefill, measure on decode" is one configuration.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "workload/workload.hpp"

using namespace moeb;

namespace {
RunConfig phase_config() {
  RunConfig cfg;
  cfg.seed = 5;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.model.num_layers = 2;
  cfg.workload.distribution = "zipf";
  cfg.workload.tokens = 4000;
  cfg.workload.batch_tokens = 200;
  cfg.workload.prefill_share = 0.5;
  return cfg;
}

int64_t eval_tokens_of_phase(const Workload& wl, Phase p) {
  int64_t n = 0;
  for (int64_t b = 0; b < wl.num_batches(); ++b) {
    const auto batch = wl.batch(b);
    for (int64_t t = 0; t < batch.num_tokens(); ++t) n += batch.meta(t).phase == p;
  }
  return n;
}
}  // namespace

TEST(Phases, PlaceFromPrefillMeasureOnDecode) {
  RunConfig all = phase_config();
  auto wl_all = open_workload(all, all.model);
  const int64_t decode = eval_tokens_of_phase(*wl_all, Phase::kDecode);
  const int64_t prefill = eval_tokens_of_phase(*wl_all, Phase::kPrefill);
  ASSERT_GT(decode, 0);
  ASSERT_GT(prefill, 0);
  ASSERT_GT(wl_all->calibration_stats().prefill_tokens(), 0);
  ASSERT_LT(wl_all->calibration_stats().prefill_tokens(), wl_all->calibration_stats().tokens());

  RunConfig cfg = phase_config();
  cfg.workload.calib_phase = "prefill";
  cfg.workload.eval_phase = "decode";
  auto wl = open_workload(cfg, cfg.model);
  // Every evaluation token is a decode token, and all of the decode tokens are kept.
  EXPECT_EQ(eval_tokens_of_phase(*wl, Phase::kPrefill), 0);
  EXPECT_EQ(eval_tokens_of_phase(*wl, Phase::kDecode), decode);
  // The strategies see only prefill tokens, the same ones as before.
  EXPECT_EQ(wl->calibration_stats().tokens(), wl->calibration_stats().prefill_tokens());
  EXPECT_EQ(wl->calibration_stats().tokens(), wl_all->calibration_stats().prefill_tokens());
  EXPECT_EQ(wl->provenance().at("eval_phase"), "decode");
  EXPECT_EQ(wl->provenance().at("calib_phase"), "prefill");
  EXPECT_EQ(std::stoll(wl->provenance().at("evaluation_tokens")), decode);
}

TEST(Phases, NoTokensOfThatPhaseIsAConfigError) {
  RunConfig cfg = phase_config();
  cfg.workload.prefill_share = 0.0;
  cfg.workload.calib_phase = "prefill";
  EXPECT_THROW(open_workload(cfg, cfg.model), ConfigError);
  RunConfig bad = phase_config();
  bad.workload.eval_phase = "decoding";
  EXPECT_THROW(open_workload(bad, bad.model), ConfigError);
}
