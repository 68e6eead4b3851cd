#include "experiment/oracle.hpp"

#include <algorithm>
#include <cstdio>

#include "core/error.hpp"
#include "core/objective.hpp"
#include "core/oracle_figure.hpp"
#include "placement/registry.hpp"

namespace moeb {

namespace {

constexpr const char* kReference = "baseline";

StrategyInstance instance_of(const RunConfig& cfg, const std::string& name,
                             std::map<std::string, OptionValue> given, const std::string& where) {
  StrategyInstance inst;
  inst.name = name;
  inst.strategy = &find_strategy(name == kOracleInstance ? "optimal" : name, where);
  inst.options = resolve_options(inst.strategy->spec().options, given, where);
  (void)cfg;
  return inst;
}

std::map<std::string, OptionValue> table_of(const RunConfig& cfg, const std::string& strategy) {
  auto it = cfg.strategy_option_tables.find(strategy);
  return it == cfg.strategy_option_tables.end() ? std::map<std::string, OptionValue>{} : it->second;
}

}  // namespace

void add_oracle_instance(const RunConfig& cfg, bool has_system, ExperimentCell& cell) {
  if (!cfg.oracle) return;
  const std::string where = cfg.suite_path + ": [oracle]";
  auto& list = cell.instances;
  for (const auto& i : list)
    if (i.name == kOracleInstance)
      throw ConfigError(where + ": an instance is already named 'oracle' (rename the variant)");
  std::string objective = cfg.oracle_objective;
  if (objective == "auto") objective = has_system ? "layer_time" : "inter_node_bytes";
  parse_objective(objective, where + " key 'objective'");
  if (objective == "layer_time" && !has_system)
    throw ConfigError(where +
                      " key 'objective': layer_time needs a system model ([system] "
                      "model or --system)");
  auto base = std::find_if(list.begin(), list.end(),
                           [](const StrategyInstance& i) { return i.name == kReference; });
  if (base == list.end())
    base = list.insert(list.begin(), instance_of(cfg, kReference, table_of(cfg, kReference),
                                                 cfg.suite_path + ": [strategy.baseline]"));
  auto given = table_of(cfg, "optimal");
  given["objective"] = objective;
  given.emplace("max_tokens", int64_t{0});
  StrategyInstance oracle = instance_of(cfg, kOracleInstance, given, where);
  oracle.fit_on_evaluation = true;
  list.insert(base + 1, std::move(oracle));
}

RoutingStats evaluation_stats(const Experiment& e, const ExperimentCell& cell) {
  const RoutingStats& cal = e.workload->calibration_stats();
  RoutingStats stats(cell.cfg.model.num_layers, cell.cfg.model.num_experts, cal.family_names());
  const int64_t n = std::min<int64_t>(std::max(cell.cfg.iterations, 1), e.batches->num_batches());
  for (int64_t b = 0; b < n; ++b) stats.add_batch(e.batches->get(b));
  return stats;
}

void add_oracle_plan_notes(const RoutingStats& evaluation, PlacementPlan& plan) {
  std::string objective;
  for (const auto& [k, v] : plan.notes)
    if (k == "objective") objective = v;
  if (objective.empty()) throw Error("oracle: the optimizer did not name its objective");
  plan.notes.emplace_back("fitted_on", "evaluation");
  plan.notes.emplace_back("fitted_on_tokens", std::to_string(evaluation.tokens()));
  plan.notes.emplace_back(kOracleObjectiveNote, objective);
}

void OracleNotes::observe(StrategyResult& res) {
  CellState& c = cells_[res.cell];
  if (res.name == kReference) {
    auto& values = c.base.emplace();
    for (const ObjectiveKind k : objective_kinds())
      values[to_string(k)] = measured_objective(res, to_string(k));
  }
  if (const std::string obj = oracle_objective_of(res); !obj.empty()) {
    c.objective = obj;
    c.oracle_value = measured_objective(res, obj);
  }
  if (!c.base || c.objective.empty() || res.status != StrategyStatus::kComplete) return;
  const auto at = c.base->find(c.objective);
  const std::optional<double> b = at == c.base->end() ? std::nullopt : at->second;
  const auto v = measured_objective(res, c.objective);
  std::optional<double> pct;
  if (b && v && c.oracle_value) pct = of_oracle_pct(*b, *v, *c.oracle_value);
  char buf[32] = "n/a";
  if (pct) std::snprintf(buf, sizeof buf, "%.1f", *pct);
  res.notes.emplace_back(kOfOracleNote, buf);
}

}  // namespace moeb
