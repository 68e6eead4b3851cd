// `moebench place`: placements from the quickstart suite's calibration part, printed and written
// as a results file that reads back with every strategy and its placement.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/placement.hpp"
#include "io/results_file.hpp"
#include "placement/registry.hpp"

namespace moeb {
namespace {

namespace fs = std::filesystem;

fs::path moebench() { return fs::path(MOEB_BINARY_DIR) / "bin" / "moebench"; }

int run(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(StrategiesPlaceCli, WritesEveryStrategyOfTheQuickstartSuite) {
  if (!fs::exists(moebench())) GTEST_SKIP() << "moebench not built at " << moebench();
  const fs::path out = fs::temp_directory_path() / ("moeb_place_" + std::to_string(::getpid()) + ".h5");
  const std::string suite = std::string(MOEB_SOURCE_DIR) + "/suites/quickstart.toml";
  ASSERT_EQ(run(moebench().string() + " place " + suite + " --strategy all --no-table -o " +
                out.string() + " > /dev/null"),
            0);
  const RunResult r = read_results(out.string());
  EXPECT_EQ(r.attrs_str.at("backend"), "model");
  ASSERT_EQ(r.strategies.size(), strategy_names().size());
  const int R = static_cast<int>(r.attrs_num.at("num_ranks"));
  const int E = static_cast<int>(r.attrs_num.at("num_experts"));
  const int slots = static_cast<int>(r.attrs_num.at("slots_per_rank"));
  for (const auto& s : r.strategies) {
    EXPECT_EQ(s.status, StrategyStatus::kComplete) << s.name << ": " << s.skip_reason;
    ASSERT_FALSE(s.replicas.empty()) << s.name;
    Placement p;
    p.num_ranks = R;
    for (const auto& layer : s.replicas) p.layers.push_back(LayerPlacement{layer, {}, {}});
    EXPECT_EQ(check_placement(p, E, slots), "") << s.name;
    if (s.name == "c2r") {
      EXPECT_GT(s.routing_deviation, 0.0);
    } else {
      EXPECT_EQ(s.routing_deviation, -1.0) << s.name;
    }
  }
  EXPECT_EQ(run(moebench().string() + " validate " + out.string() + " > /dev/null"), 0);
  fs::remove(out);
}

TEST(StrategiesPlaceCli, UnknownStrategyIsOneLineAndExitCodeTwo) {
  if (!fs::exists(moebench())) GTEST_SKIP() << "moebench not built at " << moebench();
  const std::string suite = std::string(MOEB_SOURCE_DIR) + "/suites/quickstart.toml";
  const fs::path out =
      fs::temp_directory_path() / ("moeb_place_nope_" + std::to_string(::getpid()) + ".h5");
  EXPECT_EQ(run(moebench().string() + " place " + suite + " --strategy nope -o " + out.string() +
                " 2> /dev/null"),
            2);
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace moeb
