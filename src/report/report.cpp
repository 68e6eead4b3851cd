#include "report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.hpp"
#include "report/aggregate.hpp"
#include "report/columns.hpp"
#include "report/figures.hpp"
#include "report/oracle_column.hpp"
#include "core/oracle_figure.hpp"

namespace moeb::report {
namespace {

std::string fmt_pct(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * fraction);
  return buf;
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

// Status strings of a strategy in a file: "done" and "completed" read as "complete".
std::string normalized_status(const std::string& s) {
  if (s == "done" || s == "completed" || s == "ok" || s.empty()) return "complete";
  return s;
}

// A cell's status: complete when any file completed it, else interrupted, else the first
// other status (failed, skipped, ...). Footnotes say what happened in which file.
void set_cell_status(ReportGroup& g, const std::string& where, const CellSamples& samples,
                     Cell& cell) {
  int complete = 0, interrupted = 0;
  std::map<std::string, int> others;  // status -> files
  for (const auto& s : samples) {
    const std::string st = normalized_status(to_string(s.result->status));
    if (st == "complete") {
      ++complete;
    } else if (st == "interrupted") {
      ++interrupted;
    } else {
      if (!others.count(st) && cell.reason.empty()) cell.reason = s.result->skip_reason;
      ++others[st];
    }
  }
  const int n = static_cast<int>(samples.size());
  if (complete > 0)
    cell.status = "complete";
  else if (interrupted > 0)
    cell.status = "interrupted";
  else
    cell.status = normalized_status(to_string(samples.front().result->status));
  for (const auto& [st, count] : others) {
    std::string reason;
    for (const auto& s : samples)
      if (normalized_status(to_string(s.result->status)) == st && !s.result->skip_reason.empty()) {
        reason = s.result->skip_reason;
        break;
      }
    if (reason.empty()) reason = "no reason recorded";
    if (count == n)
      add_cell_footnote(g, cell, where + ": " + st + ": " + reason);
    else
      add_cell_footnote(g, cell,
                        where + ": " + st + " in " + std::to_string(count) + " of " +
                            std::to_string(n) + " files (" + reason + ")");
  }
  for (const auto& s : samples) {
    if (to_string(s.result->status) != "interrupted") continue;
    add_cell_footnote(g, cell,
                      where + ": interrupted in " + *s.path +
                          (s.figures.has_data
                               ? "; its figures use the " + std::to_string(s.figures.iterations) +
                                     " iterations measured"
                               : "; no iterations measured"));
  }
}

void add_cell_notes(ReportGroup& g, const std::string& strategy, const std::string& where,
                    const CellSamples& samples, Cell& cell) {
  for (const auto& s : samples) cell.oracle = cell.oracle || s.result->oracle;
  std::string bound;  // the oracle row's objective
  for (const auto& s : samples)
    if (bound.empty()) bound = oracle_objective_of(*s.result);
  if (!bound.empty())
    add_cell_footnote(g, cell,
                      strategy + ": the oracle bound: optimal fitted on the evaluation batches "
                                 "measured (not deployable); \"of oracle %\" = a strategy's "
                                 "reduction of " + bound + " against " + g.reference +
                                 " over the oracle's");
  else if (cell.oracle)
    add_cell_footnote(g, cell,
                      strategy +
                          ": oracle, placed with the evaluation part itself (a bound, "
                          "not a deployable strategy)");
  const int n = static_cast<int>(samples.size());
  for (const auto& s : samples) {
    if (s.result->routing_deviation >= 0 && to_string(s.result->status) != "skipped") {
      add_cell_footnote(g, cell,
                        where + " changes routing: " + fmt_pct(s.result->routing_deviation) +
                            " of (token, expert) choices differ from the trace" +
                            (n > 1 ? " (first file)" : ""));
      break;
    }
  }
  for (const auto& s : samples)
    if (s.result->options != samples.front().result->options)
      add_cell_footnote(g, cell,
                        where + ": the files ran it with different options (" +
                            samples.front().result->options + " in " + *samples.front().path +
                            ", " + s.result->options + " in " + *s.path + ")");
}

void fill_cell(ReportGroup& g, const SystemColumn& sys, const std::string& strategy,
               const CellSamples& samples, const ReportOptions& opt, Cell& cell) {
  const std::string where = strategy + " on " + sys.title;
  set_cell_status(g, where, samples, cell);
  add_cell_notes(g, strategy, where, samples, cell);
  aggregate_cell(samples, g.num_layers, opt, cell);
}

}  // namespace

Spread parse_spread(const std::string& name) {
  if (name == "auto") return Spread::kAuto;
  if (name == "none") return Spread::kNone;
  if (name == "minmax") return Spread::kMinMax;
  if (name == "ci") return Spread::kCi;
  throw ConfigError("--spread: expected auto, none, minmax or ci, got '" + name + "'");
}

Layout parse_layout(const std::string& name) {
  if (name == "wide") return Layout::kWide;
  if (name == "long") return Layout::kLong;
  if (name == "transposed") return Layout::kTransposed;
  throw ConfigError("--layout: expected wide, long or transposed, got '" + name + "'");
}

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

namespace {

// The first of several attribute names a file holds (provenance fields named by other layers).
double first_num(const RunResult& run, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    const double v = run_num(run, n, std::nan(""));
    if (std::isfinite(v)) return v;
  }
  return std::nan("");
}

int ranks_on_busiest_host(const RunResult& run) {
  const int ranks = static_cast<int>(run_num(run, "num_ranks", 0));
  if (run.hostnames.size() != static_cast<size_t>(ranks) || ranks == 0) return ranks;
  std::map<std::string, int> per_host;
  int most = 0;
  for (const auto& h : run.hostnames) most = std::max(most, ++per_host[h]);
  return most;
}

// "" or why the timings of a file may be noisy: more ranks than cores on a host, or a host
// loaded by other work (attributes absent in a file: nothing to say).
std::string host_warning(const RunResult& run, const std::string& path) {
  const double cores = first_num(run, {"host_cores", "cpu_cores", "num_cores", "cores"});
  if (!std::isfinite(cores) || cores <= 0) return "";
  const int ranks = ranks_on_busiest_host(run);
  char buf[256];
  if (ranks > cores) {
    std::snprintf(buf, sizeof buf, "%s ran %d ranks on a host with %.0f cores", path.c_str(), ranks,
                  cores);
    return buf;
  }
  const double start = first_num(
      run, {"load_avg_start", "load_average_start", "loadavg_start", "load_start", "load_avg"});
  const double end = first_num(run, {"load_avg_end", "load_average_end", "loadavg_end", "load_end"});
  const double free_cores = std::max(1.0, cores - ranks);
  const bool loaded_start = std::isfinite(start) && start >= free_cores;
  const bool loaded_end = std::isfinite(end) && end - ranks >= free_cores;
  if (!loaded_start && !loaded_end) return "";
  std::snprintf(buf, sizeof buf, "%s: host load average %.2f at %s with %d ranks on %.0f cores",
                path.c_str(), loaded_start ? start : end, loaded_start ? "start" : "end", ranks,
                cores);
  return buf;
}

// The row of a strategy: its name, or "NAME [axis=value, ...]" in a sweep cell.
std::string row_name(const StrategyResult& s, const RunResult& run) {
  if (s.cell.empty()) return s.name;
  const ResultCell* c = run.find_cell(s.cell);
  return s.name + " [" + (c ? c->label() : s.cell) + "]";
}

// The dimensions of every sweep cell of a file (by cell id): sweep.<axis> = value, and each
// configuration key whose value in the cell differs from the file's fingerprint `fp` (the
// cell's own topology, slots, dispatch ...). Adds the axes to g.cell_dims.
std::map<std::string, std::map<std::string, std::string>> cell_row_dims(const ReportInput& in,
                                                                        const Fingerprint& fp,
                                                                        ReportGroup& g) {
  std::map<std::string, std::map<std::string, std::string>> out;
  RunResult root;  // the file's root: everything but its strategies and cells (not copied)
  root.attrs_str = in.run.attrs_str;
  root.attrs_num = in.run.attrs_num;
  root.hostnames = in.run.hostnames;
  root.rank_node = in.run.rank_node;
  root.rank_device = in.run.rank_device;
  root.env = in.run.env;
  root.config_toml = in.run.config_toml;
  for (const auto& c : in.run.cells) {
    RunResult view = root;  // the root as the cell sees it
    for (const auto& [k, v] : c.attrs_str) view.attrs_str[k] = v;
    for (const auto& [k, v] : c.attrs_num) view.attrs_num[k] = v;
    if (!c.config_toml.empty()) view.config_toml = c.config_toml;
    auto& dims = out[c.id];
    for (const auto& [k, v] : config_fingerprint(view, in.path).keys) {
      auto it = fp.keys.find(k);
      if (it == fp.keys.end() || it->second != v) dims[k] = v;
    }
    for (const auto& [axis, v] : c.axes) {
      const std::string d = "sweep." + axis;
      dims[d] = v;
      if (std::find(g.cell_dims.begin(), g.cell_dims.end(), d) == g.cell_dims.end())
        g.cell_dims.push_back(d);
    }
  }
  return out;
}

// Builds the report file by file, then fills every group's cells.
class Builder {
 public:
  explicit Builder(const ReportOptions& opt) : opt_(opt) {
    rep_.columns = opt.columns.empty() ? default_column_ids() : opt.columns;
    rep_.per_layer = opt.per_layer;
    rep_.spread = opt.spread;
    rep_.pivot = opt.pivot;
  }

