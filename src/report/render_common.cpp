#include <algorithm>

#include "core/error.hpp"
#include "report/columns.hpp"
#include "report/render.hpp"

namespace moeb::report {

Format parse_format(const std::string& name) {
  if (name == "md" || name == "markdown") return Format::kMarkdown;
  if (name == "latex" || name == "tex") return Format::kLatex;
  if (name == "csv") return Format::kCsv;
  if (name == "json") return Format::kJson;
  throw ConfigError("--format: expected md, latex, csv or json, got '" + name + "'");
}

std::string render(const Report& rep, Format format) {
  switch (format) {
    case Format::kMarkdown:
      return render_markdown(rep);
    case Format::kLatex:
      return render_latex(rep);
    case Format::kCsv:
      return render_csv(rep);
    case Format::kJson:
      return render_json(rep);
  }
  return render_markdown(rep);
}

std::string latex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '\\':
        out += "\\textbackslash{}";
        break;
      case '{':
        out += "\\{";
        break;
      case '}':
        out += "\\}";
        break;
      case '$':
        out += "\\$";
        break;
      case '&':
        out += "\\&";
        break;
      case '#':
        out += "\\#";
        break;
      case '_':
        out += "\\_";
        break;
      case '%':
        out += "\\%";
        break;
      case '^':
        out += "\\textasciicircum{}";
        break;
      case '~':
        out += "\\textasciitilde{}";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace detail {

std::vector<std::string> per_layer_columns(const Report& rep) {
  std::vector<std::string> ids;
  for (const auto& id : rep.columns)
    if (id != "routing_dev_pct" && id != "placement_s" && id != "batch_ms" &&
        id != "combine_algbw_gbps" && id != "combine_busbw_gbps" && id != "expert_mem_gib")
      ids.push_back(id);
  return ids;
}

std::string describe_system(const SystemColumn& sys) {
  std::string s = sys.counts_only ? "placed (exact counts, no cost model: times n/a"
                  : sys.simulated ? "simulated (cost model"
                                  : "measured (" + sys.backend;
  s += ", " + std::to_string(sys.num_ranks) + " ranks on " + std::to_string(sys.num_nodes) +
       (sys.num_nodes == 1 ? " node" : " nodes") + ", " + std::to_string(sys.paths.size()) +
       (sys.paths.size() == 1 ? " file" : " files") + ", config " +
       sys.fingerprint.short_hash() + ")";
  return s;
}

bool has_figures(const Cell& c) { return c.status == "complete" || c.status == "interrupted"; }

std::vector<std::string> spread_texts(const Stat& st, const ColumnSpec& col, Spread spread,
                                      bool several_files) {
  if (st.n == 0 || spread == Spread::kNone) return {};
  double lo = st.lo, hi = st.hi;
  if (spread == Spread::kAuto) {
    if (!several_files || st.n < 2) return {};
    lo = st.min;
    hi = st.max;
  } else if (st.samples < 2) {
    return {};
  }
  const std::string a = format_number(lo, col.style), b = format_number(hi, col.style);
  if (a == b) return {};
  return {a, b};
}

std::vector<bool> best_mask(const std::vector<const Stat*>& stats, const ColumnSpec& col) {
  std::vector<bool> best(stats.size(), false);
  if (col.better == Better::kNone) return best;
  const bool lower = col.better == Better::kLower;
  auto beats = [&](const Stat& a, const Stat& b) {  // a's whole interval better than b's
    return lower ? a.hi < b.lo : a.lo > b.hi;
  };
  auto point_tie = [](const Stat& a, const Stat& b) {
    return a.lo == a.hi && b.lo == b.hi && a.median == b.median;
  };
  size_t values = 0, marked = 0;
  for (size_t i = 0; i < stats.size(); ++i) {
    if (!stats[i] || stats[i]->n == 0) continue;
    ++values;
    bool ok = true;
    for (size_t j = 0; j < stats.size() && ok; ++j)
      if (j != i && stats[j] && stats[j]->n > 0 && !beats(*stats[i], *stats[j]) &&
          !point_tie(*stats[i], *stats[j]))
        ok = false;
    best[i] = ok;
    marked += ok;
  }
  if (values < 2 || marked == values) best.assign(stats.size(), false);
  return best;
}

std::vector<std::string> best_strategies(const ReportGroup& g, const SystemColumn& sys,
                                         const ColumnSpec& col) {
  std::vector<const Stat*> stats;
  for (const auto& name : g.strategies) {
    const Cell& c = sys.cells.at(name);
    auto it = c.whole.find(col.id);
    stats.push_back(has_figures(c) && it != c.whole.end() ? &it->second : nullptr);
  }
  const auto mask = best_mask(stats, col);
  std::vector<std::string> best;
  for (size_t i = 0; i < mask.size(); ++i)
    if (mask[i]) best.push_back(g.strategies[i]);
  return best;
}

std::string spread_sentence(Spread spread, bool any_repetitions) {
  switch (spread) {
    case Spread::kAuto:
      return any_repetitions ? "with several files per column group, the median over files "
                               "[min, max] where they differ"
                             : "";
    case Spread::kNone:
      return "";
    case Spread::kMinMax:
      return "[min, max] over iterations and files for time-derived figures, over files for "
             "the others";
    case Spread::kCi:
      return "[95% bootstrap confidence interval] over iterations and files for time-derived "
             "figures, over files for the others";
  }
  return "";
}

std::string row_label(const ReportGroup& g, const std::string& strategy) {
  for (const auto& sys : g.systems) {
    auto it = sys.cells.find(strategy);
    if (it != sys.cells.end() && it->second.oracle) return strategy + " (oracle)";
  }
  return strategy;
}

}  // namespace detail
}  // namespace moeb::report
