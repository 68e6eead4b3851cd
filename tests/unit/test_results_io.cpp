// HDF5 results writer/reader and sink (results_schema/README.md, v1).
#include <gtest/gtest.h>
#include <hdf5.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include "core/error.hpp"
#include "core/summary.hpp"
#include "platform/h5.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"
#include "test_results_io_fixture.hpp"

namespace fs = std::filesystem;
using namespace moeb;

namespace {

fs::path temp_dir() {
  return fs::temp_directory_path() / ("moeb_io_test_" + std::to_string(getpid()));
}

std::string temp_path(const std::string& name) {
  fs::create_directories(temp_dir());
  return (temp_dir() / name).string();
}

// Removes this process's scratch folder when the tests end.
class ScratchCleanup : public ::testing::Environment {
 public:
  void TearDown() override { fs::remove_all(temp_dir()); }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

template <class T>
void expect_cubes_equal(const std::map<std::string, Cube<T>>& a,
                        const std::map<std::string, Cube<T>>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, c] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    const auto& d = b.at(name);
    EXPECT_EQ(c.iterations, d.iterations) << name;
    EXPECT_EQ(c.layers, d.layers) << name;
    EXPECT_EQ(c.ranks, d.ranks) << name;
    EXPECT_EQ(c.data, d.data) << name;
  }
}

void expect_strategy_equal(const StrategyResult& a, const StrategyResult& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.skip_reason, b.skip_reason);
  EXPECT_EQ(a.description, b.description);
  EXPECT_EQ(a.options, b.options);
  EXPECT_EQ(a.replica_policy, b.replica_policy);
  EXPECT_EQ(a.route_transform, b.route_transform);
  EXPECT_EQ(a.routing_deviation, b.routing_deviation);
  EXPECT_EQ(a.placement_time_s, b.placement_time_s);
  EXPECT_EQ(a.oracle, b.oracle);
  EXPECT_EQ(a.notes, b.notes);  // order kept
  EXPECT_EQ(a.replicas, b.replicas);
  EXPECT_EQ(a.slots_used, b.slots_used);
  expect_cubes_equal(a.counts, b.counts);
  expect_cubes_equal(a.times, b.times);
  EXPECT_EQ(a.batch_index, b.batch_index);
  EXPECT_EQ(a.batch_tokens, b.batch_tokens);
  EXPECT_EQ(a.rows_matrix, b.rows_matrix);
  EXPECT_EQ(a.predicted, b.predicted);
  EXPECT_EQ(a.predicted_system_model, b.predicted_system_model);
  EXPECT_EQ(a.checked_elements, b.checked_elements);
  EXPECT_EQ(a.wrong_elements, b.wrong_elements);
  EXPECT_EQ(a.max_abs_err, b.max_abs_err);
}

// The message of what `f` throws as an E, or nullopt when it returns.
template <class E = std::exception>
std::optional<std::string> thrown(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return std::string(e.what());
  }
  return std::nullopt;
}

// What a sink's begin() gets: the run's provenance, no strategy yet.
RunResult provenance_only(RunResult r) {
  r.strategies.clear();
  return r;
}

}  // namespace

TEST(ResultsIo, RoundTripRestoresEveryField) {
  RunResult r = fixture::make_run();
  r.attrs_str["status"] = "complete";
  r.attrs_str["end_time"] = "2026-01-01T00:01:00Z";
  const std::string path = temp_path("roundtrip.h5");
  write_results(path, r);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  const RunResult back = read_results(path);

  // Root attributes: everything given, plus schema_version written by the writer.
  auto expected_num = r.attrs_num;
  expected_num["schema_version"] = 1;
  EXPECT_EQ(back.attrs_str, r.attrs_str);
  EXPECT_EQ(back.attrs_num, expected_num);
  EXPECT_EQ(back.config_toml, r.config_toml);
  EXPECT_EQ(back.hostnames, r.hostnames);
  EXPECT_EQ(back.rank_node, r.rank_node);
  EXPECT_EQ(back.rank_device, r.rank_device);
  EXPECT_EQ(back.env, r.env);
  ASSERT_EQ(back.strategies.size(), r.strategies.size());
  for (size_t i = 0; i < r.strategies.size(); ++i)
    expect_strategy_equal(r.strategies[i], back.strategies[i]);
}

