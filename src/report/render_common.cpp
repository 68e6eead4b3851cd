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
    if (id != "routing_dev_pct" && id != "placement_s") ids.push_back(id);
  return ids;
}

std::string describe_system(const SystemColumn& sys) {
  std::string s = sys.simulated ? "simulated (cost model" : "measured (" + sys.backend;
  s += ", " + std::to_string(sys.num_ranks) + " ranks on " + std::to_string(sys.num_nodes) +
       (sys.num_nodes == 1 ? " node" : " nodes") + ", " + std::to_string(sys.paths.size()) +
       (sys.paths.size() == 1 ? " file" : " files") + ")";
  return s;
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
