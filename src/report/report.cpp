#include "report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "report/columns.hpp"
#include "report/figures.hpp"

namespace moeb::report {
namespace {

std::string fmt_pct(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
}

Stat make_stat(std::vector<double> values) {
  values.erase(
      std::remove_if(values.begin(), values.end(), [](double v) { return !std::isfinite(v); }),
      values.end());
  Stat s;
  if (values.empty()) return s;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  s.n = static_cast<int>(n);
  s.min = values.front();
  s.max = values.back();
  s.median = n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
  return s;
}

int add_footnote(ReportGroup& g, const std::string& text) {
  for (size_t k = 0; k < g.footnotes.size(); ++k)
    if (g.footnotes[k] == text) return static_cast<int>(k) + 1;
  g.footnotes.push_back(text);
  return static_cast<int>(g.footnotes.size());
}

void add_cell_footnote(ReportGroup& g, Cell& c, const std::string& text) {
  const int k = add_footnote(g, text);
  if (std::find(c.footnotes.begin(), c.footnotes.end(), k) == c.footnotes.end())
    c.footnotes.push_back(k);
}

// One strategy of one file, ready to aggregate.
struct Sample {
  const StrategyResult* result = nullptr;
  const std::string* path = nullptr;
  StrategyFigures figures;
};

// Every sample of one (system, strategy) cell.
using CellSamples = std::vector<Sample>;

void fill_cell(ReportGroup& g, const SystemColumn& sys, const std::string& strategy,
               const CellSamples& samples, Cell& cell) {
  int complete = 0, skipped = 0, interrupted = 0, failed = 0;
  std::string skip_reason, fail_reason;
  for (const auto& s : samples) {
    const StrategyStatus st = s.result->status;
    if (st == StrategyStatus::kSkipped) {
      ++skipped;
      if (skip_reason.empty()) skip_reason = s.result->skip_reason;
    } else if (st == StrategyStatus::kFailed) {
      ++failed;
      if (fail_reason.empty()) fail_reason = s.result->skip_reason;
    } else if (st == StrategyStatus::kInterrupted) {
      ++interrupted;
    } else {
      ++complete;
    }
    cell.oracle = cell.oracle || s.result->oracle;
  }
  const std::string where = strategy + " on " + sys.label;
  if (complete > 0) {
    cell.status = "complete";
  } else if (interrupted > 0) {
    cell.status = "interrupted";
  } else if (failed > 0) {
    cell.status = "failed";
  } else {
    cell.status = "skipped";
  }
  const int n = static_cast<int>(samples.size());
  if (cell.status == "skipped") {
    add_cell_footnote(
        g, cell,
        where + ": skipped: " + (skip_reason.empty() ? "no reason recorded" : skip_reason));
  } else if (cell.status == "failed") {
    add_cell_footnote(g, cell, where + ": failed: " + fail_reason);
  } else if (skipped > 0) {
    add_cell_footnote(g, cell,
                      where + ": skipped in " + std::to_string(skipped) + " of " +
                          std::to_string(n) + " files (" + skip_reason + ")");
  }
  if (failed > 0 && cell.status != "failed")
    add_cell_footnote(g, cell,
                      where + ": failed in " + std::to_string(failed) + " of " +
                          std::to_string(n) + " files (" + fail_reason + "); not aggregated");
  if (interrupted > 0) {
    for (const auto& s : samples) {
      if (s.result->status != StrategyStatus::kInterrupted) continue;
      add_cell_footnote(g, cell,
                        where + ": interrupted in " + *s.path +
                            (s.figures.has_data
                                 ? "; its figures use the " + std::to_string(s.figures.iterations) +
                                       " iterations measured"
                                 : "; no iterations measured"));
    }
  }
  if (cell.oracle)
    add_cell_footnote(g, cell,
                      strategy +
                          ": oracle, placed with the evaluation part itself (a bound, "
                          "not a deployable strategy)");
  for (const auto& s : samples) {
    if (s.result->routing_deviation >= 0 && s.result->status != StrategyStatus::kSkipped) {
      add_cell_footnote(g, cell,
                        where + " changes routing: " + fmt_pct(s.result->routing_deviation) +
                            " of (token, expert) choices differ from the trace" +
                            (n > 1 ? " (first file)" : ""));
      break;
    }
  }

  // Aggregate every column over the samples that carry data (skipped ones have none).
  std::vector<const StrategyFigures*> with_data;
  for (const auto& s : samples) {
    if (s.result->status == StrategyStatus::kFailed) continue;  // its figures are not trusted
    if (s.figures.has_data || s.result->status != StrategyStatus::kSkipped)
      with_data.push_back(&s.figures);
  }
  for (const auto& col : report_columns()) {
    std::vector<double> w;
    for (const auto* f : with_data) {
      auto it = f->whole.find(col.id);
      if (it != f->whole.end()) w.push_back(it->second);
    }
    cell.whole[col.id] = make_stat(w);
    std::vector<Stat> layers;
    for (int l = 0; l < g.num_layers; ++l) {
      std::vector<double> v;
      for (const auto* f : with_data) {
        auto it = f->per_layer.find(col.id);
        if (it != f->per_layer.end() && l < static_cast<int>(it->second.size()))
          v.push_back(it->second[l]);
      }
      layers.push_back(make_stat(v));
    }
    cell.per_layer[col.id] = std::move(layers);
  }
}

}  // namespace

std::string run_attr(const RunResult& run, const std::string& name, const std::string& fallback) {
  auto s = run.attrs_str.find(name);
  if (s != run.attrs_str.end()) return s->second;
  auto d = run.attrs_num.find(name);
  if (d != run.attrs_num.end()) {
    char buf[64];
    if (d->second == std::floor(d->second) && std::fabs(d->second) < 1e15)
      std::snprintf(buf, sizeof buf, "%.0f", d->second);
    else
      std::snprintf(buf, sizeof buf, "%.17g", d->second);
    return buf;
  }
  return fallback;
}

double run_num(const RunResult& run, const std::string& name, double fallback) {
  auto d = run.attrs_num.find(name);
  if (d != run.attrs_num.end()) return d->second;
  auto s = run.attrs_str.find(name);
  if (s != run.attrs_str.end()) {
    try {
      return std::stod(s->second);
    } catch (...) {
      return fallback;
    }
  }
  return fallback;
}

Report build_report(const std::vector<ReportInput>& inputs, const ReportOptions& options) {
  Report rep;
  rep.columns = options.columns.empty() ? default_column_ids() : options.columns;
  rep.per_layer = options.per_layer;

  for (const auto& in : inputs) {
    const double version = run_num(in.run, "schema_version", -1);
    if (version != kResultsSchemaVersion)
      throw InputError(
          in.path + ": schema_version " + run_attr(in.run, "schema_version", "(missing)") +
          " is not supported (expected " + std::to_string(kResultsSchemaVersion) + ")");
  }

  // (group, system, strategy) -> samples, built in input order.
  std::vector<std::map<std::string, std::map<std::string, CellSamples>>> samples;
  for (const auto& in : inputs) {
    const RunResult& run = in.run;
    std::string suite = run_attr(run, "suite_name", "");
    std::string model = run_attr(run, "model_preset", "");
    if (suite.empty()) suite = "(unnamed suite)";
    if (model.empty()) model = "custom model";
    auto git = std::find_if(rep.groups.begin(), rep.groups.end(), [&](const ReportGroup& g) {
      return g.suite == suite && g.model == model;
    });
    if (git == rep.groups.end()) {
      rep.groups.push_back(ReportGroup{});
      rep.groups.back().suite = suite;
      rep.groups.back().model = model;
      samples.emplace_back();
      git = rep.groups.end() - 1;
    }
    ReportGroup& g = *git;
    auto& group_samples = samples[git - rep.groups.begin()];

    std::string label = run_attr(run, "system", "");
    if (label.empty()) label = "(no system label)";
    auto sit = std::find_if(g.systems.begin(), g.systems.end(),
                            [&](const SystemColumn& s) { return s.label == label; });
    const std::string backend = run_attr(run, "backend", "?");
    const int ranks = static_cast<int>(run_num(run, "num_ranks", 0));
    const int nodes = static_cast<int>(run_num(run, "num_nodes", 0));
    if (sit == g.systems.end()) {
      SystemColumn sc;
      sc.label = label;
      sc.backend = backend;
      sc.simulated = backend == "model";
      sc.num_ranks = ranks;
      sc.num_nodes = nodes;
      sc.act_dtype = run_attr(run, "act_dtype", "?");
      sc.dispatch_row_bytes = static_cast<int64_t>(run_num(run, "dispatch_row_bytes", 0));
      g.systems.push_back(sc);
      sit = g.systems.end() - 1;
    } else if (sit->backend != backend || sit->num_ranks != ranks || sit->num_nodes != nodes) {
      g.notes.push_back(in.path + " (system " + label + "): backend " + backend + ", " +
                        std::to_string(ranks) + " ranks on " + std::to_string(nodes) +
                        " nodes differs from the system's first file (" + sit->paths.front() +
                        "); its repetitions are not alike");
    }
    sit->paths.push_back(in.path);

    if (run_attr(run, "build_type", "") == "Debug")
      g.notes.push_back(in.path + " (system " + label +
                        "): Debug build; its timings are not representative");
    const std::string status = run_attr(run, "status", "complete");
    if (status != "complete")
      g.notes.push_back(in.path + " (system " + label + "): run status '" + status +
                        "'; strategies it did not reach are absent");

    // Figures of every strategy of this file, then ratios against this file's baseline.
    const bool simulated = backend == "model";
    std::vector<Sample> file_samples;
    const StrategyFigures* base = nullptr;
    for (const auto& s : run.strategies) {
      Sample smp;
      smp.result = &s;
      smp.path = &in.path;
      smp.figures = compute_figures(s, simulated);
      file_samples.push_back(std::move(smp));
    }
    for (const auto& smp : file_samples)
      if (smp.result->name == "baseline" && smp.figures.has_data) base = &smp.figures;
    if (!base && !run.strategies.empty())
      g.notes.push_back(in.path + " (system " + label +
                        "): no measured baseline; ratio columns are n/a");
    const StrategyFigures empty;
    for (auto& smp : file_samples) add_baseline_ratios(smp.figures, base ? *base : empty);

    for (auto& smp : file_samples) {
      const std::string& name = smp.result->name;
      if (std::find(g.strategies.begin(), g.strategies.end(), name) == g.strategies.end())
        g.strategies.push_back(name);
      g.num_layers = std::max(g.num_layers, smp.figures.layers);
      group_samples[label][name].push_back(std::move(smp));
    }
  }

  for (size_t gi = 0; gi < rep.groups.size(); ++gi) {
    ReportGroup& g = rep.groups[gi];
    // Bytes scale with the row size: say so when the systems of one table differ in it.
    bool rows_differ = false;
    for (const auto& sys : g.systems)
      rows_differ = rows_differ || sys.dispatch_row_bytes != g.systems.front().dispatch_row_bytes ||
                    sys.act_dtype != g.systems.front().act_dtype;
    if (rows_differ) {
      std::string list;
      for (const auto& sys : g.systems)
        list += (list.empty() ? "" : ", ") + sys.label + " " + sys.act_dtype + " " +
                std::to_string(sys.dispatch_row_bytes) + " B";
      g.notes.push_back("the systems move rows of different sizes (" + list +
                        "); compare their comm volumes through the reduction columns");
    }
    // Baseline first; the others keep their order of first appearance.
    std::stable_partition(g.strategies.begin(), g.strategies.end(),
                          [](const std::string& s) { return s == "baseline"; });
    for (const auto& name : g.strategies) {
      for (auto& sys : g.systems) {
        Cell& cell = sys.cells[name];
        auto& by_strategy = samples[gi][sys.label];
        auto it = by_strategy.find(name);
        if (it == by_strategy.end()) continue;  // stays "absent"
        fill_cell(g, sys, name, it->second, cell);
      }
    }
  }

  if (rep.groups.size() > 1) {
    std::string list;
    for (const auto& g : rep.groups) list += (list.empty() ? "" : ", ") + g.suite + " / " + g.model;
    rep.notes.push_back("the inputs hold " + std::to_string(rep.groups.size()) +
                        " different (suite, model) pairs, which are not comparable; each has "
                        "its own table: " +
                        list);
  }
  return rep;
}

}  // namespace moeb::report