// rows_matrix_link: a rows matrix equal to an earlier strategy's of the file is a hard link to
// that dataset (one dataset, two names) and reads back as its own values; a link to a strategy
// the file does not hold (or holds with another shape) writes the values instead.
TEST(ResultsIo, ALinkedRowsMatrixIsOneDatasetAndReadsBackAsItsValues) {
  RunResult r = fixture::make_run();
  StrategyResult first = fixture::make_strategy("first", 3, false);
  StrategyResult same = fixture::make_strategy("same", 4, true);
  same.rows_matrix = first.rows_matrix;
  same.rows_matrix_link = "first";
  StrategyResult nowhere = fixture::make_strategy("nowhere", 5, false);
  nowhere.rows_matrix_link = "absent";
  r.strategies = {first, same, nowhere};
  const std::string path = temp_path("linked_rows.h5");
  write_results(path, r);
  ASSERT_TRUE(validate_results(path).ok());
  const RunResult back = read_results(path);
  ASSERT_EQ(back.strategies.size(), 3u);
  EXPECT_EQ(back.strategies[1].rows_matrix, first.rows_matrix);
  EXPECT_EQ(back.strategies[2].rows_matrix, nowhere.rows_matrix);
  h5::Handle f = h5::open_file_read(path);
  EXPECT_EQ(h5::hard_links(f, "/strategies/first/measured/rows_matrix"), 2u);
  EXPECT_EQ(h5::hard_links(f, "/strategies/same/measured/rows_matrix"), 2u);
  EXPECT_EQ(h5::hard_links(f, "/strategies/nowhere/measured/rows_matrix"), 1u);
  fs::remove(path);
}

// ResultsReadOptions: without the rows matrix every other field reads as whole; with
// each_strategy the strategies come one at a time, in order, and none is kept.
TEST(ResultsIo, ReadWithoutRowsMatrixOrOneStrategyAtATime) {
  const RunResult r = fixture::make_run();
  const std::string path = temp_path("read_options.h5");
  write_results(path, r);
  ResultsReadOptions no_rows;
  no_rows.rows_matrix = false;
  const RunResult light = read_results(path, no_rows);
  ASSERT_EQ(light.strategies.size(), r.strategies.size());
  for (size_t i = 0; i < r.strategies.size(); ++i) {
    EXPECT_TRUE(light.strategies[i].rows_matrix.empty());
    StrategyResult want = r.strategies[i];
    want.rows_matrix.clear();
    expect_strategy_equal(want, light.strategies[i]);
  }
  std::vector<std::string> seen;
  ResultsReadOptions each;
  each.each_strategy = [&](StrategyResult&& s) {
    ASSERT_LT(seen.size(), r.strategies.size());
    expect_strategy_equal(r.strategies[seen.size()], s);
    seen.push_back(s.name);
  };
  const RunResult streamed = read_results(path, each);
  EXPECT_TRUE(streamed.strategies.empty());
  std::vector<std::string> names;
  for (const auto& s : r.strategies) names.push_back(s.name);
  EXPECT_EQ(seen, names);
  fs::remove(path);
}

TEST(ResultsIo, IntegerAttributesAreStoredAsIntegers) {
  const std::string path = temp_path("types.h5");
  write_results(path, fixture::make_run());
  h5::Handle f = h5::open_file_read(path);
  EXPECT_EQ(h5::attr_class(f, "num_ranks"), h5::AttrClass::kInt);
  EXPECT_EQ(h5::attr_class(f, "seed"), h5::AttrClass::kInt);
  EXPECT_EQ(h5::attr_class(f, "probe_overhead"), h5::AttrClass::kFloat);
  EXPECT_EQ(h5::attr_class(f, "system"), h5::AttrClass::kString);
  h5::Handle d = h5::open_dataset(f, "strategies/baseline/measured/bytes_sent_inter");
  EXPECT_EQ(h5::read_attr_str(d, "units"), "bytes");
  h5::Handle t = h5::open_dataset(f, "strategies/baseline/measured/t_ffn");
  EXPECT_EQ(h5::read_attr_str(t, "units"), "s");
}

