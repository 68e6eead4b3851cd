// Boundary validation of routing-trace files (issue 17): a valid trace is written, then one
// thing is broken with the HDF5 C API (an id out of range, a NaN weight, an attribute that
// disagrees with a dataset extent, a size above the limits, a wrong type...). Opening it must
// raise one InputError line naming the file and the place, never read out of range.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "core/error.hpp"
#include "workload/trace_file.hpp"
#include "workload/trace_info.hpp"

using namespace moeb;
namespace fs = std::filesystem;

namespace {

constexpr int kLayers = 2, kExperts = 8, kTopK = 2, kTokens = 6;

fs::path tmp_dir() {
  fs::path d = fs::temp_directory_path() /
               ("moeb_test_trace_checks_" +
                std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A valid trace: token t at layer l routes to experts (t + l) % 8 and (t + l + 1) % 8.
std::string write_valid(const fs::path& dir, bool statistics_only = false) {
  TraceHeader h;
  h.num_layers = kLayers;
  h.num_experts = kExperts;
  h.top_k = kTopK;
  h.statistics_only = statistics_only;
  h.import_format = "synthetic";
  const std::string path = (dir / "t.h5").string();
  TraceWriter w(path, h);
  if (statistics_only) {
    w.write_statistics(
        std::vector<std::vector<double>>(kLayers, std::vector<double>(kExperts, 1)),
        std::vector<std::vector<double>>(kLayers, std::vector<double>(kExperts * kExperts, 0)));
  } else {
    RoutingTrace t(kLayers, kTopK, kExperts, kTokens);
    for (int64_t i = 0; i < kTokens; ++i) {
      t.meta(i) = {i / 3, 0, Phase::kDecode, static_cast<int32_t>(i % 3)};
      for (int l = 0; l < kLayers; ++l) {
        t.experts(l, i)[0] = static_cast<int32_t>((i + l) % kExperts);
        t.experts(l, i)[1] = static_cast<int32_t>((i + l + 1) % kExperts);
        t.weights(l, i)[0] = 0.6f;
        t.weights(l, i)[1] = 0.4f;
      }
    }
    w.append(t);
  }
  w.finish();
  return path;
}

// Opens the file read-write and runs `edit` on it.
void edit(const std::string& path, const std::function<void(hid_t)>& fn) {
  hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  fn(f);
  H5Fclose(f);
}

void set_attr(hid_t f, const char* name, int64_t v) {
  hid_t a = H5Aopen(f, name, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_INT64, &v);
  H5Aclose(a);
}

// Writes one value at (layer, token, slot) of a routing dataset.
template <class T>
void set_routing(hid_t f, const char* name, hid_t type, int l, int t, int j, T v) {
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  hid_t space = H5Dget_space(ds);
  hsize_t start[3] = {static_cast<hsize_t>(l), static_cast<hsize_t>(t), static_cast<hsize_t>(j)};
  hsize_t count[3] = {1, 1, 1};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  hid_t mem = H5Screate_simple(3, count, nullptr);
  H5Dwrite(ds, type, mem, space, H5P_DEFAULT, &v);
  H5Sclose(mem);
  H5Sclose(space);
  H5Dclose(ds);
}

// Replaces dataset `name` by one of `type` and `dims` (zero-filled).
void replace_dataset(hid_t f, const char* name, hid_t type, std::vector<hsize_t> dims) {
  H5Ldelete(f, name, H5P_DEFAULT);
  hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t ds = H5Dcreate2(f, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose(ds);
  H5Sclose(space);
}

// Opening must fail with one line naming the file and containing each of `want`.
void expect_refused(const std::string& path, std::vector<std::string> want) {
  try {
    TraceReader r(path);
    trace_info(r);
    ADD_FAILURE() << "opened without error; wanted " << want.front();
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    EXPECT_EQ(m.rfind(path, 0), 0u) << "names the file first: " << m;
    for (const auto& w : want) EXPECT_NE(m.find(w), std::string::npos) << w << " in: " << m;
  }
}

}  // namespace

TEST(TraceFileChecks, ValidTraceOpens) {
  auto dir = tmp_dir();
  TraceReader r(write_valid(dir));
  EXPECT_EQ(r.num_tokens(), kTokens);
  EXPECT_EQ(r.read_range(0, kTokens).experts(1, 5)[1], 7);
  fs::remove_all(dir);
}

TEST(TraceFileChecks, ExpertIdsOutOfRangeOrRepeatedAreRefused) {
  auto dir = tmp_dir();
  const std::string path = write_valid(dir);
  edit(path,
       [](hid_t f) { set_routing<int32_t>(f, "/routing/experts", H5T_NATIVE_INT32, 1, 3, 0, 8); });
  expect_refused(path, {"/routing/experts[layer 1, token 3]", "expert id 8 outside [0, 8)"});
  edit(path,
       [](hid_t f) { set_routing<int32_t>(f, "/routing/experts", H5T_NATIVE_INT32, 1, 3, 0, -1); });
  expect_refused(path, {"expert id -1 outside [0, 8)"});
  edit(path,
       [](hid_t f) { set_routing<int32_t>(f, "/routing/experts", H5T_NATIVE_INT32, 1, 3, 0, 5); });
  expect_refused(path, {"/routing/experts[layer 1, token 3]", "expert 5 repeated"});
  fs::remove_all(dir);
}

TEST(TraceFileChecks, NanOrNegativeGateWeightsAreRefused) {
  auto dir = tmp_dir();
  const std::string path = write_valid(dir);
  edit(path, [](hid_t f) {
    set_routing<float>(f, "/routing/weights", H5T_NATIVE_FLOAT, 0, 2, 1, std::nanf(""));
  });
  expect_refused(path, {"/routing/weights[layer 0, token 2]", "finite number >= 0"});
  edit(path, [](hid_t f) {
    set_routing<float>(f, "/routing/weights", H5T_NATIVE_FLOAT, 0, 2, 1, -0.5f);
  });
  expect_refused(path, {"/routing/weights[layer 0, token 2]"});
  fs::remove_all(dir);
}

TEST(TraceFileChecks, AttributesThatDisagreeWithExtentsAreRefused) {
  auto dir = tmp_dir();
  std::string path = write_valid(dir);
  edit(path, [](hid_t f) { set_attr(f, "num_layers", 3); });
  expect_refused(path, {"/routing/experts", "extent [2, 6, 2], expected [3, 6, 2]"});
  path = write_valid(dir);
  edit(path, [](hid_t f) { set_attr(f, "num_tokens", 7); });
  expect_refused(path, {"/tokens/request_id", "extent [6], expected [7]"});
  fs::remove_all(dir);
}

TEST(TraceFileChecks, SizesAboveTheLimitsAreRefusedBeforeAllocating) {
  auto dir = tmp_dir();
  struct Case {
    const char* attr;
    int64_t value;
    const char* want;
  };
  for (const Case& c :
       {Case{"num_layers", int64_t{1} << 31, "attribute 'num_layers'"},
        Case{"num_layers", 4294967295, "expected 1..4096"},
        Case{"num_experts", 100000, "attribute 'num_experts'"},
        Case{"num_tokens", int64_t{1} << 40, "attribute 'num_tokens'"},
        Case{"num_tokens", -1, "attribute 'num_tokens'"}, Case{"top_k", 9, "attribute 'top_k'"}}) {
    const std::string path = write_valid(dir);
    edit(path, [&](hid_t f) { set_attr(f, c.attr, c.value); });
    expect_refused(path, {c.want});
  }
  // 4096 layers x 2^31-1 tokens x 1024: above the 2^40 routing entries.
  const std::string path = write_valid(dir);
  edit(path, [](hid_t f) {
    set_attr(f, "num_layers", 4096);
    set_attr(f, "num_experts", 65536);
    set_attr(f, "top_k", 1024);
    set_attr(f, "num_tokens", (int64_t{1} << 31) - 1);
  });
  expect_refused(path, {"is above the limit"});
  fs::remove_all(dir);
}

TEST(TraceFileChecks, WrongTypesAndMissingDatasetsAreRefused) {
  auto dir = tmp_dir();
  std::string path = write_valid(dir);
  edit(path, [](hid_t f) {
    replace_dataset(f, "/routing/experts", H5T_IEEE_F64LE, {kLayers, kTokens, kTopK});
  });
  expect_refused(path, {"/routing/experts", "expected integers"});
  path = write_valid(dir);
  edit(path, [](hid_t f) { H5Ldelete(f, "/families", H5P_DEFAULT); });
  expect_refused(path, {"'/families' missing"});
  path = write_valid(dir);
  edit(path, [](hid_t f) { H5Ldelete(f, "/routing", H5P_DEFAULT); });
  expect_refused(path, {"'/routing/experts' missing"});
  path = write_valid(dir);
  edit(path, [](hid_t f) {
    H5Adelete(f, "num_layers");
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, 4);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "num_layers", t, s, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, "two");
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
  });
  expect_refused(path, {"attribute 'num_layers': expected one integer"});
  fs::remove_all(dir);
}

TEST(TraceFileChecks, TokenMetadataOutOfRangeIsRefused) {
  auto dir = tmp_dir();
  std::string path = write_valid(dir);
  edit(path, [](hid_t f) {
    std::vector<int32_t> fam(kTokens, 0);
    fam[4] = 3;
    hid_t ds = H5Dopen2(f, "/tokens/family", H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, fam.data());
    H5Dclose(ds);
  });
  expect_refused(path, {"/tokens/family: token 4: family 3 outside [0, 1)"});
  fs::remove_all(dir);
}

TEST(TraceFileChecks, StatisticsWithNegativeCountsAreRefused) {
  auto dir = tmp_dir();
  const std::string path = write_valid(dir, true);
  edit(path, [](hid_t f) {
    std::vector<double> load(kLayers * kExperts, 1.0);
    load[3] = -2;
    hid_t ds = H5Dopen2(f, "/stats/load", H5P_DEFAULT);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, load.data());
    H5Dclose(ds);
  });
  expect_refused(path, {"/stats/load[3]", "finite number >= 0"});
  fs::remove_all(dir);
}

