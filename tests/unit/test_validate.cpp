// moebench validate (io/validate): a valid file passes; each rule of results_schema/README.md,
// broken in a file written by the writer and then doctored with the HDF5 API, is reported.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "core/error.hpp"
#include "platform/h5.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"
#include "test_results_io_fixture.hpp"

namespace fs = std::filesystem;
using namespace moeb;

namespace {

class Validate : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path dir = fs::temp_directory_path() / ("moeb_validate_" + std::to_string(getpid()));
    fs::create_directories(dir);
    path_ = (dir /
             (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".h5"))
                .string();
    RunResult r = fixture::make_run();
    r.attrs_str["status"] = "complete";
    write_results(path_, r);
  }
  void TearDown() override {
    fs::remove(path_);
    std::error_code ec;
    fs::remove(fs::path(path_).parent_path(), ec);  // only once empty
  }

  // Rewrites element `idx` of a numeric dataset.
  template <class T>
  void patch(const std::string& dataset, size_t idx, T value) {
    h5::Handle f = h5::open_file_rw(path_);
    h5::Handle d = h5::open_dataset(f, dataset);
    const hid_t type = std::is_same_v<T, double>    ? H5T_NATIVE_DOUBLE
                       : std::is_same_v<T, int32_t> ? H5T_NATIVE_INT32
                                                    : H5T_NATIVE_INT64;
    std::vector<T> v;
    if constexpr (std::is_same_v<T, double>)
      v = h5::read_double(d);
    else if constexpr (std::is_same_v<T, int32_t>)
      v = h5::read_int32(d);
    else
      v = h5::read_int64(d);
    v.at(idx) = value;
    ASSERT_GE(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
  }
  int64_t get64(const std::string& dataset, size_t idx) {
    h5::Handle f = h5::open_file_read(path_);
    return h5::read_int64(h5::open_dataset(f, dataset)).at(idx);
  }
  double getd(const std::string& dataset, size_t idx) {
    h5::Handle f = h5::open_file_read(path_);
    return h5::read_double(h5::open_dataset(f, dataset)).at(idx);
  }

  // True when some failure line starts with `prefix` and names `rule`.
  ::testing::AssertionResult reported(const std::string& prefix, int rule) {
    const ValidationReport rep = validate_results(path_);
    const std::string tag = ": rule " + std::to_string(rule) + " (";
    for (const auto& line : rep.failures)
      if (line.rfind(prefix, 0) == 0 && line.find(tag) != std::string::npos)
        return ::testing::AssertionSuccess();
    std::string all;
    for (const auto& line : rep.failures) all += "\n  " + line;
    return ::testing::AssertionFailure()
           << "no rule " << rule << " failure on " << prefix << "; got:" << all;
  }

  std::string path_;
  const std::string m_ = "/strategies/baseline/measured/";
  const std::string p_ = "/strategies/baseline/placement/";
};

}  // namespace

TEST_F(Validate, WriterOutputIsValid) {
  const ValidationReport rep = validate_results(path_);
  for (const auto& f : rep.failures) ADD_FAILURE() << f;
  EXPECT_TRUE(rep.ok());
  EXPECT_EQ(rep.num_strategies, 3);
}

TEST_F(Validate, Rule1OtherSchemaVersionIsOneLineError) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    h5::write_attr(f, "schema_version", static_cast<int64_t>(7));
  }
  try {
    validate_results(path_);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              path_ + ": schema_version 7 is not supported (this moebench validates version 1)");
  }
  EXPECT_THROW(validate_results(path_ + ".missing"), InputError);
}

TEST_F(Validate, Rule2MissingRootAttribute) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    ASSERT_GE(H5Adelete(f, "system"), 0);
  }
  EXPECT_TRUE(reported("/ attribute 'system'", 2));
}

TEST_F(Validate, Rule3OrderMustListExactlyTheGroups) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    h5::Handle st = h5::open_group(f, "strategies");
    h5::write_attr(st, "order", std::vector<std::string>{"baseline", "replicated"});
  }
  EXPECT_TRUE(reported("/strategies attribute 'order'", 3));
}

TEST_F(Validate, Rule3StatusMustBeValid) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    h5::Handle g = h5::open_group(f, "strategies/replicated");
    h5::write_attr(g, "status", std::string("done"));
  }
  EXPECT_TRUE(reported("/strategies/replicated attribute 'status'", 3));
}

TEST_F(Validate, Rule4MissingMeasuredDatasetOrUnits) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    ASSERT_GE(H5Ldelete(f, (m_ + "t_ffn").c_str(), H5P_DEFAULT), 0);
    h5::Handle d = h5::open_dataset(f, m_ + "bytes_sent_inter");
    ASSERT_GE(H5Adelete(d, "units"), 0);
  }
  EXPECT_TRUE(reported(m_ + "t_ffn", 4));
  EXPECT_TRUE(reported(m_ + "bytes_sent_inter", 4));
}