TEST(ResultsIo, SummaryStoredMatchesCoreSummary) {
  const RunResult r = fixture::make_run();
  const std::string path = temp_path("summary.h5");
  write_results(path, r);
  const StrategySummary want = summarize(r.strategies[0]);
  h5::Handle f = h5::open_file_read(path);
  h5::Handle g = h5::open_group(f, "strategies/baseline/summary");
  for (const auto& field : summary_fields()) {
    h5::Handle d = h5::open_dataset(g, field.name);
    EXPECT_EQ(h5::read_double(d), want.*(field.per_layer)) << field.name;
    EXPECT_EQ(h5::read_attr_str(d, "units"), field.units) << field.name;
  }
  for (const auto& [name, v] : summary_attributes(want))
    EXPECT_EQ(h5::read_attr_float(g, name), v) << name;
  EXPECT_FALSE(h5::exists(h5::open_group(f, "strategies/skipped_one"), "summary"));
  EXPECT_FALSE(h5::exists(h5::open_group(f, "strategies/skipped_one"), "measured"));
}

TEST(ResultsIo, LargeDatasetsAreChunkedAndCompressed) {
  RunResult r = fixture::make_run();
  r.strategies = {fixture::make_strategy("big", 7, false, 600)};  // 600 x 2 x 4 elements
  const std::string path = temp_path("big.h5");
  write_results(path, r);
  h5::Handle f = h5::open_file_read(path);
  h5::Handle d = h5::open_dataset(f, "strategies/big/measured/t_layer");
  h5::Handle dcpl(H5Dget_create_plist(d));
  EXPECT_EQ(H5Pget_layout(dcpl), H5D_CHUNKED);
  EXPECT_GT(H5Pget_nfilters(dcpl), 0);
  EXPECT_EQ(read_results(path).strategies[0].times.at("t_layer").data,
            r.strategies[0].times.at("t_layer").data);
}

// Every stored chunk of dataset `name` is the same in files `a` and `b`: offsets, filter masks
// and bytes (H5Dread_chunk reads them as stored, before any filter is undone).
void expect_same_chunks(const std::string& a, const std::string& b, const std::string& name) {
  h5::Handle fa = h5::open_file_read(a), fb = h5::open_file_read(b);
  h5::Handle da = h5::open_dataset(fa, name), db = h5::open_dataset(fb, name);
  h5::Handle sa(H5Dget_space(da)), sb(H5Dget_space(db));
  hsize_t na = 0, nb = 0;
  ASSERT_GE(H5Dget_num_chunks(da, sa, &na), 0) << name;
  ASSERT_GE(H5Dget_num_chunks(db, sb, &nb), 0) << name;
  ASSERT_EQ(na, nb) << name;
  const auto rank = static_cast<size_t>(H5Sget_simple_extent_ndims(sa));
  for (hsize_t i = 0; i < na; ++i) {
    std::vector<hsize_t> oa(rank), ob(rank);
    unsigned ma = 0, mb = 0;
    haddr_t addr = 0;
    hsize_t za = 0, zb = 0;
    ASSERT_GE(H5Dget_chunk_info(da, sa, i, oa.data(), &ma, &addr, &za), 0);
    ASSERT_GE(H5Dget_chunk_info(db, sb, i, ob.data(), &mb, &addr, &zb), 0);
    EXPECT_EQ(oa, ob) << name << " chunk " << i;
    EXPECT_EQ(ma, mb) << name << " chunk " << i;
    ASSERT_EQ(za, zb) << name << " chunk " << i;
    std::vector<unsigned char> ba(za), bb(zb);
    uint32_t fa_mask = 0, fb_mask = 0;
    ASSERT_GE(H5Dread_chunk(da, H5P_DEFAULT, oa.data(), &fa_mask, ba.data()), 0);
    ASSERT_GE(H5Dread_chunk(db, H5P_DEFAULT, ob.data(), &fb_mask, bb.data()), 0);
    EXPECT_TRUE(ba == bb) << name << " chunk " << i << " stored bytes differ";
  }
}

