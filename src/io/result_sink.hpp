// Where a run's results go: begin with the provenance, one call per finished strategy, then
// finish. The HDF5 writer (results_file.hpp), the console table (experiment/console_sink.hpp)
// and an in-memory sink for tests implement it; the experiment layer feeds every sink it is
// given the same calls.
#pragma once

#include <string>

#include "core/results.hpp"

namespace moeb {

class ResultSink {
 public:
  virtual ~ResultSink() = default;
  // Provenance (root attributes, /provenance, config_toml); its `strategies` are ignored.
  virtual void begin(const RunResult& provenance) = 0;
  // The result the others are compared with (place: baseline), before any write_strategy;
  // not a result of its own (it is written when it is also an instance). Default: ignored.
  virtual void reference(const StrategyResult& s) { (void)s; }
  // One finished strategy (any StrategyStatus); persisted before returning.
  virtual void write_strategy(const StrategyResult& s) = 0;
  // Final status of the run (complete, interrupted or failed).
  virtual void finish(RunStatus status) = 0;
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
  const RunResult& result() const { return result_; }
  bool begun() const { return begun_; }
  bool finished() const { return finished_; }

 private:
  RunResult result_;
  bool begun_ = false, finished_ = false;
};

}  // namespace moeb