TEST(TraceFileChecks, NotAHdf5FileAndMissingFileSayWhat) {
  auto dir = tmp_dir();
  std::ofstream(dir / "r.jsonl") << R"({"problem_id": 0})"
                                 << "\n";
  expect_refused((dir / "r.jsonl").string(),
                 {"not an HDF5 file", "trace import --format jsonl-topk"});
  expect_refused((dir / "none.h5").string(), {"no such trace file"});
  EXPECT_TRUE(is_routing_trace_file(write_valid(dir)));
  EXPECT_FALSE(is_routing_trace_file((dir / "r.jsonl").string()));
  fs::remove_all(dir);
}

// The command line: exit code 2, one line, and no output file left behind.
namespace {
struct Ran {
  int code = -1;
  std::string out;
};
Ran run_cli(const std::string& args, const fs::path& dir) {
  const fs::path bin = fs::path(MOEB_BINARY_DIR) / "bin" / "moebench";
  const std::string cmd = bin.string() + " " + args + " > " + (dir / "log").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(dir / "log");
  Ran r;
  r.out.assign(std::istreambuf_iterator<char>(in), {});
  r.code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}
void expect_exit2(const Ran& r, const std::string& want) {
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find(want), std::string::npos) << want << " in: " << r.out;
}
}  // namespace

