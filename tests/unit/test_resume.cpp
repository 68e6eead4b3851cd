// Resume logic (src/io/resume.hpp): finished strategies, compatibility, merge order.
#include <gtest/gtest.h>

#include <cstdio>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "platform/h5.hpp"
#include "io/results_file.hpp"
#include "io/config_loader.hpp"
#include "io/resume.hpp"
#include "test_results_io_fixture.hpp"

namespace {

moeb::StrategyResult strategy(const std::string& name, const std::string& status,
                              double placement_time_s = 0) {
  moeb::StrategyResult s;
  s.name = name;
  s.status = *moeb::parse_strategy_status(status);
  s.placement_time_s = placement_time_s;
  return s;
}

std::vector<std::string> names(const std::vector<moeb::StrategyResult>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(s.name);
  return out;
}

TEST(Resume, CompleteAndSkippedAreFinishedInterruptedIsNot) {
  moeb::RunResult r;
  r.strategies = {strategy("baseline", "complete"), strategy("grace", "skipped"),
                  strategy("eplb", "interrupted")};
  EXPECT_EQ(moeb::completed_strategies(r), (std::set<std::string>{"baseline", "grace"}));
}

TEST(Resume, StrategiesToRunKeepPlannedOrderAndSkipFinished) {
  const std::vector<std::string> planned = {"baseline", "eplb", "tacg", "eplb"};
  EXPECT_EQ(moeb::strategies_to_run(planned, {"baseline"}),
            (std::vector<std::string>{"eplb", "tacg"}));
  EXPECT_TRUE(moeb::strategies_to_run(planned, {"baseline", "eplb", "tacg"}).empty());
}

TEST(Resume, MergeHoldsEveryStrategyOnceInPlannedOrder) {
  const std::vector<std::string> planned = {"baseline", "eplb", "tacg"};
  // Preempted during eplb: baseline finished, eplb interrupted.
  const std::vector<moeb::StrategyResult> previous = {strategy("baseline", "complete", 1.0),
                                                      strategy("eplb", "interrupted", 2.0)};
  const std::vector<moeb::StrategyResult> fresh = {strategy("eplb", "complete", 3.0),
                                                   strategy("tacg", "complete", 4.0)};
  const auto merged = moeb::merge_resumed(planned, previous, fresh);
  ASSERT_EQ(names(merged), (std::vector<std::string>{"baseline", "eplb", "tacg"}));
  EXPECT_EQ(merged[0].placement_time_s, 1.0);  // kept from the file, not run again
  EXPECT_EQ(merged[1].status, moeb::StrategyStatus::kComplete);     // the fresh run replaces the interrupted one
  EXPECT_EQ(merged[1].placement_time_s, 3.0);
}

TEST(Resume, MergeKeepsFinishedStrategiesThatAreNotPlannedAnyMore) {
  const auto merged = moeb::merge_resumed({"eplb"}, {strategy("baseline", "complete")},
                                          {strategy("eplb", "complete")});
  EXPECT_EQ(names(merged), (std::vector<std::string>{"eplb", "baseline"}));
}

TEST(Resume, MergeMidRunListsOnlyWhatExists) {
  // After the first fresh strategy of a resumed run, the file holds old + new, nothing planned-only.
  const auto merged = moeb::merge_resumed({"baseline", "eplb", "tacg"},
                                          {strategy("baseline", "complete")},
                                          {strategy("eplb", "complete")});
  EXPECT_EQ(names(merged), (std::vector<std::string>{"baseline", "eplb"}));
}

TEST(Resume, CompatibleWhenIdentityAttributesAgree) {
  moeb::RunResult a, b;
  a.attrs_str = {{"suite_name", "quickstart"}, {"system", "loopback"}, {"start_time", "x"}};
  a.attrs_num = {{"num_ranks", 4}, {"seed", 42}};
  b = a;
  b.attrs_str["start_time"] = "y";  // provenance that differs between attempts is fine
  EXPECT_NO_THROW(moeb::check_resume_compatible(a, b, "r.h5"));
}

TEST(Resume, IncompatibleRankCountIsRefusedNamingFileAndAttribute) {
  moeb::RunResult a, b;
  a.attrs_num = {{"num_ranks", 4}};
  b.attrs_num = {{"num_ranks", 8}};
  try {
    moeb::check_resume_compatible(a, b, "r.h5");
    FAIL() << "expected ConfigError";
  } catch (const moeb::ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("r.h5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("num_ranks"), std::string::npos) << msg;
  }
}

TEST(Resume, IncompatibleSuiteIsRefused) {
  moeb::RunResult a, b;
  a.attrs_str = {{"suite_name", "quickstart"}};
  b.attrs_str = {{"suite_name", "deepseek-v3"}};
  EXPECT_THROW(moeb::check_resume_compatible(a, b, "r.h5"), moeb::ConfigError);
}

// The quickstart's resolved configuration with `edit` applied, as a results file stores it.
template <class Edit>
std::string quickstart_config(Edit edit) {
  moeb::RunConfig cfg = moeb::load_suite(std::string(MOEB_SOURCE_DIR) + "/suites/quickstart.toml");
  edit(cfg);
  return moeb::config_to_toml(cfg);
}

std::string quickstart_config() {
  return quickstart_config([](moeb::RunConfig&) {});
}

TEST(ResumeConfig, TheSameConfigurationHasNoDifference) {
  EXPECT_TRUE(moeb::config_differences(quickstart_config(), quickstart_config()).empty());
}

TEST(ResumeConfig, EveryChangedKeyIsNamedWithBothValues) {
  const auto d = moeb::config_differences(quickstart_config(), quickstart_config([](auto& c) {
                                            c.iterations = 3;
                                            c.warmup = 0;
                                          }));
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0], "run.iterations (8 in the file, 3 in this run)");
  EXPECT_EQ(d[1], "run.warmup (2 in the file, 0 in this run)");
}