// The chunked datasets of strategy `s` in `path` (those of /measured with chunks).
std::vector<std::string> chunked_measured(const std::string& path, const std::string& s) {
  h5::Handle f = h5::open_file_read(path);
  h5::Handle m = h5::open_group(f, "strategies/" + s + "/measured");
  std::vector<std::string> out;
  for (const auto& n : h5::child_names(m)) {
    h5::Handle d = h5::open_dataset(m, n);
    h5::Handle dcpl(H5Dget_create_plist(d));
    if (H5Pget_layout(dcpl) == H5D_CHUNKED) out.push_back("strategies/" + s + "/measured/" + n);
  }
  return out;
}

// The threaded path (chunks shuffled and deflated here, on 1 or 2 threads, stored with
// H5Dwrite_chunk) reads back equal, and stores exactly the bytes HDF5's own filter pipeline
// stores: same chunks, masks and compressed bytes as the plain path's file.
TEST(ResultsIo, ChunksCompressedOnThreadsEqualHdf5sOwn) {
  ASSERT_TRUE(h5::direct_chunk_write_available()) << "this build has no direct chunk write";
  RunResult r = fixture::make_run();
  // 8,400 x 2 x 4 elements per cube: chunks of 8,192 iterations, the second one partial.
  r.strategies = {fixture::make_strategy("big", 7, true, 8400)};
  const std::string plain = temp_path("plain.h5"), t1 = temp_path("t1.h5"), t2 = temp_path("t2.h5");
  write_results(plain, r, {1, false});
  const uint64_t before = h5::direct_chunks_written();
  write_results(t1, r, {1, true});
  write_results(t2, r, {2, true});
  EXPECT_GT(h5::direct_chunks_written(), before);  // the threaded path did write the chunks
  for (const auto& path : {t1, t2}) {
    const RunResult back = read_results(path);
    ASSERT_EQ(back.strategies.size(), 1u);
    expect_strategy_equal(r.strategies[0], back.strategies[0]);
  }
  const auto names = chunked_measured(plain, "big");
  EXPECT_GE(names.size(), 10u);
  EXPECT_EQ(chunked_measured(t2, "big"), names);
  for (const auto& n : names) {
    expect_same_chunks(plain, t1, n);
    expect_same_chunks(plain, t2, n);
  }
}

// Without shuffle, and with no filter at all (then the datasets go through H5Dwrite), the
// threaded writer still reads back what it was given.
TEST(ResultsIo, ChunkWriteFollowsTheDatasetsFilters) {
  const h5::Compression saved = h5::compression();
  RunResult r = fixture::make_run();
  r.strategies = {fixture::make_strategy("big", 9, false, 3000)};
  for (const h5::Compression c : {h5::Compression{1, false}, h5::Compression{0, true}}) {
    h5::set_compression(c);
    const std::string plain = temp_path("f_plain.h5"), t2 = temp_path("f_t2.h5");
    write_results(plain, r, {1, false});
    write_results(t2, r, {2, true});
    expect_strategy_equal(r.strategies[0], read_results(t2).strategies[0]);
    for (const auto& n : chunked_measured(plain, "big")) expect_same_chunks(plain, t2, n);
  }
  h5::set_compression(saved);
}

// Chunks whose element count is not a multiple of 8 (a 1-D dataset of 5,003 values: one chunk)
// and 7 x 10,000 doubles (chunks of 6 rows: the second one partial), written by
// h5::write_datasets both ways.
TEST(ResultsIo, OddSizedChunksEqualHdf5sOwn) {
  std::vector<int64_t> ints(5003);
  std::vector<double> reals(7 * 10000);
  for (size_t i = 0; i < ints.size(); ++i) ints[i] = static_cast<int64_t>(i * i % 977) - 300;
  for (size_t i = 0; i < reals.size(); ++i) reals[i] = 1e-3 * static_cast<double>(i % 1013);
  const std::vector<h5::NumericData> sets = {h5::numeric("ints", {5003}, ints.data(), "1"),
                                             h5::numeric("reals", {7, 10000}, reals.data(), "s")};
  const std::string plain = temp_path("odd_plain.h5"), direct = temp_path("odd_direct.h5");
  {
    h5::Handle f = h5::create_file(plain);
    h5::write_datasets(f, sets, {1, false});
  }
  const uint64_t before = h5::direct_chunks_written();
  {
    h5::Handle f = h5::create_file(direct);
    h5::write_datasets(f, sets, {2, true});
  }
  EXPECT_EQ(h5::direct_chunks_written() - before, 3u);  // 1 + 2 chunks, none through H5Dwrite
  h5::Handle f = h5::open_file_read(direct);
  EXPECT_EQ(h5::read_int64(h5::open_dataset(f, "ints")), ints);
  EXPECT_EQ(h5::read_double(h5::open_dataset(f, "reals")), reals);
  expect_same_chunks(plain, direct, "ints");
  expect_same_chunks(plain, direct, "reals");
}

