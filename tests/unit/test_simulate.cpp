// `moebench simulate` end to end: the results file validates, its counts are the evaluator's,
// hierarchical dispatch crosses nodes less, and bad input is one line with exit code 2.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/results.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"

using namespace moeb;
namespace fs = std::filesystem;

namespace {

const std::string kMoebench = std::string(MOEB_BINARY_DIR) + "/bin/moebench";
const std::string kSuite = std::string(MOEB_SOURCE_DIR) + "/suites/quickstart.toml";
const std::string kSystems = std::string(MOEB_SOURCE_DIR) + "/suites/systems/";

struct Outcome {
  int rc = -1;
  std::string stderr_text;
};

Outcome run(const std::string& args) {
  const fs::path err = fs::temp_directory_path() / ("moeb_sim_err_" + std::to_string(getpid()));
  const std::string cmd = kMoebench + " simulate " + args + " >/dev/null 2>" + err.string();
  const int status = std::system(cmd.c_str());
  Outcome o;
  o.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err);
  std::stringstream ss;
  ss << in.rdbuf();
  o.stderr_text = ss.str();
  fs::remove(err);
  return o;
}

class Simulate : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kMoebench)) GTEST_SKIP() << "moebench is not built at " << kMoebench;
    dir_ = fs::temp_directory_path() / ("moeb_sim_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string out(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

int64_t layer_sum(const StrategyResult& s, const std::string& key, int layer) {
  const auto& c = s.counts.at(key);
  int64_t t = 0;
  for (int i = 0; i < c.iterations; ++i)
    for (int r = 0; r < c.ranks; ++r) t += c.at(i, layer, r);
  return t;
}

}  // namespace

TEST_F(Simulate, OutputValidatesWithModelBackendAndPredictions) {
  const std::string f = out("flat.h5");
  const Outcome o = run(kSuite + " --system " + kSystems +
                        "h100-ndr400.toml --topology 2x4 --iterations 2 -o " + f);
  ASSERT_EQ(o.rc, 0) << o.stderr_text;
  const ValidationReport v = validate_results(f);
  EXPECT_TRUE(v.ok()) << (v.failures.empty() ? "" : v.failures.front());
  const RunResult r = read_results(f);
  EXPECT_EQ(r.attrs_str.at("backend"), "model");
  EXPECT_EQ(r.attrs_str.at("system"), "h100-ndr400");
  EXPECT_EQ(r.attrs_num.at("num_ranks"), 8);
  ASSERT_FALSE(r.strategies.empty());
  for (const auto& s : r.strategies) {
    if (s.status != StrategyStatus::kComplete) continue;
    const int L = s.counts.at("rows_computed").layers;
    EXPECT_EQ(s.counts.at("rows_computed").iterations, 2);
    for (const char* k : {"t_dispatch", "t_ffn", "t_combine", "t_layer"}) {
      ASSERT_TRUE(s.predicted.count(k)) << k;
      EXPECT_EQ(static_cast<int>(s.predicted.at(k).size()), L);
    }
    for (int l = 0; l < L; ++l) {
      EXPECT_GT(s.predicted.at("t_dispatch")[l], 0);
      EXPECT_GE(s.predicted.at("t_layer")[l], s.predicted.at("t_dispatch")[l] +
                                                  s.predicted.at("t_ffn")[l] +
                                                  s.predicted.at("t_combine")[l]);
    }
    ASSERT_EQ(static_cast<int>(s.rows_matrix.size()), L);  // R = 8 <= 256: stored
  }
}

TEST_F(Simulate, HierarchicalCrossesNodesNoMoreThanFlat) {
  const std::string flat = out("flat.h5"), hier = out("hier.h5");
  const std::string common =
      kSuite + " --system " + kSystems + "a100-25gbe.toml --topology 2x4 --strategies baseline";
  ASSERT_EQ(run(common + " -o " + flat).rc, 0);
  ASSERT_EQ(run(common + " --dispatch hierarchical -o " + hier).rc, 0);
  EXPECT_TRUE(validate_results(hier).ok());
  const StrategyResult a = read_results(flat).strategies.at(0);
  const StrategyResult b = read_results(hier).strategies.at(0);
  const int L = a.counts.at("rows_computed").layers;
  for (int l = 0; l < L; ++l) {
    EXPECT_LE(layer_sum(b, "bytes_sent_inter", l), layer_sum(a, "bytes_sent_inter", l));
    EXPECT_EQ(layer_sum(b, "rows_computed", l), layer_sum(a, "rows_computed", l));
  }
}

TEST_F(Simulate, FasterInterconnectPredictsFasterLayers) {
  const std::string fast = out("fast.h5"), slow = out("slow.h5");
  const std::string common = kSuite + " --topology 2x4 --strategies baseline,round_robin";
  ASSERT_EQ(run(common + " --system " + kSystems + "h100-ndr400.toml -o " + fast).rc, 0);
  ASSERT_EQ(run(common + " --system " + kSystems + "a100-25gbe.toml -o " + slow).rc, 0);
  const RunResult a = read_results(fast), b = read_results(slow);
  ASSERT_EQ(a.strategies.size(), b.strategies.size());
  for (size_t i = 0; i < a.strategies.size(); ++i) {
    // Same workload, placement and routing: identical counts, only the times differ.
    EXPECT_EQ(a.strategies[i].counts.at("bytes_sent_inter").data,
              b.strategies[i].counts.at("bytes_sent_inter").data);
    const auto& ta = a.strategies[i].predicted.at("t_layer");
    const auto& tb = b.strategies[i].predicted.at("t_layer");
    for (size_t l = 0; l < ta.size(); ++l) EXPECT_LT(ta[l], tb[l]);
  }
}

TEST_F(Simulate, UnknownSystemIsOneLineExit2AndWritesNothing) {
  const std::string f = out("none.h5");
  const Outcome o = run(kSuite + " --system no-such-system -o " + f);
  EXPECT_EQ(o.rc, 2);
  EXPECT_NE(o.stderr_text.find("unknown system 'no-such-system'"), std::string::npos)
      << o.stderr_text;
  EXPECT_EQ(std::count(o.stderr_text.begin(), o.stderr_text.end(), '\n'), 1) << o.stderr_text;
  EXPECT_FALSE(fs::exists(f));
  EXPECT_FALSE(fs::exists(f + ".tmp"));
}
