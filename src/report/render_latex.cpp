// LaTeX: one booktabs table per (suite, model); a \multicolumn group per system; plain units
// in the headers; the best value of each column in bold; footnotes as superscripts below.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "report/columns.hpp"
#include "report/render.hpp"

namespace moeb::report {
namespace {

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

void begin_table(std::ostringstream& out, size_t num_columns) {
  out << "\\begin{table}[htbp]\n\\centering\n\\small\n";
  out << "\\begin{tabular}{l" << std::string(num_columns, 'r') << "}\n\\toprule\n";
}

}  // namespace

std::string render_latex(const Report& rep) {
  std::ostringstream out;
  out << "% moebench report. Needs \\usepackage{booktabs} in the preamble.\n";
  for (const auto& note : rep.notes) out << "% Note: " << note << "\n";
  for (const auto& g : rep.groups) {
    const size_t per_sys = rep.columns.size();
    out << "\n% suite " << g.suite << ", model " << g.model << "\n";
    for (const auto& note : g.notes) out << "% Note: " << note << "\n";
    begin_table(out, per_sys * g.systems.size());
    // Column groups: one \multicolumn per system, then a \cmidrule under each.
    out << "";
    for (const auto& sys : g.systems)
      out << " & \\multicolumn{" << per_sys << "}{c}{" << latex_escape(sys.title)
          << (sys.simulated ? " (simulated)" : "") << "}";
    out << " \\\\\n";
    for (size_t s = 0; s < g.systems.size(); ++s)
      out << "\\cmidrule(lr){" << 2 + s * per_sys << "-" << 1 + (s + 1) * per_sys << "}";
    out << "\n";
    out << "Strategy";
    for (size_t s = 0; s < g.systems.size(); ++s)
      for (const auto& id : rep.columns) out << " & " << find_column(id)->latex_header;
    out << " \\\\\n\\midrule\n";
    for (const auto& name : g.strategies) {
      out << latex_escape(detail::row_label(g, name));
      for (const auto& sys : g.systems) {
        const Cell& c = sys.cells.at(name);
        for (size_t j = 0; j < rep.columns.size(); ++j) {
          const ColumnSpec& col = *find_column(rep.columns[j]);
          std::string text;
          if (c.status == "absent") {
            text = "--";
          } else if (!detail::has_figures(c)) {
            text = latex_escape(c.status);
          } else {
            auto it = c.whole.find(col.id);
            const auto best = detail::best_strategies(g, sys, col);
            text = it == c.whole.end()
                       ? "n/a"
                       : stat_text(it->second, col, rep.spread, sys.paths.size() > 1,
                                   std::find(best.begin(), best.end(), name) != best.end());
          }
          if (j == 0) text += markers(c);
          out << " & " << text;
        }
      }
      out << " \\\\\n";
    }
    out << "\\bottomrule\n\\end{tabular}\n";
    if (!g.footnotes.empty()) {
      out << "\n\\smallskip\n{\\footnotesize\n";
      for (size_t k = 0; k < g.footnotes.size(); ++k)
        out << "\\textsuperscript{" << k + 1 << "}" << latex_escape(g.footnotes[k]) << "\\\\\n";
      out << "}\n";
    }
    std::string systems;
    for (const auto& sys : g.systems)
      systems += (systems.empty() ? "" : "; ") + sys.title + ": " + detail::describe_system(sys);
    out << "\\caption{"
        << latex_escape(g.suite + " (" + g.model + "). " + systems +
                        ". Ratios against " + g.reference +
                        " in the same file; medians over iterations; best per column in bold "
                        "where its interval does not overlap the others.")
        << "}\n";
    out << "\\label{tab:moebench-" << latex_escape(g.suite) << "}\n\\end{table}\n";

    if (!rep.per_layer) continue;
    for (const auto& sys : g.systems) {
      for (const auto& id : detail::per_layer_columns(rep)) {
        const ColumnSpec& col = *find_column(id);
        begin_table(out, g.strategies.size());
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
        out << "\\bottomrule\n\\end{tabular}\n";
        out << "\\caption{" << latex_escape(g.suite + " per layer: ") << col.latex_header
            << latex_escape(" on " + sys.title) << "}\n\\end{table}\n";
      }
    }
  }
  return out.str();
}

}  // namespace moeb::report