TEST(ResultsIo, SinkPersistsEveryFinishedStrategy) {
  const RunResult full = fixture::make_run();
  const std::string path = temp_path("sink.h5");
  Hdf5ResultSink sink(path);
  sink.begin(provenance_only(full));
  {
    const RunResult now = read_results(path);
    EXPECT_EQ(now.attrs_str.at("status"), "running");
    EXPECT_TRUE(now.strategies.empty());
  }
  for (size_t i = 0; i < full.strategies.size(); ++i) {
    sink.write_strategy(full.strategies[i]);
    // A job killed here keeps every strategy finished so far, in a complete file.
    const RunResult now = read_results(path);
    ASSERT_EQ(now.strategies.size(), i + 1);
    EXPECT_EQ(now.strategies[i].name, full.strategies[i].name);
    EXPECT_EQ(now.attrs_str.at("status"), "running");
    EXPECT_TRUE(now.attrs_str.count("end_time"));
    EXPECT_FALSE(fs::exists(path + ".tmp"));
  }
  sink.finish(RunStatus::kComplete);
  EXPECT_EQ(read_results(path).attrs_str.at("status"), "complete");
}

// A reader with the results file open (h5py, h5ls, HDFView; a script watching a run) holds
// the file's HDF5 lock, shared; the run's next write needs it exclusive. The write waits for the
// reader instead of failing and losing the strategy it measured.
TEST(ResultsIo, SinkWaitsForAReaderHoldingTheFileLock) {
  const RunResult full = fixture::make_run();
  const std::string path = temp_path("locked.h5");
  Hdf5ResultSink sink(path);
  sink.begin(provenance_only(full));
  // flock locks belong to an open file description, so this one conflicts with HDF5's own
  // even inside one process, as another process's would.
  const int reader = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(reader, 0);
  ASSERT_EQ(::flock(reader, LOCK_SH | LOCK_NB), 0);
  const auto start = std::chrono::steady_clock::now();
  std::thread release([reader] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::close(reader);
  });
  const auto error = thrown([&] { sink.write_strategy(full.strategies[0]); });
  const auto waited = std::chrono::steady_clock::now() - start;
  release.join();
  ASSERT_EQ(error, std::nullopt) << "the write gave up on the reader's lock";
  EXPECT_GE(waited, std::chrono::milliseconds(300)) << "the write did not wait for the lock";
  sink.finish(RunStatus::kComplete);
  const RunResult back = read_results(path);
  ASSERT_EQ(back.strategies.size(), 1u);
  expect_strategy_equal(back.strategies[0], full.strategies[0]);
}

TEST(ResultsIo, ALockHeldPastTheWaitIsOneLineNamingTheCause) {
  const std::string path = temp_path("held.h5");
  write_results(path, fixture::make_run());
  const int reader = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(reader, 0);
  ASSERT_EQ(::flock(reader, LOCK_SH | LOCK_NB), 0);
  const auto msg =
      thrown<InputError>([&] { h5::open_file_rw(path, std::chrono::milliseconds(50)); });
  ::close(reader);
  ASSERT_TRUE(msg) << "expected InputError";
  EXPECT_NE(msg->find(path), std::string::npos) << *msg;
  EXPECT_NE(msg->find("another process has it open"), std::string::npos) << *msg;
  EXPECT_EQ(msg->find('\n'), std::string::npos) << *msg;
  EXPECT_NO_THROW(h5::open_file_rw(path, std::chrono::milliseconds(0)));
}

