// `moebench report` as data: result files grouped by (suite, model); in each group, strategies
// as rows and systems as column groups; every figure a median over the repetitions of that
// (suite, model, system) cell with its min-max spread. Renderers (render.hpp) only print this.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/results.hpp"

namespace moeb::report {

// One results file, read (or built in memory by a test).
struct ReportInput {
  std::string path;  // as given on the command line; used in notes
  RunResult run;
};

struct ReportOptions {
  std::vector<std::string> columns;  // column ids; empty = default_column_ids()
  bool per_layer = false;
};

// A figure over repetitions: median, min, max of the per-file values; n files contributed.
struct Stat {
  double median = 0, min = 0, max = 0;
  int n = 0;  // 0 = no value (shown as n/a)
};

struct Cell {
  std::string status = "absent";  // complete | skipped | interrupted | failed | absent (not in file)
  bool oracle = false;
  std::vector<int> footnotes;         // 1-based numbers into ReportGroup::footnotes
  std::map<std::string, Stat> whole;  // column id -> stat
  std::map<std::string, std::vector<Stat>> per_layer;  // column id -> [layer]
};

struct SystemColumn {
  std::string label;       // the files' `system` attribute
  bool simulated = false;  // backend "model"
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
};

struct Report {
  std::vector<std::string> columns;  // resolved column ids
  bool per_layer = false;
  std::vector<ReportGroup> groups;  // in order of first appearance
  std::vector<std::string> notes;   // about the whole input (e.g. several suites)
};

// Builds the report. Throws InputError (one line naming the file) for a file whose
// schema_version is not kResultsSchemaVersion. Files must have been validated by the caller.
Report build_report(const std::vector<ReportInput>& inputs, const ReportOptions& options);

// Text of an attribute of a run: attrs_str, else attrs_num printed as an integer when whole.
std::string run_attr(const RunResult& run, const std::string& name, const std::string& fallback);
double run_num(const RunResult& run, const std::string& name, double fallback);

}  // namespace moeb::report
