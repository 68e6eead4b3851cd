// `moebench report` as data: result files grouped by (suite, model); in each group, strategies
// as rows and column groups per (system label, configuration fingerprint); every figure a median
// over the repetitions of that cell with its spread. Renderers (render.hpp) only print this.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/results.hpp"
#include "report/fingerprint.hpp"

namespace moeb::report {

// One results file, read (or built in memory by a test).
struct ReportInput {
  std::string path;  // as given on the command line; used in notes
  RunResult run;
};

// What a cell shows next to its value (docs/REPORT.md "Spread").
enum class Spread {
  kAuto,    // [min, max] over repetitions (files), where there are several and they differ
  kNone,    // the value alone
  kMinMax,  // [min, max] over iterations and repetitions (time-derived), over files (others)
  kCi,      // 95% bootstrap confidence interval over iterations and repetitions
};
// "auto" | "none" | "minmax" | "ci"; throws ConfigError otherwise.
Spread parse_spread(const std::string& name);

// Table shape (pivot.hpp): wide (metrics as columns under column groups), long (one value per
// line), transposed (metrics as rows).
enum class Layout { kWide, kLong, kTransposed };
// "wide" | "long" | "transposed"; throws ConfigError otherwise.
Layout parse_layout(const std::string& name);

struct PivotOptions {
  std::vector<std::string> rows;  // dimensions; empty = {"strategy"}
  std::vector<std::string> cols;  // dimensions; empty = {"system"}
  Layout layout = Layout::kWide;
  std::string ratio;              // "B/A": a column group of B's values over A's
  int latex_max_columns = 10;     // data columns per LaTeX tabular before it is split
};

struct ReportOptions {
  std::vector<std::string> columns;  // column ids; empty = default_column_ids()
  bool per_layer = false;
  std::string baseline = "baseline";  // reference strategy of the ratio columns
  Spread spread = Spread::kAuto;
  // Refuse (InputError naming the keys) when files of one (suite, model, system) differ in
  // their fingerprint, instead of giving each configuration its own column group.
  bool strict = false;
  int bootstrap_resamples = 2000;
  PivotOptions pivot;
};

// A figure over repetitions: median, min, max of the per-file values; n files contributed.
// [lo, hi] is the noise interval the options ask for (always the min-max over iterations and
// repetitions unless --spread ci); "best" is marked only where intervals do not overlap.
struct Stat {
  double median = 0, min = 0, max = 0;
  int n = 0;  // 0 = no value (shown as n/a)
  double lo = 0, hi = 0;
  int samples = 0;  // iterations (time-derived) or files behind [lo, hi]
};

struct Cell {
  // complete | skipped | interrupted | failed | absent (not in the file), or another status
  // string a file holds (shown as is).
  std::string status = "absent";
  std::string reason;  // of skipped / failed
  bool oracle = false;
  std::vector<int> footnotes;         // 1-based numbers into ReportGroup::footnotes
  std::map<std::string, Stat> whole;  // column id -> stat
  std::map<std::string, std::vector<Stat>> per_layer;  // column id -> [layer]
};

struct SystemColumn {
  std::string label;       // the files' `system` attribute
  std::string title;       // label, plus the keys that set it apart from a same-label group
  Fingerprint fingerprint;  // first file's; every file of the column has the same hash
  bool simulated = false;  // backend "model"
  bool counts_only = false;  // backend "model" without a system model (place): no times at all
  std::string backend;     // cpu | cuda | model (first file's)
  int num_ranks = 0, num_nodes = 0;
  std::string act_dtype;              // first file's; comm volumes scale with it
  int64_t dispatch_row_bytes = 0;     // first file's
  std::vector<std::string> paths;     // the repetitions, in input order
  std::map<std::string, Cell> cells;  // strategy -> cell
};

struct ReportGroup {
  std::string suite, model;
  int num_layers = 0;
  std::vector<std::string> strategies;  // rows: baseline first, then first appearance
  std::vector<SystemColumn> systems;    // column groups, in order of first appearance
  std::vector<std::string> footnotes;   // footnote k is footnotes[k-1]
  std::vector<std::string> notes;       // warnings about this group's files
  std::string reference;                // strategy the ratio columns are against
  // Sweep cells (docs/REPORT.md "Sweeps"): a row of a cell is "NAME [axis=value, ...]"; its
  // dimensions are strategy (NAME), sweep.<axis> and the configuration keys the cell sets.
  std::vector<std::string> cell_dims;                                // "sweep.<axis>", in order
  std::map<std::string, std::map<std::string, std::string>> row_dims;  // row -> dimension values
};

struct Report {
  std::vector<std::string> columns;  // resolved column ids
  bool per_layer = false;
  Spread spread = Spread::kAuto;
  PivotOptions pivot;
  std::vector<ReportGroup> groups;  // in order of first appearance
  std::vector<std::string> notes;   // about the whole input (e.g. several suites)
};

// Builds the report. Throws InputError (one line naming the file) for a file whose
// schema_version is not kResultsSchemaVersion, and with `strict` for files of one system that
// differ in configuration (naming the keys); ConfigError when no file holds the --baseline
// strategy. Files must have been validated by the caller.
Report build_report(const std::vector<ReportInput>& inputs, const ReportOptions& options);

// Text of an attribute of a run: attrs_str, else attrs_num printed as an integer when whole.
std::string run_attr(const RunResult& run, const std::string& name, const std::string& fallback);
double run_num(const RunResult& run, const std::string& name, double fallback);

}  // namespace moeb::report
