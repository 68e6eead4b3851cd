// Helpers for the tests that run whole experiments in process (test_sweep, test_variants): suite
// files in a temporary folder of the test's own, `simulate` (the model measurer, 2 batches) into
// a sink, memory or results file, and comparing two strategies' counts and placements.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "experiment/experiment.hpp"
#include "experiment/measurer.hpp"
#include "io/result_sink.hpp"
#include "io/results_file.hpp"
#include "io/validate.hpp"

namespace moeb::test {

// A folder of the process's own under the temporary directory, e.g. moeb_test_sweep_1234.
inline std::filesystem::path test_dir(const std::string& tag) {
  return std::filesystem::temp_directory_path() /
         ("moeb_test_" + tag + "_" + std::to_string(::getpid()));
}

// The head of a small suite named NAME with SEED: 16 experts top-2 in 2 layers on 2 nodes x 2
// ranks, a families workload of 4096 tokens in batches of 512. A test adds [placement] and the
// rest.
inline std::string small_suite_head(const std::string& name, int seed) {
  return "[suite]\nname = \"" + name + "\"\nseed = " + std::to_string(seed) + R"(
[model]
experts = 16
top_k = 2
hidden = 64
ffn_hidden = 128
layers = 2
[topology]
nodes = 2
ranks_per_node = 2
[workload]
distribution = "families"
tokens = 4096
batch_tokens = 512
)";
}

// Writes `text` as DIR/NAME.toml and returns its path.
inline std::string write_suite(const std::filesystem::path& dir, const std::string& name,
                               const std::string& text) {
  std::filesystem::create_directories(dir);
  const std::string path = (dir / (name + ".toml")).string();
  std::ofstream(path) << text;
  return path;
}

// Simulates `r` (2 batches) into `sink`; returns the exit code. `keep` receives the experiment.
inline int simulate_into(ExperimentRequest r, ResultSink& sink, Experiment* keep = nullptr) {
  r.mode = ExperimentMode::kSimulate;
  r.command_line = {"moebench", "test"};
  r.iterations = 2;
  Experiment e = resolve_experiment(r);
  auto m = make_model_measurer();
  m->open(e);
  const MeasurementProvenance mp = m->prepare(e);
  const int code = run_experiment(e, *m, mp, {&sink}).exit_code;
  if (keep) *keep = std::move(e);
  return code;
}

// The result of simulating `r` in memory; a non-zero exit code fails the test.
inline RunResult simulate(const ExperimentRequest& r, Experiment* keep = nullptr) {
  MemoryResultSink mem;
  EXPECT_EQ(simulate_into(r, mem, keep), 0);
  return mem.result();
}

// Simulates `r` into the results file r.output (replaced), which must pass validate_results,
// and returns the file read back. A non-zero exit code fails the test.
inline RunResult simulate_to_file(const ExperimentRequest& r) {
  std::filesystem::remove(r.output);
  {
    Hdf5ResultSink file(r.output);
    EXPECT_EQ(simulate_into(r, file), 0);
  }
  const ValidationReport v = validate_results(r.output);
  EXPECT_TRUE(v.ok()) << (v.failures.empty() ? "" : v.failures.front());
  return read_results(r.output);
}

// The strategy NAME of cell CELL ("" outside a sweep); throws when absent.
inline const StrategyResult& find(const RunResult& r, const std::string& name,
                                  const std::string& cell = "") {
  for (const auto& s : r.strategies)
    if (s.name == name && s.cell == cell) return s;
  throw Error("no strategy " + name + " in cell '" + cell + "'");
}

// Same status, placements (replica tables) and every count.

inline void expect_same_counts(const StrategyResult& a, const StrategyResult& b) {
  EXPECT_EQ(a.status, b.status) << a.name;
  EXPECT_EQ(a.replicas, b.replicas) << a.name << "@" << a.cell << " vs " << b.name;
  ASSERT_EQ(a.counts.size(), b.counts.size());
  for (const auto& [k, cube] : a.counts) EXPECT_EQ(cube.data, b.counts.at(k).data) << k;
}

// The same strategies, in the same order, each with the same counts and placements.
inline void expect_same_strategies(const RunResult& a, const RunResult& b) {
  ASSERT_EQ(a.strategies.size(), b.strategies.size());
  for (size_t i = 0; i < a.strategies.size(); ++i)
    expect_same_counts(a.strategies[i], b.strategies[i]);
}

}  // namespace moeb::test
