#include "report/pivot.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "core/error.hpp"

namespace moeb::report {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// One value of the report: a (strategy, column group, metric) with its dimension values.
struct Record {
  std::map<std::string, std::string> dims;
  const Cell* cell;
  const Stat* stat;
  const SystemColumn* system;
  const ColumnSpec* metric;
};

bool builtin_dim(const std::string& d) {
  return d == "strategy" || d == "system" || d == "label" || d == "metric";
}

// A sweep cell's row: its strategy name, its sweep.<axis> values ("(none)" for rows outside
// any cell) and the configuration keys the cell sets (docs/REPORT.md "Sweeps").
void add_cell_dims(const ReportGroup& g, const std::string& row,
                   std::map<std::string, std::string>& dims) {
  for (const auto& d : g.cell_dims) dims[d] = "(none)";
  auto it = g.row_dims.find(row);
  if (it == g.row_dims.end()) return;
  for (const auto& [k, v] : it->second) dims[k] = v;
}

std::vector<Record> records_of(const Report& rep, const ReportGroup& g) {
  std::set<std::string> keys;
  for (const auto& sys : g.systems)
    for (const auto& [k, v] : sys.fingerprint.keys) keys.insert(k);
  for (const auto& [row, dims] : g.row_dims)
    for (const auto& [k, v] : dims)
      if (!builtin_dim(k)) keys.insert(k);
  std::vector<Record> out;
  for (const auto& name : g.strategies)
    for (const auto& sys : g.systems) {
      const Cell& c = sys.cells.at(name);
      if (c.status == "absent") continue;
      for (const auto& id : rep.columns) {
        Record r{{}, &c, nullptr, &sys, find_column(id)};
        auto it = c.whole.find(id);
        if (it != c.whole.end()) r.stat = &it->second;
        r.dims = {{"strategy", name}, {"system", sys.title}, {"label", sys.label}, {"metric", id}};
        for (const auto& k : keys) {
          auto kv = sys.fingerprint.keys.find(k);
          r.dims[k] = kv == sys.fingerprint.keys.end() ? "(absent)" : kv->second;
        }
        add_cell_dims(g, name, r.dims);
        out.push_back(std::move(r));
      }
    }
  return out;
}

void check_dims(const std::vector<std::string>& dims, const char* option,
                const std::vector<Record>& recs) {
  for (const auto& d : dims) {
    if (builtin_dim(d) || (!recs.empty() && recs.front().dims.count(d))) continue;
    throw ConfigError(std::string(option) + ": unknown dimension '" + d +
                      "' (expected strategy, system, label, metric, a sweep axis such as "
                      "sweep.dispatch, or a configuration key of the files, such as model.hidden "
                      "or run.dispatch)");
  }
}

// The effective row and column dimensions of the layout.
// Default rows: strategy, then the sweep axes that --cols does not name (one row per (cell,
// strategy)).
std::pair<std::vector<std::string>, std::vector<std::string>> layout_dims(
    const PivotOptions& p, const std::vector<std::string>& cell_dims) {
  std::vector<std::string> cols = p.cols.empty() ? std::vector<std::string>{"system"} : p.cols;
  std::vector<std::string> rows = p.rows;
  if (rows.empty()) {
    rows = {"strategy"};
    for (const auto& d : cell_dims)
      if (std::find(cols.begin(), cols.end(), d) == cols.end()) rows.push_back(d);
  }
  for (const auto& d : rows)
    if (std::find(cols.begin(), cols.end(), d) != cols.end())
      throw ConfigError("--rows and --cols both name '" + d + "'");
  auto has = [](const std::vector<std::string>& v, const char* d) {
    return std::find(v.begin(), v.end(), d) != v.end();
  };
  if (!has(rows, "metric") && !has(cols, "metric")) cols.push_back("metric");
  if (p.layout == Layout::kTransposed) std::swap(rows, cols);
  if (p.layout == Layout::kLong) {
    rows.insert(rows.end(), cols.begin(), cols.end());
    cols.clear();
  }
  return {rows, cols};
}

// Value order of each dimension: first appearance in record order (strategies in table order).
using Ranks = std::map<std::string, std::map<std::string, int>>;
Ranks value_ranks(const std::vector<Record>& recs) {
  Ranks ranks;
  for (const auto& r : recs)
    for (const auto& [d, v] : r.dims) ranks[d].emplace(v, static_cast<int>(ranks[d].size()));
  return ranks;
}

std::vector<std::string> tuple_of(const Record& r, const std::vector<std::string>& dims) {
  std::vector<std::string> t;
  for (const auto& d : dims) t.push_back(r.dims.at(d));
  return t;
}

std::vector<std::vector<std::string>> ordered_tuples(const std::vector<Record>& recs,
                                                     const std::vector<std::string>& dims,
                                                     const Ranks& ranks) {
  std::set<std::vector<std::string>> seen;
  std::vector<std::vector<std::string>> out;
  for (const auto& r : recs)
    if (seen.insert(tuple_of(r, dims)).second) out.push_back(tuple_of(r, dims));
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    for (size_t i = 0; i < dims.size(); ++i) {
      const int ra = ranks.at(dims[i]).at(a[i]), rb = ranks.at(dims[i]).at(b[i]);
      if (ra != rb) return ra < rb;
    }
    return false;
  });
  return out;
}

