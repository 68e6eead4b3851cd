// moebench report over HDF5 files: fixture files written by the io writer pass io's validation,
// a file failing validation is named and skipped, an unknown schema version is refused, and
// the table read back from files equals the one built in memory.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "core/error.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"
#include "report/fixture.hpp"
#include "report/load.hpp"
#include "report/render.hpp"

namespace moeb::report {
namespace {

namespace fs = std::filesystem;

class ReportFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("moeb_report_files_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static FixtureSpec spec(const std::string& system) {
    FixtureSpec s;
    s.system = system;
    s.predicted = true;
    FixtureStrategy base, other, skipped;
    base.name = "baseline";
    base.hot_rank_boost = 0.5;
    other.name = "round_robin";
    other.self_share = 0.5;
    other.time_scale = 0.9;
    skipped.name = "eplb";
    skipped.status = "skipped";
    skipped.skip_reason = "needs spare slots";
    s.strategies = {base, other, skipped};
    return s;
  }
  std::string write(const std::string& name, const RunResult& run) {
    const std::string path = (dir_ / name).string();
    write_results(path, run);
    return path;
  }
  fs::path dir_;
};

TEST_F(ReportFiles, FixtureFilesPassValidation) {
  const std::string path = write("a.h5", make_fixture_run(spec("sysA")));
  const ValidationReport v = validate_results(path);
  for (const auto& f : v.failures) ADD_FAILURE() << f;
  EXPECT_EQ(v.num_strategies, 3);
}

TEST_F(ReportFiles, TableFromFilesEqualsTableFromMemory) {
  const RunResult a = make_fixture_run(spec("sysA"));
  const RunResult b = make_fixture_run(spec("sysB"));
  const std::string pa = write("a.h5", a), pb = write("b.h5", b);
  std::ostringstream err;
  const auto inputs = load_report_inputs({pa, pb}, err);
  EXPECT_EQ(err.str(), "");
  ASSERT_EQ(inputs.size(), 2u);
  ReportOptions opt;
  opt.per_layer = true;
  const std::string from_files = render_csv(build_report(inputs, opt));
  const std::string from_memory = render_csv(build_report({{pa, a}, {pb, b}}, opt));
  EXPECT_EQ(from_files, from_memory);
}

TEST_F(ReportFiles, FileFailingValidationIsNamedAndSkipped) {
  RunResult bad = make_fixture_run(spec("sysA"));
  bad.strategies[1].wrong_elements = 7;  // rule 8: a complete strategy with wrong elements
  const std::string pg = write("good.h5", make_fixture_run(spec("sysA")));
  const std::string pb = write("bad.h5", bad);
  std::ostringstream err;
  const auto inputs = load_report_inputs({pg, pb}, err);
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs[0].path, pg);
  const std::string msg = err.str();
  EXPECT_NE(msg.find("moebench report: skipping " + pb + ": fails validation"), std::string::npos)
      << msg;
  EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 1) << msg;
  std::ostringstream err2;
  EXPECT_THROW(load_report_inputs({pb}, err2), InputError);  // nothing left to report
}

TEST_F(ReportFiles, UnknownSchemaVersionIsRefused) {
  const std::string path = write("v2.h5", make_fixture_run(spec("sysA")));
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t attr = H5Aopen(f, "schema_version", H5P_DEFAULT);
  ASSERT_GE(attr, 0);
  const long long v = 2;
  ASSERT_GE(H5Awrite(attr, H5T_NATIVE_LLONG, &v), 0);
  H5Aclose(attr);
  H5Fclose(f);
  std::ostringstream err;
  try {
    load_report_inputs({path}, err);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find("schema_version"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace moeb::report
