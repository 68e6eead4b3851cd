// resolve_experiment: the one setup of run, simulate and place.
#include <chrono>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <sstream>

#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "core/objective.hpp"
#include "experiment/experiment.hpp"
#include "experiment/oracle.hpp"
#include "io/output_name.hpp"
#include "io/config_loader.hpp"
#include "io/provenance.hpp"
#include "io/sweep.hpp"
#include "io/system_file.hpp"
#include "placement/registry.hpp"

namespace moeb {

const char* to_string(ExperimentMode m) {
  switch (m) {
    case ExperimentMode::kRun: return "run";
    case ExperimentMode::kSimulate: return "simulate";
    case ExperimentMode::kPlace: return "place";
  }
  return "?";
}

namespace {

// Evaluation batches kept in memory for all instances: simulate and place replay them per
// strategy on one process; a run holds them on every rank.
constexpr size_t kModelBatchBytes = size_t{2} << 30;
constexpr size_t kRunBatchBytes = size_t{256} << 20;

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// Replaces cfg.strategies by `list` ("all" = every registered strategy, then every variant of
// the suite), each strategy with the options of the suite's [strategy.<name>] table if it has
// one; a variant name keeps its [variant.<name>] table.
void select_strategies(RunConfig& cfg, const std::string& list, const std::string& where) {
  std::vector<std::string> names = split_list(list);
  if (names.size() == 1 && names[0] == "all") {
    names = strategy_names();
    for (const auto& v : cfg.variants) names.push_back(v.name);
  }
  cfg.strategies.clear();
  for (const auto& n : names) {
    const bool variant = std::any_of(cfg.variants.begin(), cfg.variants.end(),
                                     [&](const VariantConfig& v) { return v.name == n; });
    if (!variant) find_strategy(n, where);
    StrategyConfig sc{n, {}};
    auto it = cfg.strategy_option_tables.find(n);
    if (!variant && it != cfg.strategy_option_tables.end()) sc.options = it->second;
    cfg.strategies.push_back(sc);
  }
}

// The label of a run whose suite gives none: where it runs, never a fixed word.
std::string default_system_label() {
  const char* cluster = std::getenv("SLURM_CLUSTER_NAME");
  if (cluster && *cluster) return cluster;
  const std::string host = local_hostname();
  return host.empty() ? "unknown-host" : host;
}

// Overrides every mode shares, then the mode's own; each lands in the resolved config.
void apply_overrides(RunConfig& cfg, const ExperimentRequest& r) {
  if (!r.model.empty()) {
    cfg.model = model_preset(r.model);
    cfg.model_preset = cfg.model.name;
  }
  if (r.layers > 0) cfg.model.num_layers = r.layers;
  if (!r.dispatch.empty()) cfg.dispatch = to_string(parse_dispatch_mode(r.dispatch, "--dispatch"));
  if (!r.backend.empty()) cfg.backend = to_string(parse_backend(r.backend, "--backend"));
  if (!r.system_model.empty() && r.mode == ExperimentMode::kRun) cfg.system_file = r.system_model;
  if (!r.system_label.empty() && r.mode == ExperimentMode::kRun) cfg.system = r.system_label;
  if (r.nodes > 0) {
    cfg.nodes = r.nodes;
    cfg.ranks_per_node = 0;
  }
  if (!r.trace.empty()) {
    cfg.workload.kind = "trace";
    cfg.workload.traces = {r.trace};
    cfg.workload.trace_weights.clear();
  }
  if (r.batch_tokens > 0) {
    cfg.workload.batch_tokens = r.batch_tokens;
    // Enough tokens for the calibration part and every simulated batch.
    const double eval_share = 1.0 - cfg.workload.calibration_fraction;
    const auto need = static_cast<int64_t>(static_cast<double>(r.batch_tokens) *
                                           std::max(r.iterations, 1) /
                                           std::max(eval_share, 0.05) * 1.1);
    if (cfg.workload.kind == "synthetic") cfg.workload.tokens = std::max(cfg.workload.tokens, need);
  }
  if (!r.slots.empty()) apply_budget_text(cfg, r.slots, "--slots");
  if (r.dedup >= 0) cfg.dedup = r.dedup != 0;
  if (r.oracle >= 0) cfg.oracle = r.oracle != 0;
  if (!r.oracle_objective.empty()) {  // naming an objective asks for the oracle
    if (r.oracle_objective != "auto") parse_objective(r.oracle_objective, "--oracle-objective");
    cfg.oracle_objective = r.oracle_objective;
    cfg.oracle = true;
  }
  if (!r.strategies.empty()) select_strategies(cfg, r.strategies, r.strategies_option);
  if (r.mode == ExperimentMode::kRun) {
    if (r.iterations > 0) cfg.iterations = r.iterations;
    if (r.warmup >= 0) cfg.warmup = r.warmup;
  } else {
    // Model-only: iterations are the evaluation batches modeled, without warm-up.
    cfg.iterations = std::max(r.iterations, 1);
    cfg.warmup = 0;
  }
}

// Simulate and place model a topology: the option's, else the suite's.
Topology model_topology(RunConfig& cfg, const ExperimentRequest& r, std::string& source) {
  Topology topo;
  if (!r.topology.empty()) {
    topo = parse_topology(r.topology, "--topology");
    source = "option";
  } else if (cfg.nodes > 0 && cfg.ranks_per_node > 0) {
    topo = Topology::uniform(cfg.nodes, cfg.ranks_per_node);
    source = "suite";
  } else {
    throw ConfigError(r.suite + ": key 'topology': " + to_string(r.mode) +
                      " needs nodes and ranks_per_node, or --topology NxG");
  }
  cfg.nodes = topo.num_nodes();
  cfg.ranks_per_node = topo.ranks_per_node();
  return topo;
}

// The cost model's system: a run predicts with the suite's (or --system-model), simulate needs
// one, place uses one when given.
std::optional<SystemModel> resolve_system(RunConfig& cfg, const ExperimentRequest& r) {
  if (r.mode == ExperimentMode::kRun) {
    if (cfg.system_file.empty()) return std::nullopt;
    return find_system(cfg.system_file);
  }
  const std::string name = !r.system_model.empty() ? r.system_model : cfg.system_file;
  if (r.mode == ExperimentMode::kPlace && name == "none") {  // place --system none: counts only
    cfg.system_file.clear();
    return std::nullopt;
  }
  if (name.empty()) {
    if (r.mode == ExperimentMode::kPlace) return std::nullopt;
    std::string known;
    for (const auto& n : system_preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("simulate: no system model (give --system FILE or a preset: " + known + ")");
  }
  SystemModel sys = find_system(name);
  cfg.system_file = name;
  if (r.mode == ExperimentMode::kSimulate)
    cfg.system = !r.system_label.empty() ? r.system_label : sys.name;
  return sys;
}

// Slots per rank on this topology: absolute (slots_per_rank, expert_memory_gib) or relative
// (spare_slots_per_rank, replicas_per_layer: rescaled with the ranks), default ceil(E / R).
int resolve_slots(const RunConfig& cfg, const Topology& topo) {
  const ModelSpec& m = cfg.model;
  const int R = topo.num_ranks();
  const int base = (m.num_experts + R - 1) / R;
  int slots = 0;
  if (cfg.spare_slots_per_rank > 0)
    slots = base + cfg.spare_slots_per_rank;
  else if (cfg.replicas_per_layer > 0)
    slots = static_cast<int>((static_cast<long long>(m.num_experts) + cfg.replicas_per_layer +
                              R - 1) / R);
  else
    slots = resolve_slots_per_rank(m, R, cfg.slots_per_rank, cfg.expert_memory_gib,
                                   cfg.expert_dtype, cfg.suite_path + ": key 'placement'");
  if (static_cast<long long>(slots) * R < m.num_experts)
    throw ConfigError(cfg.suite_path + ": key 'placement.slots_per_rank': " +
                      std::to_string(slots) + " slots x " + std::to_string(R) +
                      " ranks cannot hold " + std::to_string(m.num_experts) +
                      " experts (expected at least " + std::to_string(base) +
                      " slots per rank; placement.spare_slots_per_rank or --slots +N scale with "
                      "the topology)");
  return slots;
}

// One line on stderr when the strategies cannot differ much: no slot for a replica, or fewer
// routed token copies per rank than experts (most experts see no token of a rank's batch).
void warn_indistinguishable(const RunConfig& cfg, const Topology& topo, int slots,
                            const std::string& cell) {
  const ModelSpec& m = cfg.model;
  const int R = topo.num_ranks();
  const double copies_per_rank = static_cast<double>(cfg.workload.batch_tokens) * m.top_k / R;
  std::string why;
  if (static_cast<long long>(slots) * R == m.num_experts)
    why = "no spare expert slots (" + std::to_string(slots) + " per rank x " + std::to_string(R) +
          " ranks = " + std::to_string(m.num_experts) + " experts), so no strategy can replicate";
  else if (copies_per_rank < m.num_experts)
    why = "fewer than one token per expert per rank (" + std::to_string(cfg.workload.batch_tokens) +
          " tokens x top-" + std::to_string(m.top_k) + " / " + std::to_string(R) + " ranks < " +
          std::to_string(m.num_experts) + " experts)";
  if (!why.empty())
    std::fprintf(stderr, "moebench: warning: %s%s: strategies may be indistinguishable: %s\n",
                 cfg.suite_path.c_str(), cell.empty() ? "" : (" [" + cell + "]").c_str(),
                 why.c_str());
}

// -o is refused when the file exists, unless --force or it is the file resumed: a results file
// is never overwritten without --force (issue 15). Checked before anything slow is loaded.
void check_explicit_output(const ExperimentRequest& r) {
  if (r.output.empty()) return;
  check_output_free(r.output, r.force, r.resume,
                    r.mode == ExperimentMode::kRun ? ", or --resume " + r.output + " to complete it"
                                                   : "");
}

// -o as given, the resumed file, or a default name with a numeric suffix when taken.
std::string default_output(const Experiment& e) {
  const ExperimentRequest& r = e.request;
  if (!r.output.empty()) return r.output;  // checked first (check_explicit_output)
  // Names read from input never become paths outside the working directory (io/output_name).
  const std::string& suite = e.cells.front().cfg.suite_name;
  switch (r.mode) {
    case ExperimentMode::kRun:
      return !r.resume.empty() ? r.resume : first_free_name(safe_file_stem(suite), ".h5");
    case ExperimentMode::kSimulate:
      return first_free_name(safe_file_stem(suite + "-" + e.system->name), ".h5");
    case ExperimentMode::kPlace: return first_free_name(safe_file_stem(suite) + "-place", ".h5");
  }
  return first_free_name(safe_file_stem(suite), ".h5");
}

// One instance per listed strategy, named after it, with its resolved options.
std::vector<StrategyInstance> resolve_instances(const RunConfig& cfg) {
  std::vector<StrategyInstance> out;
  for (auto& rs : resolve_strategy_options(cfg))
    out.push_back(StrategyInstance{rs.name, rs.strategy, std::move(rs.options), rs.dispatch,
                                   rs.dedup});
  return out;
}

// The request a cell of a sweep stands for: the command's, with the cell's values as the
// matching overrides (the single run with that knob set).
ExperimentRequest with_axis_values(const ExperimentRequest& req,
                                   const std::vector<std::pair<std::string, std::string>>& values) {
  ExperimentRequest r = req;
  for (const auto& [k, v] : values) {
    if (k == "dispatch") r.dispatch = v;
    if (k == "dedup") r.dedup = v == "true" ? 1 : 0;
    if (k == "batch_tokens") r.batch_tokens = std::stoll(v);
    if (k == "slots") r.slots = v;
    if (k == "topology") r.topology = v;
    if (k == "system") r.system_model = v;
  }
  return r;
}

// A run measures on its MPI ranks with the suite's system: topology and system axes are for
// the model.
void check_sweep_mode(const RunConfig& cfg, ExperimentMode mode) {
  if (mode != ExperimentMode::kRun) return;
  for (const auto& a : cfg.sweep)
    if (a.key == "topology" || a.key == "system")
      throw ConfigError(cfg.suite_path + ": key 'sweep." + a.key +
                        "': expected simulate or place (a run's topology is its MPI ranks and "
                        "its system where it runs), got a run");
}

std::string workload_key(const RunConfig& cfg) {
  return std::to_string(cfg.workload.batch_tokens) + "/" + std::to_string(cfg.workload.tokens);
}

// One cell: the suite with the request's overrides, its strategies, topology, system, slots.
ExperimentCell resolve_cell(const RunConfig& base, const ExperimentRequest& req,
                            const TopologyResolver& ranks) {
  RunConfig cfg = base;
  apply_overrides(cfg, req);
  const bool model_only = req.mode != ExperimentMode::kRun;
  if (model_only) validate_model(cfg.model, req.suite + ": [model]");
  ExperimentCell cell;
  cell.instances = resolve_instances(cfg);
  cell.dispatch = parse_dispatch_mode(cfg.dispatch, cfg.suite_path + ": key 'run.dispatch'");
  cell.backend = parse_backend(cfg.backend, cfg.suite_path + ": key 'run.backend'");
  cell.topology_source = req.nodes > 0 ? "option" : "suite";  // where cfg.nodes came from
  cell.topo = model_only ? model_topology(cfg, req, cell.topology_source)
                         : ranks(cfg, cell.topology_source);
  cell.system = resolve_system(cfg, req);
  add_oracle_instance(cfg, cell.system.has_value(), cell);
  if (cfg.system.empty()) cfg.system = default_system_label();
  cell.slots_per_rank = resolve_slots(cfg, cell.topo);
  cell.workload_key = workload_key(cfg);
  cell.cfg = std::move(cfg);
  return cell;
}

}  // namespace

Experiment resolve_experiment(const ExperimentRequest& req, const TopologyResolver& ranks) {
  Experiment e;
  e.request = req;
  check_explicit_output(req);
  RunConfig base = load_suite(req.suite);
  for (const auto& text : req.sweep) merge_sweep_axis(base.sweep, parse_sweep_option(text));
  check_sweep_mode(base, req.mode);
  const auto combos = sweep_cells(base.sweep);
  if (combos.size() > 1) e.sweep = base.sweep;
  base.sweep.clear();
  for (size_t i = 0; i < combos.size(); ++i) {
    ExperimentCell cell = resolve_cell(base, with_axis_values(req, combos[i]), ranks);
    if (combos.size() > 1) {
      cell.name = "cell" + std::to_string(i);
      cell.axes = combos[i];
    }
    if (req.warn_rank0) warn_indistinguishable(cell.cfg, cell.topo, cell.slots_per_rank, cell.label());
    e.cells.push_back(std::move(cell));
  }
  // Every cell's workload is opened once here (bad input before any work); the first is kept.
  for (size_t i = e.cells.size(); i-- > 0;) activate_cell(e, i);
  if (req.mode == ExperimentMode::kPlace) e.reference = "baseline";
  e.output = default_output(e);
  return e;
}

std::string ExperimentCell::label() const {
  std::string s;
  for (const auto& [k, v] : axes) s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s;
}

void activate_cell(Experiment& e, size_t i, bool with_workload) {
  const ExperimentCell& cell = e.cells.at(i);
  const bool model_only = e.request.mode != ExperimentMode::kRun;
  e.active_cell = i;
  e.topo = cell.topo;
  e.topology_source = cell.topology_source;
  e.slots_per_rank = cell.slots_per_rank;
  e.system = cell.system;
  const std::string& key = cell.workload_key;
  if (!with_workload || (e.workload && key == e.workload_key)) return;
  e.batches.reset();
  e.workload.reset();
  const auto t0 = std::chrono::steady_clock::now();
  e.workload = open_workload(cell.cfg, cell.cfg.model);
  if (e.phases)
    e.phases->workload_s +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (e.workload->num_batches() < 1)
    throw ConfigError(e.request.suite + ": key 'workload': no evaluation batch" +
                      (cell.axes.empty() ? "" : " (cell " + cell.label() + ")"));
  e.batches = std::make_unique<BatchSource>(*e.workload, model_only ? kModelBatchBytes
                                                                    : kRunBatchBytes);
  e.workload_key = key;
  e.workload_provenance[key] = e.workload->provenance();
}

}  // namespace moeb
