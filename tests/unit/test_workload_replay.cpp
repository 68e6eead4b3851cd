// open_workload on traces: replay of the shared Mixtral trace (direct JSONL and imported HDF5),
// weighted mixing of traces, calibration from a separate (statistics-only) trace, and the
// suites of the workload layer parsing and opening.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/model.hpp"
#include "io/config_loader.hpp"
#include "workload/importers.hpp"
#include "workload/synthetic_trace.hpp"
#include "workload/trace_file.hpp"
#include "workload/workload.hpp"

using namespace moeb;
namespace fs = std::filesystem;

namespace {
const std::string kMixtral =
    std::string(MOEB_SHARED_TRACES) + "/mixtral-8x7b/gsm8k_2_routing.jsonl";

fs::path tmp_dir() {
  fs::path d = fs::temp_directory_path() /
               ("moeb_test_replay_" +
                std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
RunConfig mixtral_config() {
  RunConfig cfg;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.model.num_layers = 4;
  cfg.workload.kind = "trace";
  cfg.workload.batch_tokens = 32;
  cfg.workload.calibration_fraction = 0.5;
  return cfg;
}
// Writes a synthetic trace of `tokens` tokens with `families` families to `path`.
void synth(const std::string& path, int families, uint64_t seed, int64_t tokens) {
  RunConfig cfg;
  cfg.seed = seed;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.model.num_layers = 2;
  cfg.workload.distribution = "families";
  cfg.workload.num_families = families;
  cfg.workload.tokens = tokens;
  write_synthetic_trace(cfg, path);
}
}  // namespace

TEST(WorkloadReplay, SharedMixtralTraceReplaysWithProvenance) {
  if (!fs::exists(kMixtral)) GTEST_SKIP() << "shared traces absent (" << kMixtral << ")";
  auto dir = tmp_dir();
  std::string h5 = (dir / "mixtral.h5").string();
  ImportOptions opt;
  opt.format = "jsonl-topk";
  opt.model = "mixtral-8x7b";
  auto summary = import_trace({kMixtral}, h5, opt);
  for (const std::string& path : {kMixtral, h5}) {
    auto cfg = mixtral_config();
    cfg.workload.traces = {path};
    auto wl = open_workload(cfg, cfg.model);
    auto prov = wl->provenance();
    EXPECT_EQ(prov.at("trace_source"), path);
    EXPECT_EQ(prov.at("dropped_tokens"), "3");
    EXPECT_EQ(prov.at("calibration_requests"), "1");
    EXPECT_EQ(prov.at("evaluation_requests"), "1");
    EXPECT_EQ(std::stoll(prov.at("calibration_tokens")) + std::stoll(prov.at("evaluation_tokens")),
              summary.tokens);
    // The replayed file's checksum (the imported input's for a JSONL replayed directly).
    if (path == kMixtral) {
      EXPECT_EQ(prov.at("trace_sha256"), summary.source_sha256);
    } else {
      EXPECT_EQ(prov.at("trace_sha256"), TraceReader(h5).file_sha256());
    }
    int64_t tokens = 0;
    std::set<int64_t> reqs;
    for (int64_t b = 0; b < wl->num_batches(); ++b) {
      auto batch = wl->batch(b);
      EXPECT_NO_THROW(batch.validate("batch"));
      EXPECT_EQ(batch.num_layers(), 4);
      EXPECT_EQ(batch.family_names, (std::vector<std::string>{"gsm8k"}));
      tokens += batch.num_tokens();
      for (int64_t t = 0; t < batch.num_tokens(); ++t) reqs.insert(batch.meta(t).request_id);
    }
    EXPECT_EQ(tokens, std::stoll(prov.at("evaluation_tokens")));
    EXPECT_EQ(reqs.size(), 1u);
    EXPECT_EQ(wl->calibration_stats().tokens(), std::stoll(prov.at("calibration_tokens")));
  }
  fs::remove_all(dir);
}

TEST(WorkloadReplay, ReplayedRoutingEqualsTheTrace) {
  auto dir = tmp_dir();
  std::string path = (dir / "a.h5").string();
  synth(path, 2, 3, 1000);
  RunConfig cfg;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.model.num_layers = 2;
  cfg.workload.kind = "trace";
  cfg.workload.traces = {path};
  cfg.workload.order = "by_request";
  cfg.workload.batch_tokens = 100;
  auto wl = open_workload(cfg, cfg.model);
  TraceReader r(path);
  auto all = r.read_range(0, r.num_tokens());
  // by_request order keeps each request's tokens together and in position order: find each
  // replayed token in the file by (request, position) and compare its routing.
  std::map<std::pair<int64_t, int32_t>, int64_t> where;
  for (int64_t t = 0; t < all.num_tokens(); ++t)
    where[{all.meta(t).request_id, all.meta(t).position}] = t;
  for (int64_t b = 0; b < wl->num_batches(); ++b) {
    auto batch = wl->batch(b);
    for (int64_t t = 0; t < batch.num_tokens(); ++t) {
      int64_t src = where.at({batch.meta(t).request_id, batch.meta(t).position});
      for (int l = 0; l < 2; ++l) {
        auto e = batch.experts(l, t), f = all.experts(l, src);
        ASSERT_TRUE(std::equal(e.begin(), e.end(), f.begin()));
      }
    }
  }
  fs::remove_all(dir);
}

TEST(WorkloadReplay, MixesTracesByWeightWithMergedFamilies) {
  auto dir = tmp_dir();
  std::string a = (dir / "a.h5").string(), b = (dir / "b.h5").string();
  synth(a, 2, 1, 4000);
  synth(b, 3, 2, 4000);
  RunConfig cfg;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.model.num_layers = 2;
  cfg.workload.kind = "trace";
  cfg.workload.traces = {a, b};
  cfg.workload.trace_weights = {3, 1};
  cfg.workload.batch_tokens = 256;
  auto wl = open_workload(cfg, cfg.model);
  auto prov = wl->provenance();
  // family0/1 in both traces merge by name; family2 only in b.
  EXPECT_EQ(wl->calibration_stats().family_names(),
            (std::vector<std::string>{"family0", "family1", "family2"}));
  int64_t total =
      std::stoll(prov.at("calibration_tokens")) + std::stoll(prov.at("evaluation_tokens"));
  // All of a (4000 tokens) at weight 3/4 -> about 1333 tokens of b (whole requests).
  EXPECT_NEAR(static_cast<double>(total), 4000 + 1333, 120);
  EXPECT_NE(prov.at("trace_source").find("a.h5*0.75"), std::string::npos)
      << prov.at("trace_source");
  EXPECT_NE(prov.at("trace_sha256").find(','), std::string::npos);
  fs::remove_all(dir);
}

TEST(WorkloadReplay, CalibratesFromASeparateStatisticsOnlyTrace) {
  auto dir = tmp_dir();
  std::string eval = (dir / "e.h5").string();
  synth(eval, 1, 4, 600);
  export_trace(eval, "coact-csv", (dir / "c.csv").string());
  ImportOptions opt;
  opt.format = "coact-csv";
  opt.model = "mixtral-8x7b";
  opt.num_layers = 2;
  import_trace({(dir / "c.csv").string()}, (dir / "c.h5").string(), opt);
  RunConfig cfg;
  cfg.model = model_preset("mixtral-8x7b");
  cfg.model.num_layers = 2;
  cfg.workload.kind = "trace";
  cfg.workload.traces = {eval};
  cfg.workload.split = "trace";
  cfg.workload.calibration_trace = (dir / "c.h5").string();
  auto wl = open_workload(cfg, cfg.model);
  EXPECT_EQ(wl->provenance().at("evaluation_tokens"), "600");
  EXPECT_EQ(wl->provenance().at("calibration_tokens"), "0");
  EXPECT_EQ(wl->calibration_stats().layer(1).load, TraceReader(eval).statistics(2).layer(1).load);
  fs::remove_all(dir);
}

TEST(WorkloadReplay, RejectsTracesThatDoNotFitTheModel) {
  auto dir = tmp_dir();
  std::string a = (dir / "a.h5").string();
  synth(a, 1, 1, 200);
  RunConfig cfg;
  cfg.model = model_preset("olmoe-1b-7b");
  cfg.model.num_layers = 2;
  cfg.workload.kind = "trace";
  cfg.workload.traces = {a};
  EXPECT_THROW(open_workload(cfg, cfg.model), ConfigError);
  cfg.workload.traces = {(dir / "missing.h5").string()};
  EXPECT_THROW(open_workload(cfg, cfg.model), InputError);
  fs::remove_all(dir);
}

TEST(WorkloadSuites, EveryWorkloadSuiteParses) {
  for (const char* name :
       {"mixtral-gsm8k", "deepseek-v3", "qwen3-235b-a22b", "kimi-k2", "olmoe", "qwen1.5-moe"}) {
    const std::string path = std::string(MOEB_SOURCE_DIR) + "/suites/" + name + ".toml";
    RunConfig cfg;
    ASSERT_NO_THROW(cfg = load_suite(path)) << path;
    EXPECT_EQ(cfg.suite_name, name);
    // Model suites take nodes and ranks from the launcher (issue 12): any rank count works.
    EXPECT_EQ(cfg.nodes, 0) << name << ": nodes come from the launcher";
    EXPECT_LE(cfg.workload.tokens, 8192) << name;
  }
}

TEST(WorkloadSuites, MixtralSuiteReplaysTheSharedTrace) {
  if (!fs::exists(kMixtral)) GTEST_SKIP() << "shared traces absent (" << kMixtral << ")";
  RunConfig cfg = load_suite(std::string(MOEB_SOURCE_DIR) + "/suites/mixtral-gsm8k.toml");
  auto wl = open_workload(cfg, cfg.model);
  auto prov = wl->provenance();
  EXPECT_EQ(prov.at("dropped_tokens"), "3");
  EXPECT_EQ(prov.at("trace_sha256").size(), 64u);
  EXPECT_GT(wl->num_batches(), 0);
}