// The other way round: `moebench report` or `validate` of a file a run is appending to. The
// reader waits for the writer's exclusive lock instead of calling the file "not HDF5".
TEST(ResultsIo, ReadWaitsForAWriterHoldingTheFileLock) {
  const RunResult full = fixture::make_run();
  const std::string path = temp_path("written.h5");
  write_results(path, full);
  // The writer is another process (flock(1)): a lock taken here would be inherited by the
  // reader's own guard child (fork) and outlive its release.
  FILE* writer = ::popen(("flock -x -n '" + path + "' -c 'echo locked; sleep 0.4'").c_str(), "r");
  ASSERT_NE(writer, nullptr);
  char line[16] = {};
  ASSERT_NE(std::fgets(line, sizeof line, writer), nullptr) << "flock(1) did not take the lock";
  const auto start = std::chrono::steady_clock::now();
  RunResult back;
  const auto error = thrown([&] { back = read_results(path); });
  const auto waited = std::chrono::steady_clock::now() - start;
  ::pclose(writer);
  ASSERT_EQ(error, std::nullopt) << "the read gave up on the writer's lock";
  EXPECT_GE(waited, std::chrono::milliseconds(300)) << "the read did not wait for the lock";
  ASSERT_EQ(back.strategies.size(), full.strategies.size());
  // Held past the wait: one line saying why.
  writer = ::popen(("flock -x -n '" + path + "' -c 'echo locked; sleep 1'").c_str(), "r");
  ASSERT_NE(writer, nullptr);
  ASSERT_NE(std::fgets(line, sizeof line, writer), nullptr);
  const auto msg =
      thrown<InputError>([&] { h5::open_file_read(path, std::chrono::milliseconds(50)); });
  ::pclose(writer);
  ASSERT_TRUE(msg) << "expected InputError";
  EXPECT_NE(msg->find(path + ": cannot open for reading: another process is writing it"),
            std::string::npos)
      << *msg;
  EXPECT_EQ(msg->find('\n'), std::string::npos) << *msg;
}

TEST(ResultsIo, MemorySinkKeepsWhatItIsGiven) {
  const RunResult full = fixture::make_run();
  MemoryResultSink sink;
  sink.begin(full);
  EXPECT_TRUE(sink.result().strategies.empty());
  sink.write_strategy(full.strategies[0]);
  sink.finish(RunStatus::kInterrupted);
  EXPECT_TRUE(sink.finished());
  ASSERT_EQ(sink.result().strategies.size(), 1u);
  EXPECT_EQ(sink.result().attrs_str.at("status"), "interrupted");
}

TEST(ResultsIo, RefusesOtherSchemaVersionWithOneLine) {
  const std::string path = temp_path("v2.h5");
  write_results(path, fixture::make_run());
  {
    h5::Handle f = h5::open_file_rw(path);
    h5::write_attr(f, "schema_version", static_cast<int64_t>(2));
  }
  const auto msg = thrown<InputError>([&] { read_results(path); });
  ASSERT_TRUE(msg) << "expected InputError";
  EXPECT_NE(msg->find(path), std::string::npos) << *msg;
  EXPECT_NE(msg->find("schema_version 2"), std::string::npos) << *msg;
  EXPECT_EQ(msg->find('\n'), std::string::npos) << *msg;
}

TEST(ResultsIo, MissingOrForeignFileIsInputError) {
  EXPECT_THROW(read_results(temp_path("does_not_exist.h5")), InputError);
  const std::string path = temp_path("foreign.h5");
  { h5::Handle f = h5::create_file(path); }
  EXPECT_THROW(read_results(path), InputError);
}

TEST(ResultsIo, RejectsDuplicateStrategyNamesAndLeavesNoTempFile) {
  RunResult r = fixture::make_run();
  r.strategies.push_back(r.strategies[0]);
  const std::string path = temp_path("dup.h5");
  EXPECT_THROW(write_results(path, r), H5Error);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_FALSE(fs::exists(path));
}
