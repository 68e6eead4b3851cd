// The console as a ResultSink: what `run`, `simulate` and `place` print is fed by the same calls
// as the results file, one sink per command's layout.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/results.hpp"
#include "experiment/experiment.hpp"
#include "io/result_sink.hpp"

namespace moeb {

// run: a header line, one line per strategy, the summary table at the end.
// simulate: a header and one row of predicted times and traffic per strategy.
// place: per strategy, per layer traffic against the reference (baseline) and replica tables.
std::unique_ptr<ResultSink> make_console_sink(const Experiment& e, bool replica_tables = true);

// The end-of-run table: strategy, comm bytes, inter-node bytes, idle %, throughput, Jain,
// measured / predicted layer time.
std::string summary_table(const std::vector<StrategyResult>& results);

// The "of oracle" figure of a result (its note, core/oracle_figure.hpp) with a '%', "-" when it
// has none; and the footnote naming the objective ("" when the experiment has no oracle row).
std::string of_oracle_text(const StrategyResult& r);
std::string oracle_footnote(const Experiment& e);

// Human-readable numbers: 1.23 GB, 4.5 MB ...; 1.2k, 3.4M.
std::string format_bytes(double bytes);
std::string format_rate(double per_s);

}  // namespace moeb