// Title of a column group: the column tuple without the metric.
std::string group_title(const std::vector<std::string>& dims, const std::vector<std::string>& t) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] == "metric") continue;
    const std::string part = builtin_dim(dims[i]) ? t[i] : dims[i] + "=" + t[i];
    s += (s.empty() ? "" : ", ") + part;
  }
  return s;
}

[[noreturn]] void collision(const Record& a, const Record& b) {
  std::string varying;
  for (const auto& [d, v] : a.dims)
    if (d != "label" && b.dims.at(d) != v) varying += (varying.empty() ? "" : ", ") + d;
  throw ConfigError("--rows/--cols: two values land in one cell; they differ in " + varying +
                    ": add one of these to --rows or --cols");
}

void add_ratio_columns(const PivotOptions& p, PivotTable& t) {
  if (p.ratio.empty()) return;
  const auto [b, a] = parse_ratio(p.ratio);
  const size_t n = t.columns.size();
  bool found_a = false, found_b = false;
  for (size_t i = 0; i < n; ++i) {
    found_a = found_a || t.columns[i].group == a;
    found_b = found_b || t.columns[i].group == b;
  }
  if (!found_a || !found_b) {
    std::string groups;
    for (size_t i = 0; i < n; ++i)
      if (groups.find("'" + t.columns[i].group + "'") == std::string::npos)
        groups += (groups.empty() ? "'" : ", '") + t.columns[i].group + "'";
    throw ConfigError("--ratio " + p.ratio + ": no column group named '" + (found_b ? a : b) +
                      "' (column groups: " + groups + ")");
  }
  for (size_t i = 0; i < n; ++i) {
    if (t.columns[i].group != b) continue;
    for (size_t j = 0; j < n; ++j) {
      if (t.columns[j].group != a || t.columns[j].metric != t.columns[i].metric) continue;
      PivotColumn rc{b + " / " + a, t.columns[i].metric, static_cast<int>(i), static_cast<int>(j)};
      t.columns.push_back(rc);
      for (auto& row : t.cells) {
        const PivotCell &x = row[i], &y = row[j];
        PivotCell c;
        c.metric = x.metric;
        c.ratio = x.stat && y.stat && x.stat->n > 0 && y.stat->n > 0 && y.stat->median != 0
                      ? x.stat->median / y.stat->median
                      : kNaN;
        row.push_back(c);
      }
    }
  }
  t.single_group = false;
}

}  // namespace

std::pair<std::string, std::string> parse_ratio(const std::string& text) {
  const auto slash = text.find(" / ") != std::string::npos ? text.find(" / ") : text.rfind('/');
  const size_t width = text.find(" / ") != std::string::npos ? 3 : 1;
  if (slash == std::string::npos || slash == 0 || slash + width >= text.size())
    throw ConfigError("--ratio: expected B/A, two column group titles, got '" + text + "'");
  return {text.substr(0, slash), text.substr(slash + width)};
}

std::vector<std::string> parse_dims(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string d = list.substr(start, end - start);
    while (!d.empty() && d.front() == ' ') d.erase(d.begin());
    while (!d.empty() && d.back() == ' ') d.pop_back();
    if (!d.empty()) out.push_back(d);
    start = end + 1;
  }
  return out;
}

PivotTable build_pivot(const Report& rep, const ReportGroup& g) {
  const std::vector<Record> recs = records_of(rep, g);
  check_dims(rep.pivot.rows, "--rows", recs);
  check_dims(rep.pivot.cols, "--cols", recs);
  const auto [rows, cols] = layout_dims(rep.pivot, g.cell_dims);
  const Ranks ranks = value_ranks(recs);
  PivotTable t;
  t.row_dims = rows;
  t.row_keys = ordered_tuples(recs, rows, ranks);
  const auto col_keys = ordered_tuples(recs, cols, ranks);
  const bool metric_in_cols = std::find(cols.begin(), cols.end(), "metric") != cols.end();
  for (const auto& ck : col_keys)
    t.columns.push_back({group_title(cols, ck),
                         metric_in_cols ? find_column(ck[std::find(cols.begin(), cols.end(),
                                                                   "metric") -
                                                         cols.begin()])
                                        : nullptr});
  for (const auto& c : t.columns) t.single_group = t.single_group && c.group == t.columns[0].group;
  std::map<std::vector<std::string>, size_t> row_index, col_index;
  for (size_t i = 0; i < t.row_keys.size(); ++i) row_index[t.row_keys[i]] = i;
  for (size_t j = 0; j < col_keys.size(); ++j) col_index[col_keys[j]] = j;
  t.cells.assign(t.row_keys.size(), std::vector<PivotCell>(t.columns.size()));
  std::vector<std::vector<const Record*>> placed(
      t.row_keys.size(), std::vector<const Record*>(t.columns.size(), nullptr));
  for (const auto& r : recs) {
    const size_t i = row_index.at(tuple_of(r, rows)), j = col_index.at(tuple_of(r, cols));
    if (placed[i][j]) collision(*placed[i][j], r);
    placed[i][j] = &r;
    t.cells[i][j] = {r.cell, r.stat, r.system, r.metric, false, 0};
  }
  // Footnote markers go to the first column where a row shows a cell.
  for (auto& row : t.cells) {
    std::set<const Cell*> marked;
    for (auto& c : row)
      if (c.cell && marked.insert(c.cell).second) c.markers = true;
  }
  add_ratio_columns(rep.pivot, t);
  return t;
}

}  // namespace moeb::report