TEST(TraceFileChecks, CommandLineRefusesWithExitCodeTwoAndLeavesNothing) {
  const fs::path bin = fs::path(MOEB_BINARY_DIR) / "bin" / "moebench";
  if (!fs::exists(bin)) GTEST_SKIP() << "moebench not built (" << bin << ")";
  auto dir = tmp_dir();
  const std::string trace = write_valid(dir);
  const std::string d = dir.string();
  expect_exit2(run_cli("validate " + trace, dir), "moebench trace info " + trace);
  std::ofstream(dir / "ok.csv") << "request,token,layer,expert_0,expert_1\n0,0,0,1,2\n";
  expect_exit2(
      run_cli("trace import --format csv " + d + "/ok.csv --layers 1000000000 -o " + d + "/out.h5",
              dir),
      "--layers 1000000000 is too large: at most 4096 layers");
  expect_exit2(
      run_cli("trace import --format csv " + d + "/ok.csv --layers 1e9 -o " + d + "/out.h5", dir),
      "--layers");
  std::ofstream(dir / "big.csv") << "layer,expert_i,expert_j,count\n0,0,1,5\n0,99999,1,5\n";
  expect_exit2(
      run_cli("trace import --format coact-csv " + d + "/big.csv -o " + d + "/out.h5", dir),
      "big.csv:3: column 'expert_i': 99999 is too large");
  std::ofstream(dir / "wrap.csv") << "request,token,layer,expert_0,expert_1\n0,0,0,4294967295,2\n";
  expect_exit2(run_cli("trace import --format csv " + d + "/wrap.csv -o " + d + "/out.h5", dir),
               "wrap.csv:2: column 'expert_0': 4294967295 is too large");
  expect_exit2(
      run_cli("trace import --format jsonl-topk " + d + "/nothere.jsonl -o " + d + "/out.h5", dir),
      "nothere.jsonl: no such file");
  EXPECT_FALSE(fs::exists(dir / "out.h5"));
  EXPECT_FALSE(fs::exists(dir / "out.h5.tmp"));
  edit(trace,
       [](hid_t f) { set_routing<int32_t>(f, "/routing/experts", H5T_NATIVE_INT32, 0, 0, 0, 9); });
  expect_exit2(run_cli("trace info " + trace, dir), "expert id 9 outside [0, 8)");
  expect_exit2(run_cli("trace export --format csv " + trace + " -o " + d + "/out.csv", dir),
               "expert id 9 outside [0, 8)");
  EXPECT_FALSE(fs::exists(dir / "out.csv"));
  fs::remove_all(dir);
}