TEST(ResumeConfig, TheStrategyListMayChangeButACommonStrategysOptionsMayNot) {
  const std::string all = quickstart_config();  // strategies = ["all"]
  const std::string two = quickstart_config([](auto& c) {
    c.strategies = {{"baseline", {}}, {"eplb", {}}};  // fewer strategies resumed
  });
  EXPECT_TRUE(moeb::config_differences(all, two).empty());
  const std::string changed = quickstart_config([](auto& c) {
    c.strategies = {{"baseline", {}}, {"eplb", {{"policy", std::string("global")}}}};
  });
  const auto d = moeb::config_differences(all, changed);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], "strategy.eplb.policy ('auto' in the file, 'global' in this run)");
}

TEST(ResumeConfig, AKeyOnlyOneSideHasIsADifference) {
  const auto d = moeb::config_differences("[run]\niterations = 3\n",
                                          "[run]\niterations = 3\nwarmup = 1\n");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], "run.warmup (absent in the file, 1 in this run)");
}

// A file written before [workload] generator_version existed was drawn by version 1: it resumes
// under version 1 and is refused under version 2.
TEST(ResumeConfig, AFileWithoutTheGeneratorVersionReadsAsVersionOne) {
  std::string old_file = quickstart_config();
  const std::string line = "generator_version = 1\n";
  const auto at = old_file.find(line);
  ASSERT_NE(at, std::string::npos);
  old_file.erase(at, line.size());
  EXPECT_TRUE(moeb::config_differences(old_file, quickstart_config()).empty());
  const auto d = moeb::config_differences(
      old_file, quickstart_config([](auto& c) { c.workload.generator_version = 2; }));
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0], "workload.generator_version (1 in the file, 2 in this run)");
}

TEST(ResumeConfig, ResumeIsRefusedNamingTheFileAndEveryKey) {
  moeb::RunResult a, b;
  a.config_toml = quickstart_config();
  b.config_toml = quickstart_config([](auto& c) {
    c.iterations = 3;
    c.seed = 7;
  });
  try {
    moeb::check_resume_compatible(a, b, "r.h5");
    FAIL() << "expected ConfigError";
  } catch (const moeb::ConfigError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("r.h5: cannot resume: the resolved configuration differs in 2 keys: ", 0),
              0u)
        << msg;
    EXPECT_NE(msg.find("run.iterations (8 in the file, 3 in this run)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("suite.seed (42 in the file, 7 in this run)"), std::string::npos) << msg;
  }
}

TEST(ResumeConfig, AConfigThatIsNotTomlIsAnInputErrorNamingTheFile) {
  moeb::RunResult a, b;
  a.config_toml = "[run\niterations = 3\n";
  b.config_toml = quickstart_config();
  try {
    moeb::check_resume_compatible(a, b, "r.h5");
    FAIL() << "expected InputError";
  } catch (const moeb::InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("r.h5: cannot resume: config_toml of the file", 0), 0u)
        << e.what();
  }
}