  void add_file(const ReportInput& in);
  Report finish();

 private:
  size_t group_of(const RunResult& run);
  size_t column_of(ReportGroup& g, const ReportInput& in, Fingerprint fp);
  void add_file_notes(ReportGroup& g, const ReportInput& in, const std::string& label);
  std::vector<Sample> file_samples(ReportGroup& g, const ReportInput& in, const std::string& label,
                                   double expert_bytes);
  void finish_group(size_t gi);
  void title_columns(ReportGroup& g);
  void check_like_with_like(ReportGroup& g);

  const ReportOptions& opt_;
  Report rep_;
  // [group][column index] strategy -> samples
  std::vector<std::vector<std::map<std::string, CellSamples>>> samples_;
  std::vector<std::vector<std::string>> warnings_;  // [group] host warnings
  bool reference_seen_ = false;
  bool oracle_seen_ = false;  // a file has an oracle row: the default columns add of_oracle
};

size_t Builder::group_of(const RunResult& run) {
  std::string suite = run_attr(run, "suite_name", "");
  std::string model = run_attr(run, "model_preset", "");
  if (suite.empty()) suite = "(unnamed suite)";
  if (model.empty()) model = "custom model";
  for (size_t i = 0; i < rep_.groups.size(); ++i)
    if (rep_.groups[i].suite == suite && rep_.groups[i].model == model) return i;
  rep_.groups.push_back(ReportGroup{});
  rep_.groups.back().suite = suite;
  rep_.groups.back().model = model;
  rep_.groups.back().reference = opt_.baseline;
  samples_.emplace_back();
  warnings_.emplace_back();
  return rep_.groups.size() - 1;
}

// The column group of a file: same system label and same fingerprint hash = a repetition.
size_t Builder::column_of(ReportGroup& g, const ReportInput& in, Fingerprint fp) {
  const RunResult& run = in.run;
  std::string label = run_attr(run, "system", "");
  if (label.empty()) label = "(no system label)";
  const SystemColumn* same_label = nullptr;
  for (size_t i = 0; i < g.systems.size(); ++i) {
    if (g.systems[i].label != label) continue;
    if (g.systems[i].fingerprint.hash == fp.hash) return i;
    if (!same_label) same_label = &g.systems[i];
  }
  if (same_label) {
    const std::string diffs = describe_diffs(differing_keys(same_label->fingerprint, fp));
    if (opt_.strict)
      throw InputError("moebench report: " + same_label->paths.front() + " and " + in.path +
                       " (system " + label + ") are not repetitions: they differ in " + diffs +
                       " (--strict)");
    g.notes.push_back(in.path + " (system " + label + ") differs from " +
                      same_label->paths.front() + " in " + diffs +
                      ": not a repetition; it has its own column group");
  }
  SystemColumn sc;
  sc.label = label;
  sc.title = label;
  sc.backend = run_attr(run, "backend", "?");
  sc.simulated = sc.backend == "model";
  sc.counts_only = sc.simulated && run_attr(run, "system_model", "") == "none";
  sc.num_ranks = static_cast<int>(run_num(run, "num_ranks", 0));
  sc.num_nodes = static_cast<int>(run_num(run, "num_nodes", 0));
  sc.act_dtype = run_attr(run, "act_dtype", "?");
  sc.dispatch_row_bytes = static_cast<int64_t>(run_num(run, "dispatch_row_bytes", 0));
  sc.fingerprint = std::move(fp);
  g.systems.push_back(std::move(sc));
  samples_[&g - rep_.groups.data()].emplace_back();
  return g.systems.size() - 1;
}

void Builder::add_file_notes(ReportGroup& g, const ReportInput& in, const std::string& label) {
  const RunResult& run = in.run;
  if (run_attr(run, "build_type", "") == "Debug")
    g.notes.push_back(in.path + " (system " + label +
                      "): Debug build; its timings are not representative");
  const std::string status = normalized_status(run_attr(run, "status", "complete"));
  if (status != "complete")
    g.notes.push_back(in.path + " (system " + label + "): run status '" + status +
                      "'; strategies it did not reach are absent");
  // Only measured times can be disturbed by the host; a model file's are computed.
  const std::string w =
      run_attr(run, "backend", "?") == "model" ? std::string() : host_warning(run, in.path);
  if (!w.empty()) warnings_[&g - rep_.groups.data()].push_back(w);
}

// Figures of every strategy of a file, with ratios against the file's reference strategy.
std::vector<Sample> Builder::file_samples(ReportGroup& g, const ReportInput& in,
                                          const std::string& label, double expert_bytes) {
  const RunResult& run = in.run;
  FileContext ctx;
  ctx.simulated = run_attr(run, "backend", "?") == "model";
  ctx.counts_only = ctx.simulated && run_attr(run, "system_model", "") == "none";
  ctx.expert_bytes = expert_bytes;
  std::vector<Sample> out;
  for (const auto& s : run.strategies) {
    Sample smp;
    smp.result = &s;
    smp.path = &in.path;
    smp.figures = compute_figures(s, ctx);
    out.push_back(std::move(smp));
  }
  // The reference of each sweep cell is that cell's ("" = the file without a sweep).
  std::map<std::string, const StrategyFigures*> base;
  for (const auto& smp : out) {
    if (smp.result->name != opt_.baseline) continue;
    reference_seen_ = true;
    if (smp.figures.has_data) base[smp.result->cell] = &smp.figures;
  }
  if (base.empty() && !run.strategies.empty())
    g.notes.push_back(in.path + " (system " + label + "): no measured " + opt_.baseline +
                      "; ratio columns are n/a");
  const StrategyFigures empty;
  for (auto& smp : out) {
    auto it = base.find(smp.result->cell);
    add_baseline_ratios(smp.figures, it != base.end() ? *it->second : empty);
  }
  if (!add_of_oracle(out, opt_.baseline).empty()) oracle_seen_ = true;
  return out;
}

void Builder::add_file(const ReportInput& in) {
  const size_t gi = group_of(in.run);
  ReportGroup& g = rep_.groups[gi];
  Fingerprint fp = config_fingerprint(in.run, in.path);
  const double expert_bytes = expert_bytes_of(fp);
  const size_t ci = column_of(g, in, std::move(fp));
  g.systems[ci].paths.push_back(in.path);
  const std::string label = g.systems[ci].label;
  add_file_notes(g, in, label);
  const auto cell_rows = cell_row_dims(in, g.systems[ci].fingerprint, g);
  for (auto& smp : file_samples(g, in, label, expert_bytes)) {
    const std::string name = row_name(*smp.result, in.run);
    if (std::find(g.strategies.begin(), g.strategies.end(), name) == g.strategies.end())
      g.strategies.push_back(name);
    if (!smp.result->cell.empty()) {
      auto dims = cell_rows.count(smp.result->cell) ? cell_rows.at(smp.result->cell)
                                                     : std::map<std::string, std::string>{};
      dims["strategy"] = smp.result->name;
      g.row_dims[name] = std::move(dims);
    }
    g.num_layers = std::max(g.num_layers, smp.figures.layers);
    samples_[gi][ci][name].push_back(std::move(smp));
  }
}

// Columns that share a label are told apart by the keys in which they differ.
void Builder::title_columns(ReportGroup& g) {
  for (auto& sys : g.systems) {
    std::map<std::string, std::string> keys;  // key -> this column's value
    for (const auto& other : g.systems) {
      if (&other == &sys || other.label != sys.label) continue;
      for (const auto& d : differing_keys(sys.fingerprint, other.fingerprint)) keys[d.key] = d.a;
    }
    if (keys.empty()) continue;
    std::string t;
    size_t shown = 0;
    for (const auto& [k, v] : keys) {
      if (shown++ == 3) {
        t += ", ...";
        break;
      }
      t += (t.empty() ? "" : ", ") + k + "=" + v;
    }
    sys.title = sys.label + " [" + t + "]";
  }
}

// Column groups of different systems should still measure the same experiment.
void Builder::check_like_with_like(ReportGroup& g) {
  for (size_t i = 1; i < g.systems.size(); ++i) {
    const SystemColumn& a = g.systems.front();
    const SystemColumn& b = g.systems[i];
    if (a.label == b.label) continue;  // told apart by title_columns
    std::vector<KeyDiff> exp;
    for (const auto& d : differing_keys(a.fingerprint, b.fingerprint))
      if (key_kind(d.key) == KeyKind::kExperiment) exp.push_back(d);
    if (exp.empty()) continue;
    if (opt_.strict)
      throw InputError("moebench report: " + a.paths.front() + " (system " + a.label + ") and " +
                       b.paths.front() + " (system " + b.label +
                       ") measure different experiments: " + describe_diffs(exp) + " (--strict)");
    g.notes.push_back(b.title + " and " + a.title + " differ in " + describe_diffs(exp) +
                      ": their columns do not compare like with like");
  }
}

void Builder::finish_group(size_t gi) {
  ReportGroup& g = rep_.groups[gi];
  title_columns(g);
  check_like_with_like(g);
  // Bytes scale with the row size: say so when the systems of one table differ in it.
  bool rows_differ = false;
  for (const auto& sys : g.systems)
    rows_differ = rows_differ || sys.dispatch_row_bytes != g.systems.front().dispatch_row_bytes ||
                  sys.act_dtype != g.systems.front().act_dtype;
  if (rows_differ) {
    std::string list;
    for (const auto& sys : g.systems)
      list += (list.empty() ? "" : ", ") + sys.title + " " + sys.act_dtype + " " +
              std::to_string(sys.dispatch_row_bytes) + " B";
    g.notes.push_back("the systems move rows of different sizes (" + list +
                      "); compare their comm volumes through the reduction columns");
  }
  if (!warnings_[gi].empty()) {
    std::string w;
    for (const auto& x : warnings_[gi]) w += (w.empty() ? "" : "; ") + x;
    g.notes.push_back("timings may be noisy: " + w);
  }
  // The reference first; the others keep their order of first appearance.
  std::stable_partition(g.strategies.begin(), g.strategies.end(), [&](const std::string& s) {
    auto it = g.row_dims.find(s);
    return s == g.reference || (it != g.row_dims.end() && it->second.at("strategy") == g.reference);
  });
  for (const auto& name : g.strategies) {
    for (size_t ci = 0; ci < g.systems.size(); ++ci) {
      SystemColumn& sys = g.systems[ci];
      Cell& cell = sys.cells[name];
      auto it = samples_[gi][ci].find(name);
      if (it == samples_[gi][ci].end()) continue;  // stays "absent"
      fill_cell(g, sys, name, it->second, opt_, cell);
    }
  }
}

Report Builder::finish() {
  if (oracle_seen_ && opt_.columns.empty()) rep_.columns.push_back("of_oracle");
  if (!reference_seen_ && opt_.baseline != "baseline")
    throw ConfigError("--baseline " + opt_.baseline + ": no input file has a strategy of that name");
  for (size_t gi = 0; gi < rep_.groups.size(); ++gi) finish_group(gi);
  if (rep_.groups.size() > 1) {
    std::string list;
    for (const auto& g : rep_.groups)
      list += (list.empty() ? "" : ", ") + g.suite + " / " + g.model;
    rep_.notes.push_back("the inputs hold " + std::to_string(rep_.groups.size()) +
                         " different (suite, model) pairs, which are not comparable; each has "
                         "its own table: " +
                         list);
  }
  return std::move(rep_);
}

}  // namespace

Report build_report(const std::vector<ReportInput>& inputs, const ReportOptions& options) {
  for (const auto& in : inputs) {
    const double version = run_num(in.run, "schema_version", -1);
    if (version != kResultsSchemaVersion)
      throw InputError(
          in.path + ": schema_version " + run_attr(in.run, "schema_version", "(missing)") +
          " is not supported (expected " + std::to_string(kResultsSchemaVersion) + ")");
  }
  Builder b(options);
  for (const auto& in : inputs) b.add_file(in);
  return b.finish();
}

}  // namespace moeb::report