// A write that fails part-way (here a file-size limit, as a full disk would) gives one line,
// exit code 1, no file and no crash in libhdf5's exit cleanup (issue 17: exit 139 before).
TEST(TraceFileChecks, WriteFailureLeavesNothingAndDoesNotCrash) {
  const fs::path bin = fs::path(MOEB_BINARY_DIR) / "bin" / "moebench";
  if (!fs::exists(bin)) GTEST_SKIP() << "moebench not built (" << bin << ")";
  if (std::system("command -v bash > /dev/null") != 0) GTEST_SKIP() << "no bash";
  auto dir = tmp_dir();
  for (const std::string tokens : {"3000", "100000"}) {
    const std::string out = (dir / "g.h5").string();
    Ran r = run_cli("trace generate -o " + out + " --tokens " + tokens + " --layers 4", dir);
    ASSERT_EQ(r.code, 0) << r.out;  // the same command without a limit works
    fs::remove(out);
    const std::string cmd = "bash -c 'trap \"\" XFSZ; ulimit -f 64; " + bin.string() +
                            " trace generate -o " + out + " --tokens " + tokens +
                            " --layers 4' > " + (dir / "log").string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    std::ifstream in(dir / "log");
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    ASSERT_TRUE(WIFEXITED(rc)) << text;
    EXPECT_EQ(WEXITSTATUS(rc), 1) << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    EXPECT_NE(text.find("g.h5: HDF5"), std::string::npos) << text;
    EXPECT_NE(text.find("File too large"), std::string::npos) << text;
    EXPECT_FALSE(fs::exists(out));
    EXPECT_FALSE(fs::exists(out + ".tmp"));
  }
  fs::remove_all(dir);
}

// A trace named in a suite that exists nowhere is reported with every place looked in.
TEST(TraceFileChecks, MissingSuiteTraceListsThePlacesLookedIn) {
  const fs::path bin = fs::path(MOEB_BINARY_DIR) / "bin" / "moebench";
  if (!fs::exists(bin)) GTEST_SKIP() << "moebench not built (" << bin << ")";
  auto dir = tmp_dir();
  std::ifstream in(fs::path(MOEB_SOURCE_DIR) / "suites" / "mixtral-gsm8k.toml");
  std::string suite((std::istreambuf_iterator<char>(in)), {});
  const size_t at = suite.find("traces = [");
  ASSERT_NE(at, std::string::npos);
  suite.replace(at, suite.find('\n', at) - at, "traces = [\"nothere.h5\"]");
  fs::create_directories(dir / "suites");
  std::ofstream(dir / "suites" / "s.toml") << suite;
  Ran r = run_cli("simulate " + (dir / "suites" / "s.toml").string() + " --topology 2x2 --system loopback -o " +
                      (dir / "o.h5").string(),
                  dir);
  expect_exit2(r, "trace file 'nothere.h5' not found; looked in ");
  EXPECT_NE(
      r.out.find(fs::absolute(dir / "suites" / "nothere.h5").string() + " (next to the suite)"),
      std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(dir / "o.h5"));
  fs::remove_all(dir);
}
