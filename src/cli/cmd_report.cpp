// moebench report FILES...: paper-style tables across results files and systems.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "platform/atomic_file.hpp"
#include "report/columns.hpp"
#include "report/load.hpp"
#include "report/pivot.hpp"
#include "report/render.hpp"
#include "report/report.hpp"

namespace moeb::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> files;
  std::string format = "md";
  std::string output;
  std::string metrics;
  bool per_layer = false;
  std::string baseline = "baseline";
  std::string spread = "auto";
  bool strict = false;
  std::string rows, cols, layout = "wide", ratio;
  int latex_max_columns = 10;
};

std::string metrics_help() {
  std::string s = "comma-separated columns (default: ";
  const auto defaults = report::default_column_ids();
  for (size_t i = 0; i < defaults.size(); ++i) s += (i ? "," : "") + defaults[i];
  s += "). All:";
  for (const auto& c : report::report_columns()) s += "\n  " + c.id + ": " + c.definition;
  return s;
}

// Writes under OUT.tmp and renames, so an error never leaves a half-written OUT.
void write_output(const std::string& path, const std::string& text) {
  try {
    write_file_atomically(path, text);
  } catch (const InputError& e) {
    throw InputError(std::string("-o ") + e.what());
  }
}

void run_report(const ReportArgs& a) {
  report::ReportOptions opt;
  if (!a.metrics.empty()) opt.columns = report::parse_column_list(a.metrics);
  opt.per_layer = a.per_layer;
  opt.baseline = a.baseline;
  opt.spread = report::parse_spread(a.spread);
  opt.strict = a.strict;
  opt.pivot.rows = report::parse_dims(a.rows);
  opt.pivot.cols = report::parse_dims(a.cols);
  opt.pivot.layout = report::parse_layout(a.layout);
  opt.pivot.ratio = a.ratio;
  if (a.latex_max_columns < 1)
    throw ConfigError("--latex-max-columns: expected a positive number, got " +
                      std::to_string(a.latex_max_columns));
  opt.pivot.latex_max_columns = a.latex_max_columns;
  const report::Format format = report::parse_format(a.format);
  const auto inputs = report::load_report_inputs(a.files, std::cerr);
  const report::Report rep = report::build_report(inputs, opt);
  // Markdown carries its notes inline; the other formats are for machines, so say them here.
  if (format != report::Format::kMarkdown) {
    for (const auto& n : rep.notes) std::cerr << "moebench report: note: " << n << "\n";
    for (const auto& g : rep.groups)
      for (const auto& n : g.notes) std::cerr << "moebench report: note: " << n << "\n";
  }
  const std::string text = report::render(rep, format);
  if (a.output.empty() || a.output == "-") {
    std::cout << text;
    std::cout.flush();
  } else {
    write_output(a.output, text);
  }
}

}  // namespace

void register_report(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ReportArgs>();
  auto* sub = app.add_subcommand(
      "report",
      "Tables across results files: strategies as rows, systems as column groups, every figure "
      "with its baseline ratio (Markdown, LaTeX, CSV, JSON)");
  sub->add_option("files", args->files, "results files (.h5) of moebench run/simulate")->required();
  sub->add_option("--format", args->format, "md | latex | csv | json (default md)");
  sub->add_option("-o,--output", args->output, "write here instead of stdout");
  sub->add_option("--metrics", args->metrics, metrics_help());
  sub->add_flag("--per-layer", args->per_layer, "add per-layer tables (rows: layers)");
  sub->add_option("--baseline", args->baseline,
                  "reference strategy of the ratio columns (comm/inter reduction, speedup); "
                  "default baseline");
  sub->add_option("--spread", args->spread,
                  "auto (min-max over files when several) | none | minmax (over iterations and "
                  "files) | ci (95% bootstrap interval over iterations and files)");
  sub->add_flag("--strict", args->strict,
                "refuse files of one system that differ in configuration (and systems that "
                "differ in experiment keys) instead of separating them into column groups");
  sub->add_option("--rows", args->rows,
                  "comma list of row dimensions: strategy, system, label, metric or a "
                  "configuration key such as model.hidden (default strategy)");
  sub->add_option("--cols", args->cols,
                  "comma list of column dimensions, as --rows (default system; metric is "
                  "innermost unless named)");
  sub->add_option("--layout", args->layout,
                  "wide (default) | long (one value per line) | transposed (metrics as rows)");
  sub->add_option("--ratio", args->ratio,
                  "B/A: add a column group of B's values over A's (two column group titles, "
                  "for example two systems)");
  sub->add_option("--latex-max-columns", args->latex_max_columns,
                  "data columns per LaTeX tabular before the table is split (default 10)");
  sub->callback([args, &exit_code] {
    run_report(*args);
    exit_code = 0;
  });
}

}  // namespace moeb::cli
