// HDF5 results files, schema version 1 (results_schema/README.md): writer, sink and reader.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/results.hpp"
#include "io/result_sink.hpp"

namespace moeb {

// How the writer stores the chunks of its large datasets (the measured cubes and the rows
// matrix). direct_chunks: compressed here on `threads` threads (0: default_threads(), i.e.
// MOEB_THREADS or every core) and stored with H5Dwrite_chunk, the same bytes HDF5's shuffle and
// deflate filters would store (h5::write_datasets); false: through HDF5's filter pipeline on one
// thread, as before issue 16 (tests and the benchmark's A/B). The file reads the same either way.
struct ResultsWriteOptions {
  int threads = 0;
  bool direct_chunks = true;
};

// Writes `r` whole to `path + ".tmp"` and renames it to `path` (atomic on POSIX), so a reader
// never sees a torn file. Root attribute `status` comes from r.attrs_str (default "running");
// `schema_version` is always kResultsSchemaVersion. Summaries are computed from the measured
// cubes of every strategy that has them. Throws H5Error (prefixed by the path) on failure.
void write_results(const std::string& path, const RunResult& r,
                   const ResultsWriteOptions& how = {});

// Reads a results file back, every field restored: root attributes (strings to attrs_str,
// numbers to attrs_num, `config_toml` to config_toml), /provenance, and every strategy in
// `order`. Summaries are not read back (they derive from the cubes; see core/summary.hpp).
// Throws InputError with one line when the file cannot be opened, its schema_version is absent
// or not 1, or a dataset or attribute is malformed: every dataset's shape is checked against the
// root attributes (num_layers, num_ranks, num_experts) and the documented limits of
// core/limits.hpp before it is read, so a declared extent is never allocated blindly.
// `what`: which parts to read and where the strategies go (ResultsReadOptions).
struct ResultsReadOptions {
  // false: each rows matrix's shape is checked, its values not read (rows_matrix left empty;
  // report draws no figure from it). A sweep's file holds one per strategy (30 MB at 256 ranks).
  bool rows_matrix = true;
  // When set, each strategy is handed to it as soon as it is read, in `order`, instead of
  // kept in RunResult::strategies: a reader that needs one strategy at a time holds one.
  std::function<void(StrategyResult&&)> each_strategy;
};
RunResult read_results(const std::string& path, const ResultsReadOptions& what = {});

// ResultSink that persists after every strategy by appending to one file. begin() creates the
// file whole (path.tmp renamed to path) with the provenance and no strategies; write_strategy()
// opens it, writes the strategy into a group linked nowhere, links it under /strategies, rewrites
// the `order` attribute and `end_time`, flushes and closes; finish() sets `status`. The cost of
// a strategy does not grow with the strategies before it, and between calls the file is closed
// and valid with every strategy finished so far: a job killed between strategies (or one whose
// write fails half-way) keeps them all. Throws H5Error (prefixed by the path) on failure.
class Hdf5ResultSink : public ResultSink {
 public:
  explicit Hdf5ResultSink(std::string path, ResultsWriteOptions how = {})
      : path_(std::move(path)), how_(how) {}
  void begin(const RunResult& provenance) override;
  // begin() with the carried strategies in the new file, which is written whole to PATH.tmp,
  // validated (validate_results) and only then renamed onto PATH, the resumed file when
  // there is no -o: until that rename the old file is untouched, and after it the new one
  // holds every strategy the old one had finished. Throws H5Error when the new file cannot be
  // written or fails validation (PATH.tmp removed, PATH untouched).
  void begin_resumed(const RunResult& provenance,
                     const std::vector<StrategyResult>& carried) override;
  void write_strategy(const StrategyResult& s) override;
  void finish(RunStatus status) override;
  // Status `failed` and root attribute `error` (the message). finish() and fail() do nothing
  // when begin() did not create the file (the file at PATH is not this run's, e.g. a resumed
  // file that a failed begin_resumed left as it was).
  void fail(const std::string& error) override;
  const std::string& path() const { return path_; }

 private:
  void start(const RunResult& provenance, const std::vector<StrategyResult>& carried);
  void finish_with(RunStatus status, const std::string& error);
  std::string path_;
  ResultsWriteOptions how_;
  std::vector<std::string> order_;  // strategies in the file, in the order they were appended
  bool created_ = false;  // begin() created the file: finish()/fail() never touch another one
};

}  // namespace moeb
