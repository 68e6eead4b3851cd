// The report's columns: one entry per metric a table can show, with its header, unit, which
// direction is better and how it is printed. Values are stored in display units (GB, %, ms).
// Definitions are in docs/REPORT.md; they follow METRICS.md.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace moeb::report {

enum class Better { kLower, kHigher, kNone };
enum class NumberStyle {
  kSig4,     // four significant digits, fixed notation (0.01234, 12.34, 1234)
  kFixed0,   // integer
  kFixed1,   // one decimal
  kFixed2,   // two decimals
  kFixed4,   // four decimals
  kSpeedup,  // two decimals and an "x"
};

struct ColumnSpec {
  std::string id;            // what --metrics takes, and the CSV/JSON `metric`
  std::string md_header;     // short, for terminals and GitHub tables
  std::string latex_header;  // with plain units, already LaTeX-escaped
  std::string unit;          // CSV/JSON `unit`
  Better better = Better::kNone;
  NumberStyle style = NumberStyle::kSig4;
  bool is_default = false;  // shown without --metrics
  bool needs_baseline = false;
  std::string definition;  // one line, for --help and docs
  bool time_derived = false;  // from measured times: noisy; spreads cover iterations too
};

// Every column, in display order.
const std::vector<ColumnSpec>& report_columns();
// nullptr when unknown.
const ColumnSpec* find_column(std::string_view id);
std::vector<std::string> default_column_ids();
// "a,b,c" -> ids, in the given order; throws ConfigError naming the unknown id and the known ones.
std::vector<std::string> parse_column_list(const std::string& list);

// Deterministic text of a value; "n/a" for NaN or infinity.
std::string format_number(double value, NumberStyle style);

}  // namespace moeb::report
