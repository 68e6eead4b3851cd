// Renderers of a Report: Markdown (GitHub tables, padded for terminals), LaTeX (booktabs),
// CSV and JSON (one row per (system, strategy, metric[, layer])). Output is deterministic.
#pragma once

#include <string>

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
}  // namespace detail

}  // namespace moeb::report
