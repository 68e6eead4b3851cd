// Provenance helpers (io/provenance) and the root attribute table (io/root_attributes).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <regex>

#include "core/error.hpp"
#include "io/config_loader.hpp"
#include "io/provenance.hpp"
#include "io/results_file.hpp"
#include "io/root_attributes.hpp"
#include "io/validate.hpp"
#include "test_results_io_fixture.hpp"

using namespace moeb;

TEST(Provenance, LocalPiecesAreFilled) {
  const char* argv[] = {"moebench", "run", "suites/a b.toml"};
  const RunResult r = collect_local_provenance(3, argv);
  EXPECT_EQ(r.attrs_num.at("schema_version"), 1);
  EXPECT_EQ(r.attrs_str.at("moebench_version"), moebench_version());
  EXPECT_FALSE(r.attrs_str.at("git_sha").empty());
  EXPECT_TRUE(r.attrs_num.count("git_dirty"));
  EXPECT_FALSE(r.attrs_str.at("build_type").empty());
  EXPECT_NE(r.attrs_str.at("compiler").find("GCC"), std::string::npos);
  EXPECT_EQ(r.attrs_str.at("command_line"), "moebench run 'suites/a b.toml'");
  EXPECT_TRUE(std::regex_match(r.attrs_str.at("start_time"),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)")));
  EXPECT_EQ(r.attrs_str.at("status"), "running");
  // Open MPI answers MPI_Get_library_version before MPI_Init.
  EXPECT_NE(r.attrs_str.at("mpi_version").find("MPI"), std::string::npos);
  EXPECT_EQ(r.attrs_str.at("mpi_version").find('\n'), std::string::npos);
  ASSERT_EQ(r.hostnames.size(), 1u);
  EXPECT_EQ(r.hostnames[0], local_hostname());
}

TEST(Provenance, LibraryVersionsWhereBuiltIn) {
  const std::string ucx = ucx_version(), blas = blas_version();
  if (ucx.empty() && blas.empty()) GTEST_SKIP() << "built without UCX and OpenBLAS";
  if (!ucx.empty()) {
    EXPECT_TRUE(std::regex_search(ucx, std::regex(R"(^\d+\.\d+)"))) << ucx;
  }
  if (!blas.empty()) {
    EXPECT_NE(blas.find("OpenBLAS"), std::string::npos) << blas;
  }
}

TEST(Provenance, FabricMpiAndThreadVariablesAreRecorded) {
  const std::vector<std::string> kept = {
      "FI_PROVIDER=cxi",       "I_MPI_FABRICS=shm:ofi", "MV2_ENABLE_AFFINITY=0",
      "PSM2_MULTI_EP=1",       "HCOLL_ENABLE_MCAST=0",  "OMP_NUM_THREADS=2",
      "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=3"};
  for (const auto& kv : kept) {
    const auto eq = kv.find('=');
    setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
  }
  setenv("FIX_UNRELATED", "1", 1);  // FI_ is a prefix with its underscore
  const auto env = communication_env();
  for (const auto& kv : kept) EXPECT_NE(std::find(env.begin(), env.end(), kv), env.end()) << kv;
  for (const auto& e : env) EXPECT_EQ(e.find("FIX_UNRELATED"), std::string::npos);
  for (const auto& kv : kept) unsetenv(kv.substr(0, kv.find('=')).c_str());
  unsetenv("FIX_UNRELATED");
  EXPECT_GE(host_cores(), 1);
}

TEST(Provenance, CommunicationEnvironmentAndSlurmFields) {
  setenv("UCX_MOEB_TEST", "1", 1);
  setenv("NCCL_MOEB_TEST", "x=y", 1);
  setenv("MOEB_UNRELATED", "1", 1);
  setenv("SLURM_JOB_ID", "4242", 1);
  const auto env = communication_env();
  EXPECT_NE(std::find(env.begin(), env.end(), "UCX_MOEB_TEST=1"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "NCCL_MOEB_TEST=x=y"), env.end());
  for (const auto& e : env) EXPECT_EQ(e.find("MOEB_UNRELATED"), std::string::npos);
  EXPECT_TRUE(std::is_sorted(env.begin(), env.end()));
  const auto slurm = slurm_fields();
  bool found = false;
  for (const auto& [k, v] : slurm) found |= k == "slurm_job_id" && v == "4242";
  EXPECT_TRUE(found);
  unsetenv("UCX_MOEB_TEST");
  unsetenv("NCCL_MOEB_TEST");
  unsetenv("MOEB_UNRELATED");
  unsetenv("SLURM_JOB_ID");
}

TEST(Provenance, RootAttributesAreTypedByTheTable) {
  RunResult r;
  set_root_attr(r, "calibration_tokens", std::string("2048"));
  EXPECT_EQ(r.attrs_num.at("calibration_tokens"), 2048);
  EXPECT_FALSE(r.attrs_str.count("calibration_tokens"));
  set_root_attr(r, "trace_source", std::string("synthetic:zipf"));
  EXPECT_EQ(r.attrs_str.at("trace_source"), "synthetic:zipf");
  set_root_attr(r, "dropped_tokens_note", std::string("12"));  // not in the table: a string
  EXPECT_EQ(r.attrs_str.at("dropped_tokens_note"), "12");
  EXPECT_THROW(set_root_attr(r, "calibration_tokens", std::string("12.5")), Error);
  EXPECT_THROW(set_root_attr(r, "num_ranks", std::string("four")), Error);
  EXPECT_THROW(set_root_attr(r, "system", 3.0), Error);
  int required = 0;
  for (const auto& a : root_attributes()) required += a.required;
  EXPECT_EQ(required, 15);  // results_schema/README.md, validate rule 2
}

TEST(Provenance, LocalAndConfigProvenanceMakeAValidFile) {
  RunConfig cfg = load_suite(std::string(MOEB_SOURCE_DIR) + "/suites/quickstart.toml");
  cfg.system = "loopback";  // the suite leaves the label to where it runs
  MeasurementProvenance m;
  m.backend = "cpu";
  m.hostnames.assign(4, local_hostname());
  m.rank_device.assign(4, "cpu");
  m.act_dtype = "fp32";
  RunResult r = build_provenance({"moebench", "run", "suites/quickstart.toml"}, cfg,
                                 Topology::uniform(2, 2), "suite", 2, {}, m);
  EXPECT_EQ(r.attrs_str.at("system"), "loopback");
  EXPECT_EQ(r.attrs_str.at("backend"), "cpu");
  EXPECT_GE(r.attrs_num.at("host_cores"), 1);
  EXPECT_TRUE(r.attrs_num.count("load_avg_start"));
  EXPECT_EQ(r.attrs_num.at("num_layers"), 4);
  EXPECT_EQ(r.config_toml, config_to_toml(cfg));
  // What the run adds itself: ranks, nodes, and the fixture's dimensions for its strategies.
  const RunResult fx = fixture::make_run();
  for (const char* k : {"num_ranks", "num_nodes", "num_experts", "top_k", "num_layers",
                        "dispatch_row_bytes", "combine_row_bytes", "slots_per_rank"})
    r.attrs_num[k] = fx.attrs_num.at(k);
  r.strategies = fx.strategies;
  const auto dir =
      std::filesystem::temp_directory_path() / ("moeb_prov_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "prov.h5").string();
  Hdf5ResultSink sink(path);
  RunResult prov = r;
  prov.strategies.clear();
  sink.begin(prov);
  for (const auto& s : r.strategies) sink.write_strategy(s);
  sink.finish(RunStatus::kComplete);
  const ValidationReport rep = validate_results(path);
  for (const auto& f : rep.failures) ADD_FAILURE() << f;
  const RunResult back = read_results(path);
  EXPECT_EQ(back.config_toml, r.config_toml);
  EXPECT_EQ(back.attrs_str.at("git_sha"), git_sha());
  std::filesystem::remove_all(dir);
}
