// run_experiment: the one strategy loop of run, simulate and place.
#include "experiment/experiment.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <span>
#include <string_view>
#include <utility>

#include "core/error.hpp"
#include "experiment/measurer.hpp"
#include "experiment/oracle.hpp"
#include "io/results_file.hpp"
#include "io/resume.hpp"
#include "platform/host.hpp"
#include "placement/registry.hpp"
#include "runtime/stop_signal.hpp"

namespace moeb {

void Measurer::abort_all(int code) { std::exit(code); }

bool Measurer::stop_agreed() { return stop_requested(); }

bool Measurer::failed_anywhere(const std::string& error) {
  if (error.empty()) return false;
  std::fprintf(stderr, "moebench: error: %s\n", error.c_str());
  return true;
}

std::string PhaseTimes::describe() const {
  char line[320];
  std::snprintf(line, sizeof line,
                "phases: workload %.2f s, placement %.2f s, measuring %.2f s (%d threads; "
                "thread CPU s: generation %.2f, evaluation %.2f), writing %.2f s",
                workload_s, placement_s, measure_s, threads, generation_thread_s,
                evaluation_thread_s, writing_s);
  return line;
}

std::string StrategyInstance::describe_overrides() const {
  std::string s;
  if (!dispatch.empty()) s += "dispatch=" + dispatch;
  if (dedup >= 0) s += std::string(s.empty() ? "" : ", ") + "dedup=" + (dedup ? "true" : "false");
  return s;
}

ExperimentCell effective_cell(const ExperimentCell& cell, const StrategyInstance& instance) {
  ExperimentCell c = cell;
  c.instances.clear();  // the instance runs in it alone
  if (!instance.dispatch.empty()) {
    c.dispatch = parse_dispatch_mode(instance.dispatch, "variant '" + instance.name + "'");
    c.cfg.dispatch = instance.dispatch;
  }
  if (instance.dedup >= 0) c.cfg.dedup = instance.dedup != 0;
  return c;
}

std::optional<PlacementPlan> place_instance(const Experiment& e, const ExperimentCell& cell,
                                            const StrategyInstance& instance, StrategyResult& res,
                                            std::function<bool()> stop, const PlacedBefore* reuse) {
  const PlacementStrategy& strategy = *instance.strategy;
  const ModelSpec& model = cell.cfg.model;
  res.name = instance.name;
  res.strategy = strategy.name();
  res.run_overrides = instance.describe_overrides();
  res.description = strategy.spec().description;
  res.options = instance.options.describe();
  res.oracle = e.workload->oracle() || instance.fit_on_evaluation;
  if (auto reason = strategy.constraints(model, e.topo, e.slots_per_rank, instance.options)) {
    res.status = StrategyStatus::kSkipped;
    res.skip_reason = *reason;
    return std::nullopt;
  }
  PlacementPlan plan;
  if (reuse) {  // the same input placed in an earlier cell: its plan and its time
    plan = *reuse->plan;
    res.placement_time_s = reuse->placement_time_s;
    plan.notes.emplace_back("placement_reused_from", reuse->from);
  } else {
    const auto t0 = std::chrono::steady_clock::now();
    std::optional<RoutingStats> eval;
    if (instance.fit_on_evaluation) eval = evaluation_stats(e, cell);
    PlacementInput in{model,
                      e.topo,
                      eval ? *eval : e.workload->calibration_stats(),
                      e.slots_per_rank,
                      instance.options,
                      cell.cfg.seed,
                      e.system && strategy.spec().reads_system ? &*e.system : nullptr,
                      std::move(stop)};
    plan = strategy.place(in);
    if (eval) add_oracle_plan_notes(*eval, plan);
    res.placement_time_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  if (auto bad = check_placement(plan.placement, model.num_experts, e.slots_per_rank);
      !bad.empty())
    throw Error("strategy '" + instance.name + "' produced an invalid placement: " + bad);
  const int L = model.num_layers, R = e.topo.num_ranks();
  if (plan.placement.num_layers() < L)
    throw Error("strategy '" + instance.name + "' covers " +
                std::to_string(plan.placement.num_layers()) + " layers, expected " +
                std::to_string(L));
  res.replicas.clear();
  res.slots_used.clear();
  for (int l = 0; l < L; ++l) {
    res.replicas.push_back(plan.placement.layers[l].replicas);
    res.slots_used.push_back(plan.placement.layers[l].slots_used(R));
  }
  res.replica_policy = to_string(plan.policy.kind);
  res.route_transform = plan.transform ? plan.transform->name() : "";
  res.notes = plan.notes;
  return plan;
}

namespace {

// Places and measures one instance; a failed check becomes the status failed with its reason.
void place_and_measure(Experiment& e, const ExperimentCell& cell, const StrategyInstance& inst,
                       Measurer& m, StrategyResult& res) {
  auto plan = place_instance(e, cell, inst, res, [&m] { return m.stop_agreed(); });
  if (!plan) return;
  if (m.share_placement(inst, plan->placement))
    res.notes.emplace_back("placement_from", "rank 0: the ranks' time-capped searches differed");
  try {
    if (inst.dispatch.empty() && inst.dedup < 0)
      m.measure(e, cell, inst, *plan, res);
    else
      m.measure(e, effective_cell(cell, inst), inst, *plan, res);
  } catch (const CheckFailed& err) {
    res.status = StrategyStatus::kFailed;
    res.skip_reason = err.what();
  }
}

// The reference every instance of `cell` is compared with (place: baseline), handed to the
// sinks before the cell's instances.
void send_reference(Experiment& e, const ExperimentCell& cell, Measurer& m,
                    const std::vector<ResultSink*>& sinks, std::optional<StrategyResult>& ref) {
  ref.reset();
  if (e.reference.empty()) return;
  StrategyInstance inst;
  inst.name = e.reference;
  inst.strategy = &find_strategy(e.reference, "reference");
  inst.options = resolve_options(inst.strategy->spec().options, {}, e.reference);
  for (const auto& i : cell.instances)
    if (i.name == e.reference) inst = i;
  ref.emplace();
  place_and_measure(e, cell, inst, m, *ref);
  if (m.root())
    for (auto* s : sinks) s->reference(*ref);
}

// A run's --resume file: rank 0 reads it and checks it belongs to this configuration; every
// rank learns the finished strategies. Returns false (error printed) on a bad file.
bool load_resume(const Experiment& e, const RunResult& prov, Measurer& m,
                 std::vector<StrategyResult>& carried, std::set<std::string>& finished) {
  const std::string& path = e.request.resume;
  if (path.empty()) return true;
  std::string error;
  if (m.root()) {
    try {
      RunResult previous = load_for_resume(path);  // validated first
      check_resume_compatible(previous, prov, path);
      finished = completed_strategies(previous);
      for (auto& p : previous.strategies) {
        mark_carried_over(p, previous, path);
        if (finished.count(result_key(p))) carried.push_back(std::move(p));
      }
    } catch (...) {  // any type: a std::bad_alloc from a hostile file too
      error = current_exception_message();
    }
  }
  if (m.failed_anywhere(error)) return false;
  m.share_from_root(finished);
  return true;
}

// The results key of an instance in a cell: its name, or "<name>@<cell>" (io result_key).
std::string instance_key(const ExperimentCell& cell, const StrategyInstance& inst) {
  return cell.name.empty() ? inst.name : inst.name + "@" + cell.name;
}

std::string describe_instance(const ExperimentCell& cell, const StrategyInstance& inst) {
  return cell.name.empty() ? inst.name : inst.name + "' in cell '" + cell.label();
}

bool all_finished(const ExperimentCell& cell, const std::set<std::string>& finished) {
  for (const auto& inst : cell.instances)
    if (!finished.count(instance_key(cell, inst))) return false;
  return true;
}

// Root attributes that describe the process, not a cell: never repeated in a cell.
bool cell_attr_counts(const std::string& name) {
  return name != "start_time" && name != "load_avg_start" && name != "status" &&
         name != "end_time" && name != "command_line";
}

// The sweep cells of the provenance: axis values, the cell's resolved config and every root
// attribute whose value differs in the cell (topology, slots, system, dispatch, row bytes...).
void add_cells(Experiment& e, Measurer& m, const MeasurementProvenance& mp, RunResult& prov) {
  for (size_t i = 0; i < e.cells.size(); ++i) {
    const ExperimentCell& cell = e.cells[i];
    activate_cell(e, i, false);
    const RunResult p = build_provenance(
        e.request.command_line, cell.cfg, cell.topo, cell.topology_source, cell.slots_per_rank,
        e.workload_provenance.at(cell.workload_key), i == 0 ? mp : m.prepare_cell(e, mp));
    ResultCell rc;
    rc.id = cell.name;
    rc.axes = cell.axes;
    rc.config_toml = p.config_toml;
    for (const auto& [k, v] : p.attrs_str) {
      auto it = prov.attrs_str.find(k);
      if (cell_attr_counts(k) && (it == prov.attrs_str.end() || it->second != v)) rc.attrs_str[k] = v;
    }
    for (const auto& [k, v] : p.attrs_num) {
      auto it = prov.attrs_num.find(k);
      if (cell_attr_counts(k) && (it == prov.attrs_num.end() || it->second != v)) rc.attrs_num[k] = v;
    }
    for (const char* k : {"num_ranks", "slots_per_rank"}) rc.attrs_num[k] = p.attrs_num.at(k);
    prov.cells.push_back(std::move(rc));
  }
  activate_cell(e, 0, false);
  m.prepare_cell(e, mp);
}

// The file's provenance: the first cell's, with the sweep in its config_toml and the cells.
RunResult experiment_provenance(Experiment& e, Measurer& m, const MeasurementProvenance& mp) {
  RunConfig root = e.cells.front().cfg;
  root.sweep = e.sweep;
  if (!e.sweep.empty() && e.request.system_label.empty()) {
    std::string labels;  // a system axis: every cell's label
    std::set<std::string> seen;
    for (const auto& c : e.cells)
      if (seen.insert(c.cfg.system).second) labels += (labels.empty() ? "" : "+") + c.cfg.system;
    root.system = labels;
  }
  activate_cell(e, 0);
  const ExperimentCell& first = e.cells.front();
  RunResult prov = build_provenance(e.request.command_line, root, first.topo,
                                    first.topology_source, first.slots_per_rank,
                                    e.workload->provenance(), mp);
  if (!e.sweep.empty()) add_cells(e, m, mp, prov);
  return prov;
}

// This process's error (call in a catch block): its exit code, ':', and one line naming the
// process and the error.
std::string describe_error(const Measurer& m, const std::string& instance) {
  int code = kExitFailed;
  try {
    throw;
  } catch (const ConfigError&) {
    code = kExitBadInput;
  } catch (const InputError&) {
    code = kExitBadInput;
  } catch (...) {
  }
  return std::to_string(code) + ":" + m.where() +
         (instance.empty() ? "" : "strategy '" + instance + "': ") + current_exception_message();
}

// Agrees on the processes' errors at a strategy boundary (`error` = describe_error or "").
// None: nullopt. Otherwise the root prints the first failing process's line and marks the
// sinks failed; the outcome is that process's exit code. A process the others cannot hear
// (they are blocked in a collective) prints its line, marks the sinks (root) and aborts all.
std::optional<ExperimentOutcome> end_on_error(Measurer& m, const std::string& error,
                                              const std::vector<ResultSink*>& out) {
  const Measurer::Failure f = m.agree_on_failure(error);
  if (!f) return std::nullopt;
  const size_t colon = f.message.find(':');
  const int code = std::atoi(f.message.substr(0, colon).c_str());
  const std::string line = f.message.substr(colon + 1);
  auto mark_failed = [&](const std::string& why) {
    for (auto* s : out) try {
        s->fail(why);
      } catch (...) {  // a full disk already named in `line`: one message
      }
  };
  if (f.unanswered) {
    std::fprintf(stderr,
                 "moebench: error: %s; the other ranks are blocked in a collective: aborting "
                 "all ranks (exit %d)\n",
                 line.c_str(), kExitAborted);
    mark_failed(line + " (all ranks aborted)");
    m.abort_all(kExitAborted);
  }
  if (m.root()) {
    std::fprintf(stderr, "moebench: error: %s\n", line.c_str());
    mark_failed(line);
  }
  return ExperimentOutcome{RunStatus::kFailed, code, ""};
}

// After an instance: the processes agree on `error` (describe_error or ""), the root writes
// `res`, and they agree on the write's error. Agreed twice: a strategy is written only when
// every rank measured it, and the root's write (a full disk) ends the run as any other error.
std::optional<ExperimentOutcome> write_agreed(Measurer& m, const std::vector<ResultSink*>& out,
                                              const StrategyResult& res, std::string error,
                                              const std::string& instance) {
  if (auto failed = end_on_error(m, error, out)) return failed;
  try {
    for (auto* s : out) s->write_strategy(res);
  } catch (...) {
    if (!m.collective()) throw;
    error = describe_error(m, instance);
  }
  return end_on_error(m, error, out);
}

// A stop request ends the run where it is: `res`, the stopped instance with what it measured,
// is written as interrupted (a stopped reference, none, is not written) and every sink finishes
// the run as interrupted; `describe` names what was stopped.
ExperimentOutcome stop_run(Experiment& e, const std::vector<ResultSink*>& out,
                           const ExperimentCell& cell, StrategyResult* res,
                           const std::string& describe) {
  if (e.progress) e.progress->clear();
  if (res) {
    res->status = StrategyStatus::kInterrupted;
    res->cell = cell.name;
    for (auto* s : out) s->write_strategy(*res);
  }
  for (auto* s : out) s->finish(RunStatus::kInterrupted);
  return {RunStatus::kInterrupted, kExitInterrupted, describe};
}

// A cell's workload, iterations and sweep axes but those in `skip`: cells with equal keys
// differ only by the skipped axes.
std::string cell_key_without(const ExperimentCell& c,
                             std::initializer_list<std::string_view> skip) {
  std::string k = c.workload_key + "\n" + std::to_string(c.cfg.iterations);
  for (const auto& [axis, value] : c.axes)
    if (std::find(skip.begin(), skip.end(), axis) == skip.end()) k += "\n" + axis + "=" + value;
  return k;
}
std::string places_alike_key(const ExperimentCell& c) {
  return cell_key_without(c, {"system", "dispatch", "dedup"});
}
std::string counts_alike_key(const ExperimentCell& c) { return cell_key_without(c, {"system"}); }

// The order simulate measures a sweep's cells in (their names and numbers stay the sweep's):
// each cell, then the later cells that place as it does, those that also count as it does first.
// A cell places as another when they differ only by system, dispatch or dedup (the strategies
// do not see them; placement_key), and counts as it when they differ only by system
// (find_leaders in the model measurer). Without such cells this is the sweep's order. So the
// cells of a system sweep are neighbours, and fall in the same pass (together_group_end): each
// strategy is placed and counted once for all the systems, instead of once per system whenever
// the system is not the sweep's last axis.
std::vector<size_t> together_order(const Experiment& e) {
  const size_t n = e.cells.size();
  // Each cell's rank: the first cell with its placing key, then the first with its counting key.
  std::map<std::string, size_t> first_places, first_counts;
  std::vector<std::pair<size_t, size_t>> rank(n);
  for (size_t ci = 0; ci < n; ++ci)
    rank[ci] = {first_places.try_emplace(places_alike_key(e.cells[ci]), ci).first->second,
                first_counts.try_emplace(counts_alike_key(e.cells[ci]), ci).first->second};
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return rank[a] < rank[b]; });
  return order;
}

// Cells measured in one pass: from position `first` of `order`, the following cells that share
// its workload (the same evaluation batches, so each batch layer is drawn once for all of them)
// while their unfinished instances' measurements fit in kTogetherBytes (the first cell always).
// Returns the end position of the group.
constexpr size_t kTogetherBytes = size_t{2} << 30;
size_t together_group_end(const Experiment& e, const Measurer& m, std::span<const size_t> order,
                          size_t first, const std::set<std::string>& finished) {
  const ExperimentCell& head = e.cells[order[first]];
  size_t bytes = 0, end = first;
  std::set<std::string> counted;  // counts_alike_key of the group's cells so far
  for (; end < order.size(); ++end) {
    const ExperimentCell& c = e.cells[order[end]];
    if (c.workload_key != head.workload_key || c.cfg.iterations != head.cfg.iterations) break;
    size_t todo = 0;
    for (const auto& inst : c.instances) todo += finished.count(instance_key(c, inst)) ? 0 : 1;
    bytes += todo * m.measurement_bytes(c, !counted.insert(counts_alike_key(c)).second);
    if (end > first && bytes > kTogetherBytes) break;
  }
  return end;
}

// What an instance's placement depends on (PlacementInput): its strategy and options, the
// calibration statistics (the workload's, or the evaluation part's for an oracle instance),
// topology, slots and seed; the system only for a strategy that reads it (then never shared
// between cells). Not its name, dispatch or dedup: the strategy does not see them.
std::string placement_key(const Experiment& e, size_t ci, const StrategyInstance& inst) {
  const ExperimentCell& cell = e.cells[ci];
  std::string k = inst.strategy->name() + "\n" + inst.options.describe() + "\n" +
                  (inst.fit_on_evaluation ? "evaluation" : "calibration") + "\n" +
                  cell.workload_key + "\n" + std::to_string(cell.slots_per_rank) + "\n" +
                  std::to_string(cell.cfg.seed) + "\n";
  for (int node : cell.topo.node_of_rank()) k += std::to_string(node) + ",";
  if (inst.strategy->spec().reads_system) k += "\ncell " + std::to_string(ci);
  return k;
}

void print_cell_header(const Experiment& e, size_t ci, const Measurer& m) {
  const ExperimentCell& cell = e.cells[ci];
  if (!cell.axes.empty() && m.root() && e.request.progress != ProgressRequest::kQuiet)
    std::printf("cell %zu/%zu (%s): %s\n", ci + 1, e.cells.size(), cell.name.c_str(),
                cell.label().c_str());
}

// The plans placed so far in a run, by placement_key: a later instance with the same input (in
// this pass or a later one) takes the plan and its time instead of placing again.
struct PlacedPlan {
  PlacementPlan plan;
  double placement_time_s = 0;
  std::string from;  // "strategy@cell"
};
using PlacedPlans = std::map<std::string, PlacedPlan>;

// An instance of a pass over several cells (run_cells_together): its cell and itself.
struct TogetherItem {
  size_t cell;
  const StrategyInstance* inst;
};

// The results of a pass, written in order (run_cells_together). A job whose rows matrix is an
// earlier one's (Job::rows_from) gets a copy when it is written; the file links it to the
// earlier dataset (rows_matrix_link). A source keeps its rows until the pass is written; then
// the pass's freed pages go back to the system, else the next pass's (placed around plans
// allocated meanwhile) would add to them.
void write_together(const Experiment& e, const std::vector<TogetherItem>& items,
                    std::vector<StrategyResult>& results, const std::vector<Measurer::Job>& jobs,
                    const Measurer& m, const std::vector<ResultSink*>& out,
                    OracleNotes& of_oracle, ExperimentOutcome& outcome) {
  std::vector<const StrategyResult*> rows_from(items.size(), nullptr);
  std::vector<char> rows_source(items.size(), 0);
  for (const auto& job : jobs)
    if (job.rows_from) {
      rows_from[static_cast<size_t>(job.res - results.data())] = job.rows_from;
      rows_source[static_cast<size_t>(job.rows_from - results.data())] = 1;
    }
  for (size_t j = 0; j < items.size(); ++j) {
    if (j == 0 || items[j].cell != items[j - 1].cell) print_cell_header(e, items[j].cell, m);
    results[j].cell = e.cells[items[j].cell].name;
    if (rows_from[j]) {
      results[j].rows_matrix = rows_from[j]->rows_matrix;
      results[j].rows_matrix_link = result_key(*rows_from[j]);
    }
    of_oracle.observe(results[j]);
    for (auto* s : out) s->write_strategy(results[j]);
    if (results[j].status == StrategyStatus::kFailed)
      outcome = {RunStatus::kFailed, kExitFailed, ""};
    results[j].counts.clear();  // written: its memory goes back before the next cell's
    results[j].times.clear();
    if (!rows_source[j]) std::vector<std::vector<int64_t>>().swap(results[j].rows_matrix);
  }
  for (auto& r : results) std::vector<std::vector<int64_t>>().swap(r.rows_matrix);
  release_free_memory();
}

// The cells whose instances the measurer measures together (simulate): every instance of every
// cell placed first (each in its cell), then one measuring pass (each batch layer drawn once for
// all), then each cell's instances written in order. A stop request while placing writes the
// instance being placed as interrupted; while measuring, the first measured one (with what it
// measured). Returns the outcome when the run ends here.
std::optional<ExperimentOutcome> run_cells_together(Experiment& e, std::span<const size_t> cells,
                                                    Measurer& m,
                                                    const std::vector<ResultSink*>& out,
                                                    const std::set<std::string>& finished,
                                                    PlacedPlans& placed, OracleNotes& of_oracle,
                                                    int& index, int todo,
                                                    ExperimentOutcome& outcome) {
  using Clock = std::chrono::steady_clock;
  std::vector<TogetherItem> items;
  for (const size_t ci : cells)
    for (const auto& inst : e.cells[ci].instances)
      if (!finished.count(instance_key(e.cells[ci], inst))) items.push_back({ci, &inst});
  std::vector<StrategyResult> results(items.size());
  std::vector<std::optional<PlacementPlan>> plans(items.size());
  std::vector<Measurer::Job> jobs;
  auto t0 = Clock::now();
  for (size_t j = 0; j < items.size(); ++j) {
    const ExperimentCell& cell = e.cells[items[j].cell];
    if (e.active_cell != items[j].cell) activate_cell(e, items[j].cell);  // same workload
    if (e.progress) e.progress->strategy(items[j].inst->name, ++index, todo);
    const std::string key = placement_key(e, items[j].cell, *items[j].inst);
    const auto same = placed.find(key);
    std::optional<PlacedBefore> before;
    if (same != placed.end())
      before = PlacedBefore{&same->second.plan, same->second.placement_time_s, same->second.from};
    try {
      plans[j] = place_instance(e, cell, *items[j].inst, results[j],
                                [&m] { return m.stop_agreed(); }, before ? &*before : nullptr);
    } catch (const Interrupted&) {
      return stop_run(e, out, cell, &results[j], describe_instance(cell, *items[j].inst));
    }
    if (plans[j] && same == placed.end())
      placed.emplace(key, PlacedPlan{*plans[j], results[j].placement_time_s,
                                     items[j].inst->name + (cell.name.empty() ? "" : "@" + cell.name)});
    if (plans[j]) jobs.push_back({effective_cell(cell, *items[j].inst), &*plans[j], &results[j]});
  }
  if (e.phases) e.phases->placement_s += std::chrono::duration<double>(Clock::now() - t0).count();
  if (e.progress) e.progress->strategy("all", index, todo);  // "[8/8] all: iteration 2/8"
  try {
    m.measure_together(e, jobs);
  } catch (const Interrupted&) {
    for (size_t j = 0; j < items.size(); ++j)
      if (plans[j]) {
        const ExperimentCell& cell = e.cells[items[j].cell];
        return stop_run(e, out, cell, &results[j], describe_instance(cell, *items[j].inst));
      }
  }
  if (e.progress) e.progress->clear();
  t0 = Clock::now();
  write_together(e, items, results, jobs, m, out, of_oracle, outcome);
  if (e.phases) e.phases->writing_s += std::chrono::duration<double>(Clock::now() - t0).count();
  return std::nullopt;
}

}  // namespace

