// run_experiment: the one strategy loop of run, simulate and place.
#include "experiment/experiment.hpp"

#include <chrono>
#include <cstdio>

#include "core/error.hpp"
#include "experiment/measurer.hpp"
#include "io/results_file.hpp"
#include "io/resume.hpp"
#include "placement/registry.hpp"

namespace moeb {

bool Measurer::failed_anywhere(const std::string& error) {
  if (error.empty()) return false;
  std::fprintf(stderr, "moebench: error: %s\n", error.c_str());
  return true;
}

std::string StrategyInstance::describe_overrides() const {
  std::string s;
  if (!dispatch.empty()) s += "dispatch=" + dispatch;
  if (dedup >= 0) s += std::string(s.empty() ? "" : ", ") + "dedup=" + (dedup ? "true" : "false");
  return s;
}

ExperimentCell effective_cell(const ExperimentCell& cell, const StrategyInstance& instance) {
  ExperimentCell c;
  c.name = cell.name;
  c.cfg = cell.cfg;
  c.dispatch = cell.dispatch;
  c.backend = cell.backend;
  if (!instance.dispatch.empty()) {
    c.dispatch = parse_dispatch_mode(instance.dispatch, "variant '" + instance.name + "'");
    c.cfg.dispatch = instance.dispatch;
  }
  if (instance.dedup >= 0) c.cfg.dedup = instance.dedup != 0;
  return c;
}

std::optional<PlacementPlan> place_instance(const Experiment& e, const ExperimentCell& cell,
                                            const StrategyInstance& instance,
                                            StrategyResult& res) {
  const PlacementStrategy& strategy = *instance.strategy;
  const ModelSpec& model = cell.cfg.model;
  res.name = instance.name;
  res.strategy = strategy.name();
  res.run_overrides = instance.describe_overrides();
  res.description = strategy.spec().description;
  res.options = instance.options.describe();
  res.oracle = e.workload->oracle();
  if (auto reason = strategy.constraints(model, e.topo, e.slots_per_rank, instance.options)) {
    res.status = StrategyStatus::kSkipped;
    res.skip_reason = *reason;
    return std::nullopt;
  }
  const auto t0 = std::chrono::steady_clock::now();
  PlacementInput in{model,         e.topo,           e.workload->calibration_stats(),
                    e.slots_per_rank, instance.options, cell.cfg.seed};
  PlacementPlan plan = strategy.place(in);
  res.placement_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
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
  auto plan = place_instance(e, cell, inst, res);
  if (!plan) return;
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

// The reference every instance is compared with (place: baseline), handed to the sinks first.
void send_reference(Experiment& e, Measurer& m, const std::vector<ResultSink*>& sinks,
                    std::optional<StrategyResult>& ref) {
  if (e.reference.empty()) return;
  const ExperimentCell& cell = e.cells.front();
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
        if (finished.count(p.name)) carried.push_back(std::move(p));
      }
    } catch (const Error& err) {
      error = err.what();
    }
  }
  if (m.failed_anywhere(error)) return false;
  m.share_from_root(finished);
  return true;
}

}  // namespace

ExperimentOutcome run_experiment(Experiment& e, Measurer& m, const MeasurementProvenance& mp,
                                 const std::vector<ResultSink*>& sinks) {
  const ExperimentCell& first = e.cells.front();
  const RunResult prov =
      build_provenance(e.request.command_line, first.cfg, e.topo, e.topology_source,
                       e.slots_per_rank, e.workload->provenance(), mp);
  std::vector<StrategyResult> carried;
  std::set<std::string> finished;
  if (!load_resume(e, prov, m, carried, finished)) return {RunStatus::kFailed, 2, ""};
  const std::vector<ResultSink*> out = m.root() ? sinks : std::vector<ResultSink*>{};
  for (auto* s : out) {
    s->begin(prov);
    for (const auto& p : carried) s->write_strategy(p);
  }
  std::optional<StrategyResult> ref;
  send_reference(e, m, out, ref);
  ExperimentOutcome outcome;
  int todo = 0, index = 0, cell_index = 0;
  for (const auto& cell : e.cells)
    for (const auto& inst : cell.instances) todo += finished.count(inst.name) ? 0 : 1;
  for (const auto& cell : e.cells) {
    ++cell_index;
    if (e.progress && !cell.name.empty())
      e.progress->cell(cell.name, cell_index, static_cast<int>(e.cells.size()));
    for (const auto& inst : cell.instances) {
      if (finished.count(inst.name)) continue;
      if (e.progress) e.progress->strategy(inst.name, ++index, todo);
      StrategyResult res;
      try {
        if (ref && inst.name == ref->name)
          res = *ref;
        else
          place_and_measure(e, cell, inst, m, res);
      } catch (const Interrupted&) {
        if (e.progress) e.progress->clear();
        res.status = StrategyStatus::kInterrupted;
        for (auto* s : out) s->write_strategy(res);
        for (auto* s : out) s->finish(RunStatus::kInterrupted);
        return {RunStatus::kInterrupted, 3, inst.name};
      }
      if (res.status == StrategyStatus::kFailed) outcome = {RunStatus::kFailed, 1, ""};
      if (e.progress) e.progress->clear();
      for (auto* s : out) s->write_strategy(res);
    }
  }
  for (auto* s : out) s->finish(outcome.status);
  return outcome;
}

}  // namespace moeb
