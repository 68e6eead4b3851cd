// CSV and JSON: one row per (group, system, strategy, metric, layer) for further analysis.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "report/columns.hpp"
#include "report/render.hpp"

namespace moeb::report {
namespace {

struct Row {
  const ReportGroup* group;
  const SystemColumn* system;
  const std::string* strategy;
  const Cell* cell;
  std::string layer;         // "all" or the layer index
  const ColumnSpec* column;  // nullptr for a skipped strategy's single row
  const Stat* stat;          // nullptr when none
};

std::string cell_notes(const ReportGroup& g, const Cell& c) {
  std::string s;
  for (int k : c.footnotes) s += (s.empty() ? "" : "; ") + g.footnotes[k - 1];
  return s;
}

// Calls `emit` for every row, in table order: groups, systems, strategies, metrics, layers.
void for_each_row(const Report& rep, const std::function<void(const Row&)>& emit) {
  const auto layer_cols = detail::per_layer_columns(rep);
  for (const auto& g : rep.groups) {
    for (const auto& sys : g.systems) {
      for (const auto& name : g.strategies) {
        const Cell& c = sys.cells.at(name);
        if (c.status == "absent") continue;
        if (!detail::has_figures(c)) {
          emit(Row{&g, &sys, &name, &c, "all", nullptr, nullptr});
          continue;
        }
        for (const auto& id : rep.columns) {
          auto it = c.whole.find(id);
          emit(Row{&g, &sys, &name, &c, "all", find_column(id),
                   it == c.whole.end() ? nullptr : &it->second});
        }
        if (!rep.per_layer) continue;
        for (const auto& id : layer_cols) {
          auto it = c.per_layer.find(id);
          if (it == c.per_layer.end()) continue;
          for (size_t l = 0; l < it->second.size(); ++l)
            emit(Row{&g, &sys, &name, &c, std::to_string(l), find_column(id), &it->second[l]});
        }
      }
    }
  }
}

std::string num(double v) {
  if (!std::isfinite(v)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

nlohmann::ordered_json json_num(const Stat* st, double Stat::*field) {
  if (!st || st->n == 0 || !std::isfinite(st->*field)) return nullptr;
  return st->*field;
}

// The sweep axes of every group (docs/REPORT.md "Sweeps"), in order of first appearance.
std::vector<std::string> sweep_dims(const Report& rep) {
  std::vector<std::string> out;
  for (const auto& g : rep.groups)
    for (const auto& d : g.cell_dims)
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  return out;
}

// A row's value of sweep axis `dim` ("" outside a sweep cell).
std::string sweep_value(const Row& r, const std::string& dim) {
  auto it = r.group->row_dims.find(*r.strategy);
  if (it == r.group->row_dims.end()) return "";
  auto jt = it->second.find(dim);
  return jt == it->second.end() ? "" : jt->second;
}

}  // namespace

std::string render_csv(const Report& rep) {
  std::ostringstream out;
  const auto dims = sweep_dims(rep);  // extra columns only for files with sweep cells
  out << "suite,model,system,kind,strategy,status,layer,metric,unit,value,min,max,files,notes,lo,"
         "hi,config";
  for (const auto& d : dims) out << "," << csv_field(d);
  out << "\n";
  for_each_row(rep, [&](const Row& r) {
    const bool has = r.stat && r.stat->n > 0;
    out << csv_field(r.group->suite) << "," << csv_field(r.group->model) << ","
        << csv_field(r.system->title) << "," << (r.system->simulated ? "simulated" : "measured")
        << "," << csv_field(*r.strategy) << "," << r.cell->status << "," << r.layer << ","
        << (r.column ? r.column->id : "") << "," << (r.column ? r.column->unit : "") << ","
        << (has ? num(r.stat->median) : "") << "," << (has ? num(r.stat->min) : "") << ","
        << (has ? num(r.stat->max) : "") << "," << (r.stat ? r.stat->n : 0) << ","
        << csv_field(cell_notes(*r.group, *r.cell)) << "," << (has ? num(r.stat->lo) : "") << ","
        << (has ? num(r.stat->hi) : "") << "," << r.system->fingerprint.short_hash();
    for (const auto& d : dims) out << "," << csv_field(sweep_value(r, d));
    out << "\n";
  });
  return out.str();
}

std::string render_json(const Report& rep) {
  using J = nlohmann::ordered_json;
  J doc;
  doc["format"] = "moebench-report";
  doc["version"] = 1;
  doc["columns"] = J::array();
  for (const auto& id : rep.columns) {
    const ColumnSpec& c = *find_column(id);
    doc["columns"].push_back({{"metric", c.id}, {"unit", c.unit}, {"definition", c.definition}});
  }
  doc["notes"] = rep.notes;
  doc["groups"] = J::array();
  for (const auto& g : rep.groups) {
    J jg;
    jg["suite"] = g.suite;
    jg["model"] = g.model;
    jg["systems"] = J::array();
    for (const auto& s : g.systems)
      jg["systems"].push_back({{"system", s.title},
                               {"label", s.label},
                               {"config", s.fingerprint.hash},
                               {"kind", s.simulated ? "simulated" : "measured"},
                               {"backend", s.backend},
                               {"num_ranks", s.num_ranks},
                               {"num_nodes", s.num_nodes},
                               {"files", s.paths}});
    jg["strategies"] = g.strategies;
    jg["reference"] = g.reference;
    jg["footnotes"] = g.footnotes;
    jg["notes"] = g.notes;
    doc["groups"].push_back(std::move(jg));
  }
  doc["rows"] = J::array();
  for_each_row(rep, [&](const Row& r) {
    J row;
    row["suite"] = r.group->suite;
    row["model"] = r.group->model;
    row["system"] = r.system->title;
    row["kind"] = r.system->simulated ? "simulated" : "measured";
    row["strategy"] = *r.strategy;
    row["status"] = r.cell->status;
    row["layer"] = r.layer;
    row["metric"] = r.column ? J(r.column->id) : J(nullptr);
    row["unit"] = r.column ? J(r.column->unit) : J(nullptr);
    row["value"] = json_num(r.stat, &Stat::median);
    row["min"] = json_num(r.stat, &Stat::min);
    row["max"] = json_num(r.stat, &Stat::max);
    row["lo"] = json_num(r.stat, &Stat::lo);
    row["hi"] = json_num(r.stat, &Stat::hi);
    row["files"] = r.stat ? r.stat->n : 0;
    row["notes"] = cell_notes(*r.group, *r.cell);
    if (r.group->row_dims.count(*r.strategy)) {
      J sweep = J::object();
      for (const auto& d : r.group->cell_dims) sweep[d] = sweep_value(r, d);
      row["sweep"] = std::move(sweep);
    }
    doc["rows"].push_back(std::move(row));
  });
  return doc.dump(1) + "\n";
}

}  // namespace moeb::report
