// The `moebench list` and `moebench validate` commands, run as a user would. Skipped when the
// moebench executable has not been built in this build tree.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "platform/h5.hpp"
#include "io/results_file.hpp"
#include "placement/registry.hpp"
#include "test_results_io_fixture.hpp"

namespace fs = std::filesystem;
using namespace moeb;

namespace {

const std::string kMoebench = std::string(MOEB_BINARY_DIR) + "/bin/moebench";

struct Output {
  int rc = -1;
  std::string out;  // stdout and stderr
};

Output run(const std::string& args) {
  Output o;
  FILE* p = popen((kMoebench + " " + args + " 2>&1").c_str(), "r");
  if (!p) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
  const int status = pclose(p);
  o.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

class IoCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kMoebench)) GTEST_SKIP() << kMoebench << " not built";
    dir_ = fs::temp_directory_path() / ("moeb_cli_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  fs::path dir_;
};

}  // namespace

TEST_F(IoCommands, ListPrintsEveryStrategyWithEveryOption) {
  const Output o = run("list strategies");
  ASSERT_EQ(o.rc, 0) << o.out;
  for (const auto& s : strategies()) {
    const StrategySpec spec = s->spec();
    EXPECT_NE(o.out.find("\n  " + spec.name + "\n"), std::string::npos) << spec.name;
    EXPECT_NE(o.out.find(spec.description), std::string::npos) << spec.name;
    for (const auto& opt : spec.options)
      EXPECT_NE(o.out.find(opt.description), std::string::npos) << spec.name << "." << opt.name;
  }
}

TEST_F(IoCommands, ListPrintsModelsPoliciesAndKeys) {
  const Output o = run("list");
  ASSERT_EQ(o.rc, 0) << o.out;
  EXPECT_NE(o.out.find("deepseek-v3"), std::string::npos);
  EXPECT_NE(o.out.find("least_load"), std::string::npos);
  EXPECT_NE(o.out.find("calibration_fraction"), std::string::npos);
}

TEST_F(IoCommands, ValidateExitCodes) {
  const std::string good = (dir_ / "good.h5").string();
  RunResult r = fixture::make_run();
  r.attrs_str["status"] = "complete";
  write_results(good, r);
  Output o = run("validate " + good);
  EXPECT_EQ(o.rc, 0) << o.out;
  EXPECT_EQ(o.out, good + ": valid (3 strategies)\n");

  const std::string bad = (dir_ / "bad.h5").string();
  r.strategies[0].wrong_elements = 5;
  write_results(bad, r);
  o = run("validate " + bad);
  EXPECT_EQ(o.rc, 1) << o.out;
  EXPECT_EQ(o.out, bad +
                       ": /strategies/baseline attribute 'wrong_elements': rule 8 (no wrong "
                       "elements): 5 wrong elements\n");

  const std::string v2 = (dir_ / "v2.h5").string();
  write_results(v2, fixture::make_run());
  {
    h5::Handle f = h5::open_file_rw(v2);
    h5::write_attr(f, "schema_version", static_cast<int64_t>(2));
  }
  o = run("validate " + v2);
  EXPECT_EQ(o.rc, 2) << o.out;
  EXPECT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 1) << o.out;
}