ExperimentOutcome run_experiment(Experiment& e, Measurer& m, const MeasurementProvenance& mp,
                                 const std::vector<ResultSink*>& sinks) {
  const RunResult prov = experiment_provenance(e, m, mp);
  std::vector<StrategyResult> carried;
  std::set<std::string> finished;
  if (!load_resume(e, prov, m, carried, finished)) return {RunStatus::kFailed, 2, ""};
  const std::vector<ResultSink*> out = m.root() ? sinks : std::vector<ResultSink*>{};
  std::string error;
  try {
    for (auto* s : out) s->begin_resumed(prov, carried);  // begin() when nothing is carried
  } catch (...) {
    if (!m.collective()) throw;
    error = describe_error(m, "");
  }
  if (auto failed = end_on_error(m, error, out)) return *failed;
  std::optional<StrategyResult> ref;
  OracleNotes of_oracle;
  for (auto& p : carried) of_oracle.observe(p);
  ExperimentOutcome outcome;
  int todo = 0, index = 0;  // progress: instances still to run, the current one
  for (const auto& cell : e.cells)
    for (const auto& inst : cell.instances) todo += finished.count(instance_key(cell, inst)) ? 0 : 1;
  const bool together = m.measures_together(e) && e.reference.empty();
  std::vector<size_t> order(e.cells.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (together) order = together_order(e);
  PlacedPlans placed;
  for (size_t p = 0; p < order.size(); ++p) {
    const size_t ci = order[p];
    const ExperimentCell& cell = e.cells[ci];
    if (!cell.axes.empty() && all_finished(cell, finished)) continue;  // resume: in the file
    if (together) {
      const size_t end = together_group_end(e, m, order, p, finished);
      if (auto stop = run_cells_together(e, std::span<const size_t>(order).subspan(p, end - p),
                                         m, out, finished, placed, of_oracle, index, todo,
                                         outcome))
        return *stop;
      p = end - 1;
      continue;
    }
    if (!cell.axes.empty()) {
      activate_cell(e, ci);
      print_cell_header(e, ci, m);
    }
    try {
      send_reference(e, cell, m, out, ref);
    } catch (const Interrupted&) {
      return stop_run(e, out, cell, nullptr,
                      cell.name.empty() ? e.reference : e.reference + "' in cell '" + cell.label());
    }
    for (const auto& inst : cell.instances) {
      if (finished.count(instance_key(cell, inst))) continue;
      if (e.progress) e.progress->strategy(inst.name, ++index, todo);
      StrategyResult res;
      try {
        if (ref && inst.name == ref->name)
          res = *ref;
        else
          place_and_measure(e, cell, inst, m, res);
      } catch (const Interrupted&) {
        return stop_run(e, out, cell, &res, describe_instance(cell, inst));
      } catch (...) {
        if (!m.collective()) throw;
        error = describe_error(m, describe_instance(cell, inst));
      }
      res.cell = cell.name;
      if (e.progress) e.progress->clear();
      if (error.empty() && m.root()) of_oracle.observe(res);
      if (auto failed = write_agreed(m, out, res, error, describe_instance(cell, inst)))
        return *failed;
      if (res.status == StrategyStatus::kFailed) outcome = {RunStatus::kFailed, kExitFailed, ""};
    }
  }
  for (auto* s : out) s->finish(outcome.status);
  return outcome;
}

}  // namespace moeb