TEST(Resume, CarriedOverStrategySaysWhichAttemptMeasuredIt) {
  moeb::RunResult first;
  first.attrs_str = {{"start_time", "2026-01-01T00:00:00Z"}, {"slurm_job_id", "17"},
                     {"slurm_job_nodelist", "node[1-2]"}};
  auto s = strategy("baseline", "complete");
  moeb::mark_carried_over(s, first, "r.h5");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"carried_over_from", "r.h5"},
      {"measured_start_time", "2026-01-01T00:00:00Z"},
      {"measured_slurm_job_id", "17"},
      {"measured_slurm_job_nodelist", "node[1-2]"}};
  EXPECT_EQ(s.notes, expected);
  // Resumed a second time: the origin stays the first attempt.
  moeb::RunResult second;
  second.attrs_str = {{"start_time", "2026-01-02T00:00:00Z"}, {"slurm_job_id", "18"}};
  moeb::mark_carried_over(s, second, "r.h5");
  EXPECT_EQ(s.notes, expected);
}

class ResumeFile : public ::testing::Test {
 protected:
  std::string path_ = (std::filesystem::temp_directory_path() /
                       ("moeb_resume_" + std::to_string(::getpid()) + ".h5"))
                          .string();
  void TearDown() override { std::remove(path_.c_str()); }
  void write(int64_t version, const std::vector<std::pair<std::string, std::string>>& strategies) {
    auto f = moeb::h5::create_file(path_);
    moeb::h5::write_attr(f, "schema_version", version);
    auto g = moeb::h5::create_group(f, "strategies");
    for (const auto& [name, status] : strategies) {
      auto s = moeb::h5::create_group(g, name);
      moeb::h5::write_attr(s, "status", status);
    }
  }
};

TEST_F(ResumeFile, ReadsFinishedStrategiesFromFile) {
  write(1, {{"baseline", "complete"}, {"eplb", "interrupted"}, {"grace", "skipped"}});
  EXPECT_EQ(moeb::completed_strategies(path_), (std::set<std::string>{"baseline", "grace"}));
}

TEST_F(ResumeFile, WrittenResultsRoundTripIntoMergeWithoutRerunningFinished) {
  // A valid file (load_for_resume validates first): baseline finished, eplb interrupted.
  moeb::RunResult r = moeb::fixture::make_run();
  r.attrs_str["status"] = "interrupted";
  r.strategies.resize(2);
  r.strategies[0].placement_time_s = 0.25;
  r.strategies[1] = strategy("eplb", "interrupted", 0.5);
  moeb::write_results(path_, r);
  EXPECT_EQ(moeb::completed_strategies(path_), (std::set<std::string>{"baseline"}));
  const auto previous = moeb::load_for_resume(path_);
  EXPECT_NO_THROW(moeb::check_resume_compatible(previous, r, path_));
  const auto todo = moeb::strategies_to_run({"baseline", "eplb"}, moeb::completed_strategies(previous));
  EXPECT_EQ(todo, (std::vector<std::string>{"eplb"}));
  const auto merged = moeb::merge_resumed({"baseline", "eplb"}, previous.strategies,
                                          {strategy("eplb", "complete", 0.75)});
  ASSERT_EQ(names(merged), (std::vector<std::string>{"baseline", "eplb"}));
  EXPECT_EQ(merged[0].placement_time_s, 0.25);
  EXPECT_EQ(merged[1].placement_time_s, 0.75);
}

TEST_F(ResumeFile, RefusesAFileThatFailsValidation) {
  // A finished strategy with a replica on rank 99: nothing may be carried over from it.
  moeb::RunResult r = moeb::fixture::make_run();
  r.strategies[0].replicas[0][0] = {99};
  moeb::write_results(path_, r);
  try {
    moeb::load_for_resume(path_);
    FAIL() << "load_for_resume accepted an invalid file";
  } catch (const moeb::InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cannot resume: the file fails validation"), std::string::npos) << msg;
    EXPECT_NE(msg.find("/strategies/baseline/placement/replicas"), std::string::npos) << msg;
  }
}

TEST_F(ResumeFile, RefusesOtherSchemaVersion) {
  write(2, {{"baseline", "complete"}});
  EXPECT_THROW(moeb::completed_strategies(path_), moeb::InputError);
}

TEST_F(ResumeFile, MissingFileIsAnInputError) {
  EXPECT_THROW(moeb::completed_strategies(path_ + ".absent"), moeb::InputError);
}

}  // namespace
