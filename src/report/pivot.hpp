// Pivoting a report group into the table a paper needs: rows and columns over any of the
// dimensions strategy, system (the column group's title), label (the system label alone),
// metric, and configuration keys (model.hidden, run.dispatch, ...); a long layout (one value
// per line); a transposed one (metrics as rows); and a ratio column group "B / A" between two
// column groups. The Markdown and LaTeX renderers print the result. Pure.
#pragma once

#include <string>
#include <vector>

#include "report/columns.hpp"
#include "report/report.hpp"

namespace moeb::report {

// One column of a pivot table: a metric under a column group, or a ratio of two such.
struct PivotColumn {
  std::string group;          // column group title ("" when the table has a single group)
  const ColumnSpec* metric = nullptr;
  int ratio_of = -1, ratio_to = -1;  // a ratio column: columns[ratio_of] / columns[ratio_to]
};

struct PivotCell {
  const Cell* cell = nullptr;  // nullptr: no such (row, column) in the input
  const Stat* stat = nullptr;
  const SystemColumn* system = nullptr;
  const ColumnSpec* metric = nullptr;  // how to print the value
  bool markers = false;        // this cell carries the cell's footnote markers
  double ratio = 0;            // ratio columns: the value (NaN: n/a)
};

struct PivotTable {
  std::vector<std::string> row_dims;               // leading column headers
  std::vector<std::vector<std::string>> row_keys;  // [row] values of the row dims
  std::vector<PivotColumn> columns;
  std::vector<std::vector<PivotCell>> cells;       // [row][column]
  bool single_group = true;                        // every column has the same group
};

// Throws ConfigError for an unknown dimension, a dimension in both rows and cols, a --ratio
// naming no column group, or rows and cols that leave another dimension varying (two values
// would land in one cell); the message names the dimension to add.
PivotTable build_pivot(const Report& rep, const ReportGroup& g);

// "B/A" -> {B, A}; throws ConfigError naming --ratio otherwise.
std::pair<std::string, std::string> parse_ratio(const std::string& text);

// Comma list of dimensions -> names ("" -> empty).
std::vector<std::string> parse_dims(const std::string& list);

}  // namespace moeb::report
