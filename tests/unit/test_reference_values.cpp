// Committed reference values: byte counts, every measurement and the placements of `moebench
// simulate` on the quickstart, the Mixtral suite (real trace; skipped without ../shared/traces)
// and deepseek-v3 on 4x8, every strategy. The values were taken from the binary before the
// cluster-scale simulate path (issue 16: bulk per-layer synthetic draw, strategies evaluated
// together layer by layer on threads); that path must reproduce them exactly. A change to the
// synthetic generator, the split, a strategy, the evaluator or the cost model that moves any
// count, time or placement fails here: a deliberate change updates these values together with
// the generator version (results_schema/TRACE.md, "Synthetic generators", `generator_version`).
// Generator: synthetic v1 unless a row says otherwise. The pinned runs are one
// table (kReferences), checked by one parameterized test.
// The same runs on 1 and 2 threads (MOEB_THREADS) give identical results files' data.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/results.hpp"
#include "io/results_file.hpp"

using namespace moeb;
namespace fs = std::filesystem;

namespace {

// MOEB_REFERENCE_MOEBENCH runs another build against the same values (e.g. the previous
// version's binary, to show a change keeps them).
const std::string kMoebench = std::getenv("MOEB_REFERENCE_MOEBENCH")
                                  ? std::getenv("MOEB_REFERENCE_MOEBENCH")
                                  : std::string(MOEB_BINARY_DIR) + "/bin/moebench";
const std::string kSource = MOEB_SOURCE_DIR;

struct Expected {
  const char* strategy;
  const char* status;
  long long total_bytes;       // every bytes_* count cube summed
  unsigned long long data;     // FNV-1a of every count and time cube, rows matrix, batches,
                               // predictions and routing deviation
  unsigned long long replicas; // FNV-1a of the replica tables
};

uint64_t fnv(uint64_t h, int64_t x) {
  for (int b = 0; b < 8; ++b) {
    h ^= static_cast<uint64_t>(x >> (8 * b)) & 0xFF;
    h *= 0x100000001B3ULL;
  }
  return h;
}
uint64_t fnv(uint64_t h, double x) { return fnv(h, std::bit_cast<int64_t>(x)); }

struct Digest {
  std::string name, status;
  long long bytes = 0;
  uint64_t data = 0xCBF29CE484222325ULL, replicas = 0xCBF29CE484222325ULL;
};

Digest digest(const StrategyResult& s) {
  Digest d{s.name, to_string(s.status)};
  for (const auto& [name, cube] : s.counts)
    for (int64_t x : cube.data) {
      d.data = fnv(d.data, x);
      if (name.rfind("bytes_", 0) == 0) d.bytes += x;
    }
  for (const auto& [name, cube] : s.times)
    for (double x : cube.data) d.data = fnv(d.data, x);
  for (const auto& layer : s.rows_matrix)
    for (int64_t x : layer) d.data = fnv(d.data, x);
  for (int64_t x : s.batch_index) d.data = fnv(d.data, x);
  for (int64_t x : s.batch_tokens) d.data = fnv(d.data, x);
  for (const auto& [name, v] : s.predicted)
    for (double x : v) d.data = fnv(d.data, x);
  d.data = fnv(d.data, s.routing_deviation);
  for (const auto& layer : s.replicas)
    for (const auto& e : layer) {
      d.replicas = fnv(d.replicas, int64_t{-1});
      for (int rank : e) d.replicas = fnv(d.replicas, int64_t{rank});
    }
  return d;
}

// Runs `moebench simulate ARGS` (with `env` before it) and returns every strategy's digest.
std::vector<Digest> simulate(const std::string& args, const std::string& env = "") {
  const fs::path out = fs::temp_directory_path() / ("moeb_ref_" + std::to_string(getpid()) + ".h5");
  const std::string cmd = "cd " + kSource + " && " + env + " " + kMoebench + " simulate " + args +
                          " --force -q -o " + out.string() + " >/dev/null";
  const int status = std::system(cmd.c_str());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd;
  std::vector<Digest> out_digests;
  if (!fs::exists(out)) return out_digests;
  const RunResult r = read_results(out.string());
  fs::remove(out);
  for (const auto& s : r.strategies) out_digests.push_back(digest(s));
  return out_digests;
}

// One row a pinned run: `moebench simulate SUITE ARGS`, the file under ../shared/traces it reads
// (the row skips without it) and every strategy's values in the results file's order. A new pin
// is one more row; its name is the test's name (ReferenceValues/Simulate.Matches/NAME). A row
// may run a copy of SUITE with `workload_lines` added to its [workload] table (e.g.
// "generator_version = 2"), and on MOEB_THREADS=1 and 2, each run equal to the values.
struct Reference {
  const char* name;
  const char* suite;        // relative to the source tree
  const char* args;
  const char* needs_trace;  // relative to MOEB_SHARED_TRACES, or nullptr
  std::vector<Expected> want;
  const char* workload_lines = nullptr;
  bool on_one_and_two_threads = false;
};
void PrintTo(const Reference& ref, std::ostream* os) { *os << ref.name; }

const std::vector<Reference> kReferences = {
    {"Quickstart", "suites/quickstart.toml", "--system loopback --iterations 2 --strategies all",
     nullptr,
     {
         {"baseline", "complete", 94420992LL, 0x3a3fcf77c9784c8bULL, 0x4930ad6ae26a4025ULL},
         {"round_robin", "complete", 92667904LL, 0xdbb626cf8b048125ULL, 0x56d5b3d099c6e625ULL},
         {"eplb", "complete", 90816512LL, 0x67c01aed0de417aeULL, 0x20ae16485a748aa7ULL},
         {"tacg", "complete", 87916544LL, 0x1dd5f335aa688740ULL, 0x45c26b791312b066ULL},
         {"grace", "complete", 74801152LL, 0x921a0c789e598a0cULL, 0x8cf788490a34cc84ULL},
         {"craft", "complete", 92372992LL, 0x1082fb368594dfbbULL, 0x25b90221c6d98f65ULL},
         {"c2r", "complete", 92921856LL, 0x8f8ded4a898aa91dULL, 0xe292ba6cbb6da765ULL},
         {"prefill", "complete", 95305728LL, 0x532df50a7eac99aeULL, 0x0f767ed4b49327a5ULL},
         {"optimal", "complete", 81117184LL, 0x5b689a9e42efee57ULL, 0xf266e12e6d1db726ULL},
         {"megablocks", "complete", 101138432LL, 0x96bec32dd5fe1cc4ULL, 0x4930ad6ae26a4025ULL},
         {"coact_uniform", "complete", 94175232LL, 0xdc649c28d966cf7fULL, 0xf9f72bde8a848b25ULL},
         {"c2r_group", "complete", 93593600LL, 0xbaf2082901ae6d6cULL, 0xe292ba6cbb6da765ULL},
     }},
    {"MixtralSuite", "suites/mixtral-gsm8k.toml",
     "--topology 2x2 --system loopback --iterations 2 --strategies all",
     "mixtral-8x7b/gsm8k_2_routing.jsonl",
     {
         {"baseline", "complete", 7135232LL, 0xc8d3e2b2bd937c43ULL, 0x91bfbd793b9a5d25ULL},
         {"round_robin", "complete", 7192576LL, 0xb1530af21041b728ULL, 0xdd219fbddb83a925ULL},
         {"eplb", "complete", 7004160LL, 0xeb5bf37b4d63d787ULL, 0xb2b55e4ab6a93f85ULL},
         {"tacg", "complete", 6627328LL, 0x79a47a3d68abff58ULL, 0x4736f5bc8dc40c64ULL},
         {"grace", "complete", 6332416LL, 0x19eca4b41010f36fULL, 0xcaf49c68bd65cb85ULL},
         {"craft", "complete", 7036928LL, 0x5cf59a149f8da7f1ULL, 0xa01ca81681f73485ULL},
         {"c2r", "complete", 6643712LL, 0x642071d8ab74a826ULL, 0xfa50badb3eb19d25ULL},
         {"prefill", "complete", 7315456LL, 0x1842a0b128e4bb88ULL, 0x257f841d0a395ca5ULL},
         {"optimal", "complete", 6152192LL, 0x5cdc6acc15f2bfe7ULL, 0xdb39a7e66d2c0946ULL},
         {"megablocks", "complete", 7593984LL, 0xdf95239b90585771ULL, 0x91bfbd793b9a5d25ULL},
         {"coact_uniform", "complete", 6979584LL, 0xe3f82041c3e425b5ULL, 0x60bb913a316f9865ULL},
         {"c2r_group", "complete", 7012352LL, 0x728e27fd7ded5534ULL, 0xfa50badb3eb19d25ULL},
     }},
    {"DeepseekV3On4x8", "suites/deepseek-v3.toml",
     "--topology 4x8 --system loopback --iterations 2 --strategies all",
     nullptr,
     {
         {"baseline", "complete", 56092672LL, 0x6cecf4407309e1b9ULL, 0x0e4c01d8d5229325ULL},
         {"round_robin", "complete", 59711488LL, 0x7fa8248da9466873ULL, 0x4b4cb66d21676325ULL},
         {"eplb", "complete", 57935872LL, 0xdeb46960d90dac08ULL, 0x6adce3c40a6ddb8aULL},
         {"tacg", "complete", 49045504LL, 0x4320c64c0d41637fULL, 0x966eea8d70545095ULL},
         {"grace", "complete", 47271936LL, 0x013a9c451712ccf2ULL, 0xbd5b899392ebef2eULL},
         {"craft", "complete", 59901952LL, 0xf2d07ee0d7cd2e4fULL, 0xd08dde59e5d0f011ULL},
         {"c2r", "complete", 49367040LL, 0x81ed68b1c1c55fbdULL, 0xe0910a1cb5a1bf25ULL},
         {"prefill", "complete", 60231680LL, 0xfeb40e523f5bbb9cULL, 0x9ca874e64f42cb17ULL},
         {"optimal", "complete", 58630144LL, 0x918bebefcde97b16ULL, 0x0b13c29fe7269038ULL},
         {"megablocks", "complete", 64995328LL, 0xe7de233fbb1af4aeULL, 0x0e4c01d8d5229325ULL},
         {"coact_uniform", "complete", 49922048LL, 0x183243fca9a79b2eULL, 0xe0910a1cb5a1bf25ULL},
         {"c2r_group", "complete", 49922048LL, 0x183243fca9a79b2eULL, 0xe0910a1cb5a1bf25ULL},
     }},
    {"DeepseekV3On4x8Hierarchical", "suites/deepseek-v3.toml",
     "--topology 4x8 --system h100-ndr400 --dispatch hierarchical --iterations 2 "
     "--strategies all",
     nullptr,
     {
         {"baseline", "complete", 35197952LL, 0x498ae9bff2702e93ULL, 0x0e4c01d8d5229325ULL},
         {"round_robin", "complete", 38360064LL, 0xfb23ebcffad713bcULL, 0x4b4cb66d21676325ULL},
         {"eplb", "complete", 36106240LL, 0xf6e22effb3dd38a3ULL, 0x6adce3c40a6ddb8aULL},
         {"tacg", "complete", 31694848LL, 0x7a60e50919c10370ULL, 0x966eea8d70545095ULL},
         {"grace", "complete", 31012864LL, 0x10b7cad872fb895dULL, 0xbd5b899392ebef2eULL},
         {"craft", "complete", 38519808LL, 0x42c22431fab75b3aULL, 0xd08dde59e5d0f011ULL},
         {"c2r", "complete", 31675392LL, 0x4ef6108796f5b661ULL, 0xe0910a1cb5a1bf25ULL},
         {"prefill", "complete", 38360064LL, 0x1231df7ccbf1fc14ULL, 0x9ca874e64f42cb17ULL},
         {"optimal", "complete", 35546112LL, 0x9639ce70530091c8ULL, 0xe709b2ff306cb212ULL},
         {"megablocks", "complete", 54660096LL, 0x7f7b5172be8a1947ULL, 0x0e4c01d8d5229325ULL},
         {"coact_uniform", "complete", 32385024LL, 0x307613c9b4915d6dULL, 0xe0910a1cb5a1bf25ULL},
         {"c2r_group", "complete", 32385024LL, 0x307613c9b4915d6dULL, 0xe0910a1cb5a1bf25ULL},
     }},
    // Synthetic generator version 2 (no rejection; results_schema/TRACE.md): its own values,
    // taken when it was introduced, on 1 and 2 threads.
    {"DeepseekV3On4x8GeneratorV2", "suites/deepseek-v3.toml",
     "--topology 4x8 --system h100-ndr400 --iterations 3 --strategies all", nullptr,
     {
         {"baseline", "complete", 41166848LL, 0xdc3ec454058f032aULL, 0x0e4c01d8d5229325ULL},
         {"round_robin", "complete", 45020160LL, 0xbf1440dc07fa6e81ULL, 0x4b4cb66d21676325ULL},
         {"eplb", "complete", 43140096LL, 0x65bf571fd63eff76ULL, 0xc443da09b97c9a37ULL},
         {"tacg", "complete", 36646912LL, 0xc5c41db819bf001dULL, 0x93b4cadc9c0cf1e4ULL},
         {"grace", "complete", 35140608LL, 0x647472fe47bb3a9dULL, 0x74acaac022d13891ULL},
         {"craft", "complete", 44976128LL, 0x128700bb8fc159a3ULL, 0x0c508c2271f1ead1ULL},
         {"c2r", "complete", 35971072LL, 0xc1c0f0f3017281a5ULL, 0x4d1a8661b3ca9495ULL},
         {"prefill", "complete", 45064192LL, 0x0d9edcc2258034ccULL, 0xdaeb612eb005e266ULL},
         {"optimal", "complete", 40681472LL, 0xc9c64e29c2466c4dULL, 0x1df04a415f768f62ULL},
         {"megablocks", "complete", 48702464LL, 0x5671cc1bd3ff0a4aULL, 0x0e4c01d8d5229325ULL},
         {"coact_uniform", "complete", 36615168LL, 0x597f292678cc1805ULL, 0x4d1a8661b3ca9495ULL},
         {"c2r_group", "complete", 36615168LL, 0x597f292678cc1805ULL, 0x4d1a8661b3ca9495ULL},
     },
     "generator_version = 2", true},
};

// Every strategy's digest against its row of the table; the actual rows are printed on failure.
void expect_values(const std::vector<Digest>& got, const std::vector<Expected>& want) {
  EXPECT_EQ(got.size(), want.size());
  std::string actual;
  for (size_t i = 0; i < got.size(); ++i) {
    const Digest& d = got[i];
    char line[256];  // a row of the table, to paste
    const char* row = "         {\"%s\", \"%s\", %lldLL, 0x%016llxULL, 0x%016llxULL},\n";
    std::snprintf(line, sizeof line, row, d.name.c_str(), d.status.c_str(), d.bytes,
                  static_cast<unsigned long long>(d.data),
                  static_cast<unsigned long long>(d.replicas));
    actual += line;
    if (i >= want.size()) continue;
    EXPECT_EQ(d.name, want[i].strategy);
    EXPECT_EQ(d.status, want[i].status) << d.name;
    EXPECT_EQ(d.bytes, want[i].total_bytes) << d.name;
    EXPECT_EQ(d.data, want[i].data) << d.name;
    EXPECT_EQ(d.replicas, want[i].replicas) << d.name;
  }
  if (::testing::Test::HasFailure()) std::printf("actual values:\n%s", actual.c_str());
}

// A copy of the row's suite with its workload_lines after "[workload]".
std::string patched_suite(const Reference& ref) {
  const fs::path out = fs::temp_directory_path() / ("moeb_ref_" + std::string(ref.name) + "_" +
                                                    std::to_string(getpid()) + ".toml");
  std::ifstream in(kSource + "/" + ref.suite);
  std::ofstream os(out);
  for (std::string line; std::getline(in, line);) {
    os << line << "\n";
    if (line == "[workload]") os << ref.workload_lines << "\n";
  }
  return out.string();
}

void check(const Reference& ref) {
  if (!fs::exists(kMoebench)) GTEST_SKIP() << "moebench is not built at " << kMoebench;
  if (ref.needs_trace && !fs::exists(std::string(MOEB_SHARED_TRACES) + "/" + ref.needs_trace))
    GTEST_SKIP() << "no " << MOEB_SHARED_TRACES << "/" << ref.needs_trace
                 << " (needs ../shared/traces)";
  const std::string suite = ref.workload_lines ? patched_suite(ref) : std::string(ref.suite);
  const std::string args = suite + " " + ref.args;
  const std::vector<std::string> envs =
      ref.on_one_and_two_threads ? std::vector<std::string>{"MOEB_THREADS=1", "MOEB_THREADS=2"}
                                 : std::vector<std::string>{""};
  for (const std::string& env : envs) {
    SCOPED_TRACE(env);
    expect_values(simulate(args, env), ref.want);
  }
  if (ref.workload_lines) fs::remove(suite);
}

}  // namespace

