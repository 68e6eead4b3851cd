// Where a run's results go: begin with the provenance, one call per finished strategy, then
// finish. The HDF5 writer (results_file.hpp), the console table (experiment/console_sink.hpp)
// and an in-memory sink for tests implement it; the experiment layer feeds every sink it is
// given the same calls.
#pragma once

#include <string>
#include <vector>

#include "core/results.hpp"

namespace moeb {

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Provenance (root attributes, /provenance, config_toml); its `strategies` are ignored.
  virtual void begin(const RunResult& provenance) = 0;
  // A resumed run: begin, then the finished strategies carried over from the resumed file.
  // The HDF5 sink writes them in one step (a new file that replaces the old one only when it
  // is complete and valid), so a resume that fails never loses what the old file held.
  virtual void begin_resumed(const RunResult& provenance,
                             const std::vector<StrategyResult>& carried) {
    begin(provenance);
    for (const auto& s : carried) write_strategy(s);
  }
  // The result the others are compared with (place: baseline), before any write_strategy;
  // not a result of its own (it is written when it is also an instance). Default: ignored.
  virtual void reference(const StrategyResult& s) { (void)s; }
  // One finished strategy (any StrategyStatus); persisted before returning.
  virtual void write_strategy(const StrategyResult& s) = 0;
  // Final status of the run (complete, interrupted or failed).
  virtual void finish(RunStatus status) = 0;
  // The run ended on an error (status failed): `error` is the one line that says which rank
  // failed and why. Default: finish(kFailed).
  virtual void fail(const std::string& error) {
    (void)error;
    finish(RunStatus::kFailed);
  }
};

// Keeps everything in memory (tests, and callers that post-process before writing).
class MemoryResultSink : public ResultSink {
 public:
  void begin(const RunResult& provenance) override {
    result_ = provenance;
    result_.strategies.clear();
    result_.attrs_str["status"] = "running";
    begun_ = true;
  }
  void write_strategy(const StrategyResult& s) override { result_.strategies.push_back(s); }
  void finish(RunStatus status) override {
    result_.attrs_str["status"] = to_string(status);
    finished_ = true;
  }
  void fail(const std::string& error) override {
    result_.attrs_str["error"] = error;
    finish(RunStatus::kFailed);
  }
  const RunResult& result() const { return result_; }
  bool begun() const { return begun_; }
  bool finished() const { return finished_; }

 private:
  RunResult result_;
  bool begun_ = false, finished_ = false;
};

}  // namespace moeb