TEST_F(Validate, Rule4ReplicasOnDistinctValidRanks) {
  // Expert 0 of layer 0 in "replicated" has replicas {0, 1}: make both rank 0.
  patch<int32_t>("/strategies/replicated/placement/replicas", 1, 0);
  EXPECT_TRUE(reported("/strategies/replicated/placement/replicas", 4));
  patch<int32_t>(p_ + "replicas", 0, 9);  // baseline, K = 1: expert 0 on rank 9 of 4
  EXPECT_TRUE(reported(p_ + "replicas", 4));
}

TEST_F(Validate, Rule4EveryExpertHasAReplica) {
  patch<int32_t>(p_ + "replicas", 3, -1);
  EXPECT_TRUE(reported(p_ + "replicas", 4));
}

TEST_F(Validate, Rule4SlotsWithinBudget) {
  patch<int32_t>(p_ + "slots_used", 0, 4);  // slots_per_rank is 3
  EXPECT_TRUE(reported(p_ + "slots_used", 4));
}

TEST_F(Validate, Rule4PlacementShapes) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    ASSERT_GE(H5Ldelete(f, (p_ + "num_replicas").c_str(), H5P_DEFAULT), 0);
    std::vector<int32_t> v(3, 1);
    h5::Handle g = h5::open_group(f, p_);
    h5::write_dataset(g, "num_replicas", {3}, v.data(), "1");
  }
  EXPECT_TRUE(reported(p_ + "num_replicas", 4));
}

TEST_F(Validate, Rule5BytesSentEqualBytesReceived) {
  // Move one row of intra-node receive bytes from one rank to a rank that received nothing
  // more: the sum changes by a full row, so only conservation (and the mirror) break.
  const int64_t v = get64(m_ + "bytes_recv_inter", 0);
  patch<int64_t>(m_ + "bytes_recv_inter", 0, v + fixture::kRowBytes);
  EXPECT_TRUE(reported(m_ + "bytes_sent_inter", 5));
}

TEST_F(Validate, Rule5CombineMirrorsDispatch) {
  // Swap combine bytes between two ranks: sums still match, the per-rank mirror does not.
  const std::string d = m_ + "bytes_sent_inter_combine";
  size_t j = 1;  // a rank of iteration 0, layer 0 whose value differs from rank 0's
  while (j < static_cast<size_t>(fixture::kRanks) && get64(d, j) == get64(d, 0)) ++j;
  ASSERT_LT(j, static_cast<size_t>(fixture::kRanks));
  const int64_t a = get64(d, 0), b = get64(d, j);
  patch<int64_t>(d, 0, b);
  patch<int64_t>(d, j, a);
  EXPECT_TRUE(reported(m_ + "bytes_sent_inter_combine", 5));
}

TEST_F(Validate, Rule6RowsAndTokens) {
  patch<int64_t>(m_ + "rows_computed", 2, get64(m_ + "rows_computed", 2) + 1);
  patch<int64_t>(m_ + "tokens_owned", 5, get64(m_ + "tokens_owned", 5) - 1);
  EXPECT_TRUE(reported(m_ + "rows_computed", 6));
  EXPECT_TRUE(reported(m_ + "tokens_owned", 6));
}

TEST_F(Validate, Rule7BytesAreMultiplesOfTheRowSize) {
  patch<int64_t>(m_ + "bytes_sent_intra", 0, get64(m_ + "bytes_sent_intra", 0) + 3);
  EXPECT_TRUE(reported(m_ + "bytes_sent_intra", 7));
}

TEST_F(Validate, Rule7TimesFiniteAndNonNegative) {
  patch<double>(m_ + "t_gate", 0, -1.0);
  patch<double>(m_ + "t_combine", 1, std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(reported(m_ + "t_gate", 7));
  EXPECT_TRUE(reported(m_ + "t_combine", 7));
}

TEST_F(Validate, Rule7LayerTimeBoundsEachPhase) {
  patch<double>(m_ + "t_ffn", 4, getd(m_ + "t_layer", 4) * 2);
  EXPECT_TRUE(reported(m_ + "t_layer", 7));
}

TEST_F(Validate, Rule8NoWrongElements) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    h5::Handle g = h5::open_group(f, "strategies/baseline");
    h5::write_attr(g, "wrong_elements", static_cast<int64_t>(3));
  }
  EXPECT_TRUE(reported("/strategies/baseline attribute 'wrong_elements'", 8));
}

TEST_F(Validate, ManyViolationsOfOneRuleAreOneLine) {
  for (size_t i = 0; i < 6; ++i) patch<double>(m_ + "t_gate", i, -1.0);
  const ValidationReport rep = validate_results(path_);
  int lines = 0;
  for (const auto& l : rep.failures)
    if (l.rfind(m_ + "t_gate: rule 7", 0) == 0) {
      ++lines;
      EXPECT_NE(l.find("(and 5 more)"), std::string::npos) << l;
    }
  EXPECT_EQ(lines, 1);
}

TEST_F(Validate, SkippedStrategiesNeedNoMeasurements) {
  // The fixture's "skipped_one" has no placement or measured group and is still valid.
  h5::Handle f = h5::open_file_read(path_);
  EXPECT_FALSE(h5::exists(h5::open_group(f, "strategies/skipped_one"), "measured"));
  EXPECT_TRUE(validate_results(path_).ok());
}

