// Markdown: GitHub tables whose cells are padded, so the same text reads well in a terminal.
#include <algorithm>
#include <sstream>

#include "report/columns.hpp"
#include "report/pivot.hpp"
#include "report/render.hpp"

namespace moeb::report {
namespace {

std::string markers(const Cell& c) {
  std::string s;
  for (int k : c.footnotes) s += " (" + std::to_string(k) + ")";
  return s;
}

std::string stat_text(const Stat& st, const ColumnSpec& col, Spread spread, bool several) {
  if (st.n == 0) return "n/a";
  std::string s = format_number(st.median, col.style);
  const auto sp = detail::spread_texts(st, col, spread, several);
  if (!sp.empty()) s += " [" + sp[0] + ", " + sp[1] + "]";
  return s;
}

// Text of one cell; `first` is the first column of its system group (carries the markers).
std::string cell_text(const Cell& c, const Stat* st, const ColumnSpec& col, Spread spread,
                      bool several, bool first) {
  if (c.status == "absent") return "-";
  if (!detail::has_figures(c)) return first ? c.status + markers(c) : c.status;
  std::string s = st ? stat_text(*st, col, spread, several) : "n/a";
  return first ? s + markers(c) : s;
}

std::string pivot_cell_text(const PivotColumn& col, const PivotCell& pc, Spread spread) {
  if (col.ratio_of >= 0) return format_number(pc.ratio, NumberStyle::kSpeedup);
  if (!pc.cell) return "-";
  return cell_text(*pc.cell, pc.stat, *pc.metric, spread, pc.system->paths.size() > 1,
                   pc.markers);
}

void write_table(std::ostringstream& out, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows, size_t left_columns = 1) {
  std::vector<size_t> width(header.size(), 3);
  for (size_t j = 0; j < header.size(); ++j) width[j] = std::max(width[j], header[j].size());
  for (const auto& r : rows)
    for (size_t j = 0; j < r.size(); ++j) width[j] = std::max(width[j], r[j].size());
  auto line = [&](const std::vector<std::string>& cells) {
    out << "|";
    for (size_t j = 0; j < cells.size(); ++j) {
      const std::string pad(width[j] - cells[j].size(), ' ');
      out << " " << (j < left_columns ? cells[j] + pad : pad + cells[j]) << " |";
    }
    out << "\n";
  };
  line(header);
  out << "|";
  for (size_t j = 0; j < header.size(); ++j)
    out << (j < left_columns ? ":" + std::string(width[j] + 1, '-')
                             : std::string(width[j] + 1, '-') + ":")
        << "|";
  out << "\n";
  for (const auto& r : rows) line(r);
}

bool any_repetitions(const ReportGroup& g) {
  return std::any_of(g.systems.begin(), g.systems.end(),
                     [](const SystemColumn& s) { return s.paths.size() > 1; });
}

std::string column_header(const PivotColumn& c, bool single_group) {
  const std::string m = c.metric ? c.metric->md_header : "";
  if (m.empty()) return c.group.empty() ? "value" : c.group;
  return single_group || c.group.empty() ? m : c.group + ": " + m;
}

// The group's main table, pivoted as the options ask.
void write_main_table(std::ostringstream& out, const Report& rep, const ReportGroup& g) {
  const PivotTable t = build_pivot(rep, g);
  std::vector<std::string> header;
  for (const auto& d : t.row_dims) header.push_back(d);
  for (const auto& c : t.columns) header.push_back(column_header(c, t.single_group));
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < t.row_keys.size(); ++i) {
    std::vector<std::string> row;
    for (size_t d = 0; d < t.row_dims.size(); ++d) {
      const std::string& v = t.row_keys[i][d];
      const std::string& dim = t.row_dims[d];
      row.push_back(dim == "strategy" ? detail::row_label(g, v)
                    : dim == "metric" ? find_column(v)->md_header
                                      : v);
    }
    for (size_t j = 0; j < t.columns.size(); ++j)
      row.push_back(pivot_cell_text(t.columns[j], t.cells[i][j], rep.spread));
    rows.push_back(std::move(row));
  }
  write_table(out, header, rows, t.row_dims.size());
}

void write_per_layer(std::ostringstream& out, const Report& rep, const ReportGroup& g) {
  for (const auto& sys : g.systems) {
    for (const auto& id : detail::per_layer_columns(rep)) {
      const ColumnSpec& col = *find_column(id);
      out << "### " << g.suite << " per layer: " << col.md_header << " on " << sys.title << "\n\n";
      std::vector<std::string> lh = {"layer"};
      for (const auto& name : g.strategies) lh.push_back(detail::row_label(g, name));
      std::vector<std::vector<std::string>> lrows;
      for (int l = 0; l < g.num_layers; ++l) {
        std::vector<std::string> row = {std::to_string(l)};
        for (const auto& name : g.strategies) {
          const Cell& c = sys.cells.at(name);
          auto it = c.per_layer.find(id);
          const Stat* st = it == c.per_layer.end() || l >= static_cast<int>(it->second.size())
                               ? nullptr
                               : &it->second[l];
          row.push_back(cell_text(c, st, col, Spread::kAuto, sys.paths.size() > 1, false));
        }
        lrows.push_back(std::move(row));
      }
      write_table(out, lh, lrows);
      out << "\n";
    }
  }
}

void write_group(std::ostringstream& out, const Report& rep, const ReportGroup& g) {
  out << "## " << g.suite << " (" << g.model << ")\n\n";
  for (const auto& sys : g.systems) {
    out << "- " << sys.title << ": " << detail::describe_system(sys) << ":";
    for (const auto& p : sys.paths) out << " " << p;
    out << "\n";
  }
  out << "\n";
  write_main_table(out, rep, g);
  out << "\n";
  out << "Ratios (red. %, speedup) are against " << g.reference
      << " in the same file; figures are medians over iterations";
  const std::string sentence = detail::spread_sentence(rep.spread, any_repetitions(g));
  if (!sentence.empty()) out << "; " << sentence;
  out << ".\n";
  for (size_t k = 0; k < g.footnotes.size(); ++k)
    out << "(" << k + 1 << ") " << g.footnotes[k] << "\n";
  for (const auto& note : g.notes) out << "Note: " << note << "\n";
  out << "\n";
  if (rep.per_layer) write_per_layer(out, rep, g);
}

}  // namespace

std::string render_markdown(const Report& rep) {
  std::ostringstream out;
  for (const auto& note : rep.notes) out << "Note: " << note << "\n\n";
  for (const auto& g : rep.groups) write_group(out, rep, g);
  return out.str();
}

}  // namespace moeb::report
