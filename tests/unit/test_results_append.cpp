// The results sink appends, it does not rewrite: after every finished strategy the file on disk is
// valid and lists exactly the strategies finished so far; a process killed between strategies,
// or a strategy whose write fails half-way, leaves a file that validates with the finished ones.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

#include "core/error.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"
#include "test_results_io_fixture.hpp"

namespace fs = std::filesystem;
using namespace moeb;

namespace {

std::string scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("moeb_append_" + std::to_string(getpid()));
  fs::create_directories(d);
  return (d / name).string();
}

class Cleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    fs::remove_all(fs::temp_directory_path() / ("moeb_append_" + std::to_string(getpid())));
  }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new Cleanup);

RunResult provenance_of(const RunResult& full) {
  RunResult p = full;
  p.strategies.clear();
  return p;
}

std::vector<std::string> names(const RunResult& r) {
  std::vector<std::string> out;
  for (const auto& s : r.strategies) out.push_back(s.name);
  return out;
}

void expect_valid_with(const std::string& path, const std::vector<std::string>& expected) {
  const ValidationReport v = validate_results(path);
  for (const auto& f : v.failures) ADD_FAILURE() << f;
  EXPECT_EQ(v.num_strategies, static_cast<int>(expected.size()));
  const RunResult back = read_results(path);
  EXPECT_EQ(names(back), expected);
  EXPECT_EQ(back.attrs_str.at("status"), "running");
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  return st.st_ino;
}

TEST(ResultsAppend, KillBetweenStrategiesKeepsEveryFinishedOne) {
  const RunResult full = fixture::make_run();
  ASSERT_GE(full.strategies.size(), 2u);
  for (size_t kill_after = 0; kill_after <= full.strategies.size(); ++kill_after) {
    const std::string path = scratch("killed_after_" + std::to_string(kill_after) + ".h5");
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      // The job: begin, append `kill_after` strategies, then die without finishing.
      Hdf5ResultSink sink(path);
      sink.begin(provenance_of(full));
      for (size_t i = 0; i < kill_after; ++i) sink.write_strategy(full.strategies[i]);
      std::raise(SIGKILL);
      _exit(3);  // not reached
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    std::vector<std::string> expected;
    for (size_t i = 0; i < kill_after; ++i) expected.push_back(full.strategies[i].name);
    SCOPED_TRACE("killed after " + std::to_string(kill_after) + " strategies");
    expect_valid_with(path, expected);
    EXPECT_FALSE(fs::exists(path + ".tmp"));
  }
}

TEST(ResultsAppend, StrategyThatFailsHalfWayLeavesTheFileValid) {
  const RunResult full = fixture::make_run();
  const std::string path = scratch("half.h5");
  Hdf5ResultSink sink(path);
  sink.begin(provenance_of(full));
  sink.write_strategy(full.strategies[0]);
  // Placement and measured cubes are written before the malformed rows_matrix throws.
  StrategyResult bad = full.strategies[1];
  bad.rows_matrix = {{1, 2, 3}};  // not R*R long
  try {
    sink.write_strategy(bad);
    FAIL() << "expected H5Error";
  } catch (const H5Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  expect_valid_with(path, {full.strategies[0].name});
  // The sink goes on: the same name can still be written once it is right.
  sink.write_strategy(full.strategies[1]);
  expect_valid_with(path, {full.strategies[0].name, full.strategies[1].name});
  sink.finish(RunStatus::kComplete);
  EXPECT_TRUE(validate_results(path).ok());
}

TEST(ResultsAppend, AppendsToTheSameFileInsteadOfRewritingIt) {
  const RunResult full = fixture::make_run();
  const std::string path = scratch("same_file.h5");
  Hdf5ResultSink sink(path);
  sink.begin(provenance_of(full));
  const ino_t created = inode_of(path);
  for (const auto& s : full.strategies) {
    sink.write_strategy(s);
    // A rewrite goes through path.tmp and a rename, which gives the path a new inode.
    EXPECT_EQ(inode_of(path), created);
  }
  sink.finish(RunStatus::kComplete);
  EXPECT_EQ(inode_of(path), created);
  // What is read back equals what one whole-file write produces.
  const std::string whole = scratch("whole.h5");
  RunResult r = full;
  r.attrs_str["status"] = "complete";
  write_results(whole, r);
  const RunResult a = read_results(path), b = read_results(whole);
  EXPECT_EQ(names(a), names(b));
  for (size_t i = 0; i < a.strategies.size(); ++i) {
    ASSERT_EQ(a.strategies[i].counts.size(), b.strategies[i].counts.size());
    for (const auto& [name, cube] : a.strategies[i].counts)
      EXPECT_EQ(cube.data, b.strategies[i].counts.at(name).data) << name;
    EXPECT_EQ(a.strategies[i].status, b.strategies[i].status);
    EXPECT_EQ(a.strategies[i].replicas, b.strategies[i].replicas);
  }
  EXPECT_EQ(a.attrs_str.at("status"), "complete");
}

TEST(ResultsAppend, RepeatedNameIsRefusedWithoutTouchingTheFile) {
  const RunResult full = fixture::make_run();
  const std::string path = scratch("repeat.h5");
  Hdf5ResultSink sink(path);
  sink.begin(provenance_of(full));
  sink.write_strategy(full.strategies[0]);
  EXPECT_THROW(sink.write_strategy(full.strategies[0]), H5Error);
  expect_valid_with(path, {full.strategies[0].name});
}

}  // namespace
