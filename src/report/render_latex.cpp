// LaTeX: one booktabs table per (suite, model), pivoted as the options ask; a \multicolumn per
// column group with \cmidrule under it; plain units in the headers; the best value of a column
// in bold where intervals do not overlap; footnotes as superscripts below. A table wider than
// --latex-max-columns data columns is split into stacked tabulars (column groups kept whole
// where they fit), and every tabular is scaled down to \linewidth when wider (never up).
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "report/columns.hpp"
#include "report/pivot.hpp"
#include "report/render.hpp"

namespace moeb::report {
namespace {

using Mask = std::vector<std::vector<bool>>;

std::string markers(const Cell& c) {
  if (c.footnotes.empty()) return "";
  std::string s;
  for (int k : c.footnotes) s += (s.empty() ? "" : ",") + std::to_string(k);
  return "\\textsuperscript{" + s + "}";
}

std::string stat_text(const Stat& st, const ColumnSpec& col, Spread spread, bool several,
                      bool best) {
  if (st.n == 0) return "n/a";
  const std::string v = format_number(st.median, col.style);
  std::string s = best ? "\\textbf{" + v + "}" : v;
  const auto sp = detail::spread_texts(st, col, spread, several);
  if (!sp.empty()) s += "\\,{\\scriptsize[" + sp[0] + ", " + sp[1] + "]}";
  return s;
}

// Best cells of every column, compared among rows showing the same metric.
Mask best_cells(const PivotTable& t) {
  Mask bold(t.row_keys.size(), std::vector<bool>(t.columns.size(), false));
  for (size_t j = 0; j < t.columns.size(); ++j) {
    if (t.columns[j].ratio_of >= 0) continue;
    std::map<const ColumnSpec*, std::vector<size_t>> by_metric;
    for (size_t i = 0; i < t.row_keys.size(); ++i)
      if (t.cells[i][j].cell) by_metric[t.cells[i][j].metric].push_back(i);
    for (const auto& [metric, rows] : by_metric) {
      std::vector<const Stat*> stats;
      for (size_t i : rows) {
        const PivotCell& c = t.cells[i][j];
        stats.push_back(detail::has_figures(*c.cell) ? c.stat : nullptr);
      }
      const auto mask = detail::best_mask(stats, *metric);
      for (size_t k = 0; k < rows.size(); ++k) bold[rows[k]][j] = mask[k];
    }
  }
  return bold;
}

std::string cell_text(const Report& rep, const PivotTable& t, size_t i, size_t j, bool bold) {
  const PivotCell& c = t.cells[i][j];
  if (t.columns[j].ratio_of >= 0) return format_number(c.ratio, NumberStyle::kSpeedup);
  if (!c.cell) return "--";
  std::string text;
  if (!detail::has_figures(*c.cell))
    text = latex_escape(c.cell->status);
  else
    text = c.stat ? stat_text(*c.stat, *c.metric, rep.spread, c.system->paths.size() > 1, bold)
                  : "n/a";
  return c.markers ? text + markers(*c.cell) : text;
}

// Columns of each tabular: runs of one column group stay together while they fit.
std::vector<std::vector<size_t>> split_columns(const PivotTable& t, size_t max_columns) {
  max_columns = std::max<size_t>(1, max_columns);
  std::vector<std::vector<size_t>> chunks(1);
  size_t j = 0;
  while (j < t.columns.size()) {
    size_t end = j;
    while (end < t.columns.size() && t.columns[end].group == t.columns[j].group) ++end;
    const size_t run = end - j;
    if (!chunks.back().empty() && chunks.back().size() + run > max_columns) chunks.emplace_back();
    for (size_t k = j; k < end; ++k) {
      if (chunks.back().size() == max_columns) chunks.emplace_back();
      chunks.back().push_back(k);
    }
    j = end;
  }
  return chunks;
}

std::string group_text(const ReportGroup& g, const std::string& title) {
  for (const auto& sys : g.systems)
    if (sys.title == title && sys.simulated) return latex_escape(title) + " (simulated)";
  return latex_escape(title);
}

std::string dim_header(const std::string& d) {
  if (d == "strategy") return "Strategy";
  if (d == "system") return "System";
  if (d == "metric") return "Metric";
  return latex_escape(d);
}

std::string column_header(const PivotColumn& c) {
  if (c.metric) return c.metric->latex_header;
  return c.group.empty() ? "Value" : latex_escape(c.group);
}

void write_group_header(std::ostringstream& out, const ReportGroup& g, const PivotTable& t,
                        const std::vector<size_t>& cols) {
  const size_t lead = t.row_dims.size();
  if (!t.single_group) {
    out << std::string(lead - 1, '&');
    std::vector<std::pair<size_t, size_t>> runs;  // [first, last] positions in the tabular
    for (size_t k = 0; k < cols.size();) {
      size_t e = k;
      while (e < cols.size() && t.columns[cols[e]].group == t.columns[cols[k]].group) ++e;
      out << " & \\multicolumn{" << e - k << "}{c}{" << group_text(g, t.columns[cols[k]].group)
          << "}";
      runs.push_back({lead + 1 + k, lead + e});
      k = e;
    }
    out << " \\\\\n";
    for (const auto& [a, b] : runs) out << "\\cmidrule(lr){" << a << "-" << b << "}";
    out << "\n";
  }
  for (size_t d = 0; d < lead; ++d) out << (d ? " & " : "") << dim_header(t.row_dims[d]);
  for (size_t j : cols) out << " & " << column_header(t.columns[j]);
  out << " \\\\\n\\midrule\n";
}

void write_tabular(std::ostringstream& out, const Report& rep, const ReportGroup& g,
                   const PivotTable& t, const std::vector<size_t>& cols, const Mask& bold) {
  // Scaled down to the line width when wider, never enlarged (graphicx).
  out << "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n";
  out << "\\begin{tabular}{" << std::string(t.row_dims.size(), 'l')
      << std::string(cols.size(), 'r') << "}\n\\toprule\n";
  write_group_header(out, g, t, cols);
  for (size_t i = 0; i < t.row_keys.size(); ++i) {
    for (size_t d = 0; d < t.row_dims.size(); ++d) {
      const std::string& v = t.row_keys[i][d];
      const std::string& dim = t.row_dims[d];
      out << (d ? " & " : "")
          << (dim == "strategy" ? latex_escape(detail::row_label(g, v))
              : dim == "metric" ? find_column(v)->latex_header
                                : latex_escape(v));
    }
    for (size_t j : cols) out << " & " << cell_text(rep, t, i, j, bold[i][j]);
    out << " \\\\\n";
  }
  out << "\\bottomrule\n\\end{tabular}}\n";
}

void write_caption(std::ostringstream& out, const Report& rep, const ReportGroup& g) {
  if (!g.footnotes.empty()) {
    out << "\n\\smallskip\n{\\footnotesize\n";
    for (size_t k = 0; k < g.footnotes.size(); ++k)
      out << "\\textsuperscript{" << k + 1 << "}" << latex_escape(g.footnotes[k]) << "\\\\\n";
    out << "}\n";
  }
  std::string systems;
  for (const auto& sys : g.systems)
    systems += (systems.empty() ? "" : "; ") + sys.title + ": " + detail::describe_system(sys);
  const bool reps = std::any_of(g.systems.begin(), g.systems.end(),
                                [](const SystemColumn& s) { return s.paths.size() > 1; });
  const std::string spread = detail::spread_sentence(rep.spread, reps);
  out << "\\caption{"
      << latex_escape(g.suite + " (" + g.model + "). " + systems + ". Ratios against " +
                      g.reference + " in the same file; medians over iterations" +
                      (spread.empty() ? "" : "; " + spread) +
                      "; best per column in bold where its interval does not overlap the "
                      "others.")
      << "}\n";
  out << "\\label{tab:moebench-" << latex_escape(g.suite) << "}\n\\end{table}\n";
}

void write_per_layer(std::ostringstream& out, const Report& rep, const ReportGroup& g) {
  for (const auto& sys : g.systems) {
    for (const auto& id : detail::per_layer_columns(rep)) {
      const ColumnSpec& col = *find_column(id);
      out << "\\begin{table}[htbp]\n\\centering\n\\small\n";
      out << "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n";
      out << "\\begin{tabular}{l" << std::string(g.strategies.size(), 'r') << "}\n\\toprule\n";
      out << "Layer";
      for (const auto& name : g.strategies)
        out << " & " << latex_escape(detail::row_label(g, name));
      out << " \\\\\n\\midrule\n";
      for (int l = 0; l < g.num_layers; ++l) {
        out << l;
        for (const auto& name : g.strategies) {
          const Cell& c = sys.cells.at(name);
          auto it = c.per_layer.find(id);
          std::string text = "n/a";
          if (c.status == "absent")
            text = "--";
          else if (!detail::has_figures(c))
            text = latex_escape(c.status);
          else if (it != c.per_layer.end() && l < static_cast<int>(it->second.size()))
            text = stat_text(it->second[l], col, Spread::kAuto, sys.paths.size() > 1, false);
          out << " & " << text;
        }
        out << " \\\\\n";
      }
      out << "\\bottomrule\n\\end{tabular}}\n";
      out << "\\caption{" << latex_escape(g.suite + " per layer: ") << col.latex_header
          << latex_escape(" on " + sys.title) << "}\n\\end{table}\n";
    }
  }
}

}  // namespace

std::string render_latex(const Report& rep) {
  std::ostringstream out;
  out << "% moebench report. Needs \\usepackage{booktabs} and \\usepackage{graphicx} in the "
         "preamble.\n";
  for (const auto& note : rep.notes) out << "% Note: " << note << "\n";
  for (const auto& g : rep.groups) {
    out << "\n% suite " << g.suite << ", model " << g.model << "\n";
    for (const auto& note : g.notes) out << "% Note: " << note << "\n";
    const PivotTable t = build_pivot(rep, g);
    const Mask bold = best_cells(t);
    const auto chunks = split_columns(t, static_cast<size_t>(rep.pivot.latex_max_columns));
    out << "\\begin{table}[htbp]\n\\centering\n\\small\n";
    for (size_t k = 0; k < chunks.size(); ++k) {
      if (k) out << "\n\\medskip\n";
      write_tabular(out, rep, g, t, chunks[k], bold);
    }
    write_caption(out, rep, g);
    if (rep.per_layer) write_per_layer(out, rep, g);
  }
  return out.str();
}

}  // namespace moeb::report
