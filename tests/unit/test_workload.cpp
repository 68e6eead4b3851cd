// open_workload on synthetic configs: batching, split bookkeeping, provenance, determinism and
// rejection of bad configs.
#include <gtest/gtest.h>

#include <set>

#include "core/error.hpp"
#include "workload/workload.hpp"

using namespace moeb;

namespace {
RunConfig small_config(const std::string& dist) {
  RunConfig cfg;
  cfg.seed = 3;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.model.num_layers = 3;
  cfg.workload.distribution = dist;
  cfg.workload.num_families = 2;
  cfg.workload.tokens = 3000;
  cfg.workload.batch_tokens = 256;
  cfg.workload.calibration_fraction = 0.25;
  return cfg;
}
}  // namespace

TEST(Workload, SyntheticBatchesCoverTheEvaluationPart) {
  for (const char* dist : {"uniform", "zipf", "families"}) {
    for (const char* order : {"interleaved", "by_request"}) {
      auto cfg = small_config(dist);
      cfg.workload.order = order;
      auto wl = open_workload(cfg, cfg.model);
      auto prov = wl->provenance();
      int64_t eval = std::stoll(prov.at("evaluation_tokens"));
      int64_t cal = std::stoll(prov.at("calibration_tokens"));
      EXPECT_EQ(eval + cal, 3000);
      EXPECT_EQ(wl->calibration_stats().tokens(), cal);
      EXPECT_EQ(wl->num_batches(), (eval + 255) / 256);
      int64_t seen = 0;
      std::set<int64_t> eval_requests;
      for (int64_t b = 0; b < wl->num_batches(); ++b) {
        auto batch = wl->batch(b);
        EXPECT_EQ(batch.num_layers(), 3);
        if (b + 1 < wl->num_batches()) {
          EXPECT_EQ(batch.num_tokens(), 256);
        }
        seen += batch.num_tokens();
        for (int64_t t = 0; t < batch.num_tokens(); ++t)
          eval_requests.insert(batch.meta(t).request_id);
      }
      EXPECT_EQ(seen, eval);
      EXPECT_EQ(static_cast<int64_t>(eval_requests.size()),
                std::stoll(prov.at("evaluation_requests")));
      EXPECT_EQ(prov.at("split"), "fraction");
      EXPECT_EQ(prov.at("oracle"), "0");
      EXPECT_EQ(prov.at("trace_source"), std::string("synthetic:") + dist);
      EXPECT_FALSE(wl->oracle());
    }
  }
}

TEST(Workload, BatchesAreDeterministic) {
  auto cfg = small_config("families");
  auto a = open_workload(cfg, cfg.model), b = open_workload(cfg, cfg.model);
  auto ba = a->batch(2), bb = b->batch(2);
  ASSERT_EQ(ba.num_tokens(), bb.num_tokens());
  for (int l = 0; l < 3; ++l) {
    auto ea = ba.layer_experts(l), eb = bb.layer_experts(l);
    EXPECT_TRUE(std::equal(ea.begin(), ea.end(), eb.begin()));
  }
  EXPECT_EQ(a->calibration_stats().layer(1).load, b->calibration_stats().layer(1).load);
}

TEST(Workload, OracleCalibratesOnTheEvaluationPart) {
  auto cfg = small_config("zipf");
  cfg.workload.split = "oracle";
  auto wl = open_workload(cfg, cfg.model);
  auto prov = wl->provenance();
  EXPECT_TRUE(wl->oracle());
  EXPECT_EQ(prov.at("oracle"), "1");
  EXPECT_EQ(prov.at("calibration_tokens"), prov.at("evaluation_tokens"));
  // The calibration loads equal the loads of the batches replayed.
  std::vector<double> load(cfg.model.num_experts, 0.0);
  for (int64_t b = 0; b < wl->num_batches(); ++b) {
    auto batch = wl->batch(b);
    for (int32_t e : batch.layer_experts(0)) load[e] += 1;
  }
  EXPECT_EQ(wl->calibration_stats().layer(0).load, load);
}

TEST(Workload, CalibrationFamiliesUseTheGeneratorNames) {
  auto cfg = small_config("families");
  cfg.workload.num_families = 3;
  auto wl = open_workload(cfg, cfg.model);
  EXPECT_EQ(wl->calibration_stats().family_names(),
            (std::vector<std::string>{"family0", "family1", "family2"}));
  int64_t sum = 0;
  for (int f = 0; f < 3; ++f) sum += wl->calibration_stats().family_tokens(f);
  EXPECT_EQ(sum, wl->calibration_stats().tokens());
}

TEST(Workload, RejectsBadConfig) {
  auto bad = [](auto edit) {
    auto cfg = small_config("zipf");
    edit(cfg);
    return cfg;
  };
  auto c1 = bad([](RunConfig& c) { c.workload.distribution = "normal"; });
  EXPECT_THROW(open_workload(c1, c1.model), ConfigError);
  auto c2 = bad([](RunConfig& c) { c.workload.batch_tokens = 0; });
  EXPECT_THROW(open_workload(c2, c2.model), ConfigError);
  auto c3 = bad([](RunConfig& c) { c.workload.split = "half"; });
  EXPECT_THROW(open_workload(c3, c3.model), ConfigError);
  auto c4 = bad([](RunConfig& c) { c.workload.kind = "replay"; });
  EXPECT_THROW(open_workload(c4, c4.model), ConfigError);
  auto c5 = bad([](RunConfig& c) { c.workload.order = "random"; });
  EXPECT_THROW(open_workload(c5, c5.model), ConfigError);
  auto c6 = bad([](RunConfig& c) { c.workload.split = "trace"; });
  EXPECT_THROW(open_workload(c6, c6.model), ConfigError);
}