class Simulate : public ::testing::TestWithParam<Reference> {};

TEST_P(Simulate, Matches) { check(GetParam()); }

INSTANTIATE_TEST_SUITE_P(ReferenceValues, Simulate, ::testing::ValuesIn(kReferences),
                         [](const ::testing::TestParamInfo<Reference>& row) {
                           return std::string(row.param.name);
                         });

// Threads change the order of work only: MOEB_THREADS=1 and 2 give the same data, with a route
// transform (c2r), replicas (eplb) and predictions (a system model) in the run.
TEST(ReferenceValues, SameResultsOnOneAndTwoThreads) {
  if (!fs::exists(kMoebench)) GTEST_SKIP() << "moebench is not built at " << kMoebench;
  const std::string args =
      "suites/deepseek-v3.toml --topology 4x8 --system h100-ndr400 --iterations 3 --strategies all";
  const std::vector<Digest> one = simulate(args, "MOEB_THREADS=1");
  const std::vector<Digest> two = simulate(args, "MOEB_THREADS=2");
  ASSERT_EQ(one.size(), 12u);
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].name, two[i].name);
    EXPECT_EQ(one[i].status, "complete") << one[i].name;
    EXPECT_EQ(one[i].data, two[i].data) << one[i].name;
    EXPECT_EQ(one[i].replicas, two[i].replicas) << one[i].name;
  }
}