// ---- Hostile files (issue 17): declared extents, shapes and types are checked before reading,
// and validate accepts nothing that read_results (report, --resume) refuses.
namespace {

// Replaces `dataset` by an empty chunked one of extent `dims` (nothing written: the file stays
// small whatever the extent).
void replace_with_extent(const std::string& path, const std::string& dataset,
                         std::vector<hsize_t> dims, hid_t type) {
  h5::Handle f = h5::open_file_rw(path);
  ASSERT_GE(H5Ldelete(f, dataset.c_str(), H5P_DEFAULT), 0);
  std::vector<hsize_t> maxd(dims.size(), H5S_UNLIMITED), chunk(dims.size(), 1);
  h5::Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxd.data()));
  h5::Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  ASSERT_GE(H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data()), 0);
  h5::Handle d(H5Dcreate2(f, dataset.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  ASSERT_GE(static_cast<hid_t>(d), 0);
}

// read_results refuses the file with one InputError line naming `what`.
::testing::AssertionResult read_refused(const std::string& path, const std::string& what) {
  try {
    read_results(path);
  } catch (const InputError& e) {
    const std::string msg = e.what();
    if (msg.find(what) == std::string::npos || msg.find('\n') != std::string::npos)
      return ::testing::AssertionFailure() << "message does not name " << what << ": " << msg;
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "read_results accepted the file";
}

constexpr hsize_t kHuge = hsize_t{1} << 40;

}  // namespace

TEST_F(Validate, HugeIterationExtentIsRefusedNotAllocated) {
  for (const char* n : {"batch_tokens", "batch_index"})
    replace_with_extent(path_, m_ + n, {kHuge}, H5T_STD_I64LE);
  EXPECT_TRUE(reported(m_ + "batch_tokens", 4));
  EXPECT_TRUE(read_refused(path_, "batch_"));
}

TEST_F(Validate, HugeTimeCubeIsRefused) {
  replace_with_extent(path_, m_ + "t_layer", {kHuge, fixture::kLayers, fixture::kRanks},
                      H5T_IEEE_F64LE);
  EXPECT_TRUE(reported(m_ + "t_layer", 4));
  EXPECT_TRUE(read_refused(path_, "t_layer"));
}

TEST_F(Validate, HugeRankNodeIsRefusedByValidateAndReader) {
  replace_with_extent(path_, "/provenance/rank_node", {kHuge}, H5T_STD_I32LE);
  const ValidationReport rep = validate_results(path_);
  ASSERT_FALSE(rep.ok());
  EXPECT_NE(rep.failures.front().find("rank_node"), std::string::npos) << rep.failures.front();
  EXPECT_TRUE(read_refused(path_, "/provenance/rank_node"));
}

TEST_F(Validate, RowsMatrixOfWrongShapeIsRefused) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    ASSERT_GE(H5Ldelete(f, (m_ + "rows_matrix").c_str(), H5P_DEFAULT), 0);
    std::vector<int64_t> v(fixture::kLayers * fixture::kRanks * (fixture::kRanks + 1), 0);
    h5::Handle g = h5::open_group(f, m_);
    h5::write_dataset(g, "rows_matrix", {fixture::kLayers, fixture::kRanks, fixture::kRanks + 1},
                      v.data(), "rows");
  }
  EXPECT_FALSE(validate_results(path_).ok());
  EXPECT_TRUE(read_refused(path_, "rows_matrix"));
}

TEST_F(Validate, NoteThatIsNotAStringIsRefused) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    h5::Handle n = h5::open_group(f, "/strategies/baseline/notes");
    h5::write_attr(n, "count", static_cast<int64_t>(7));
  }
  EXPECT_FALSE(validate_results(path_).ok());
  EXPECT_TRUE(read_refused(path_, "notes"));
}

TEST_F(Validate, RootDimensionsPastTheLimitsAreRefused) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    h5::write_attr(f, "num_layers", static_cast<int64_t>(1000000000));
  }
  EXPECT_TRUE(reported("/ attribute 'num_layers'", 2));
  EXPECT_TRUE(read_refused(path_, "num_layers"));
}

TEST_F(Validate, StatusOfAKilledRunIsReported) {
  {
    h5::Handle f = h5::open_file_rw(path_);
    h5::write_attr(f, "status", std::string("running"));
  }
  const ValidationReport rep = validate_results(path_);
  EXPECT_TRUE(rep.ok());  // what it holds is valid ...
  EXPECT_EQ(rep.status, "running");
  EXPECT_TRUE(rep.unfinished());  // ... but the CLI says the run did not finish (exit 1)
}

TEST_F(Validate, NotAnHdf5FileIsOneLineInputError) {
  {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    std::fputs("schema_version = 1\n", f);
    std::fclose(f);
  }
  EXPECT_THROW(validate_results(path_), InputError);
  EXPECT_THROW(read_results(path_), InputError);
}
