// Renderers of a Report: Markdown (GitHub tables, padded for terminals), LaTeX (booktabs),
// CSV and JSON (one row per (system, strategy, metric[, layer])). Output is deterministic.
#pragma once

#include <string>
#include <vector>

#include "report/columns.hpp"

#include "report/report.hpp"

namespace moeb::report {

enum class Format { kMarkdown, kLatex, kCsv, kJson };

// "md" | "markdown" | "latex" | "tex" | "csv" | "json"; throws ConfigError otherwise.
Format parse_format(const std::string& name);

std::string render(const Report& rep, Format format);
std::string render_markdown(const Report& rep);
std::string render_latex(const Report& rep);
std::string render_csv(const Report& rep);
std::string render_json(const Report& rep);

// Escapes the LaTeX specials: \ { } $ & # ^ _ % ~.
std::string latex_escape(const std::string& text);

// Shared by the renderers.
namespace detail {
// Columns of `rep` that have per-layer values (those with a whole-run meaning only are left out).
std::vector<std::string> per_layer_columns(const Report& rep);
// "measured (cpu, 4 ranks on 2 nodes)" or "simulated (cost model, 1024 ranks on 128 nodes)".
std::string describe_system(const SystemColumn& sys);
// Row label: the strategy, with " (oracle)" when any of its cells is an oracle run.
std::string row_label(const ReportGroup& g, const std::string& strategy);
// The [lo, hi] to print after a value under the report's --spread, as {lo, hi} texts; empty
// when there is none to show (no spread asked, one sample, or lo and hi print alike).
std::vector<std::string> spread_texts(const Stat& st, const ColumnSpec& col, Spread spread,
                                      bool several_files);
// Strategies whose value in (column group, column) is best: better than every other value
// with no overlap of their [lo, hi] intervals (ties of exact values all count). Empty when
// fewer than two cells have a value or the column has no better direction.
std::vector<std::string> best_strategies(const ReportGroup& g, const SystemColumn& sys,
                                         const ColumnSpec& col);
// The same over any values of one column (nullptr = no value).
std::vector<bool> best_mask(const std::vector<const Stat*>& stats, const ColumnSpec& col);
// Whether a cell's status is one with figures (complete or interrupted).
bool has_figures(const Cell& c);
// One sentence on what the bracketed spreads are, for the table's caption or footer.
std::string spread_sentence(Spread spread, bool any_repetitions);
}  // namespace detail

}  // namespace moeb::report
