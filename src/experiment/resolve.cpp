// resolve_experiment: the one setup of run, simulate and place.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <sstream>

#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "experiment/experiment.hpp"
#include "io/output_name.hpp"
#include "io/config_loader.hpp"
#include "io/provenance.hpp"
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

void apply_slots_option(RunConfig& cfg, const std::string& v);

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
  apply_slots_option(cfg, r.slots);
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

// --slots: "N" slots per rank, "+N" spare slots per rank, "N/layer" replicas per layer,
// "NGiB" expert memory per rank. Replaces the suite's budget (the resolved config records it).
void apply_slots_option(RunConfig& cfg, const std::string& v) {
  if (v.empty()) return;
  auto fail = [&] {
    throw ConfigError("--slots: expected N (slots per rank), +N (spare slots per rank), N/layer "
                      "(replicas per layer) or NGiB (expert memory per rank), got '" + v + "'");
  };
  auto number = [&](const std::string& t) {
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(t, &used);
    } catch (const std::exception&) {
      fail();
    }
    if (used != t.size() || !(x >= 0) || x > 1e9) fail();
    return x;
  };
  auto integer = [&](const std::string& t) {
    const double x = number(t);
    if (x != static_cast<double>(static_cast<int>(x))) fail();
    return static_cast<int>(x);
  };
  cfg.slots_per_rank = cfg.spare_slots_per_rank = cfg.replicas_per_layer = 0;
  cfg.expert_memory_gib = 0;
  const auto ends = [&](const std::string& suffix) {
    return v.size() > suffix.size() && v.compare(v.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (v[0] == '+')
    cfg.spare_slots_per_rank = integer(v.substr(1));
  else if (ends("/layer"))
    cfg.replicas_per_layer = integer(v.substr(0, v.size() - 6));
  else if (ends("GiB"))
    cfg.expert_memory_gib = number(v.substr(0, v.size() - 3));
  else if ((cfg.slots_per_rank = integer(v)) < 1)
    fail();
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
void warn_indistinguishable(const RunConfig& cfg, const Topology& topo, int slots) {
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
    std::fprintf(stderr, "moebench: warning: %s: strategies may be indistinguishable: %s\n",
                 cfg.suite_path.c_str(), why.c_str());
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

}  // namespace

Experiment resolve_experiment(const ExperimentRequest& req, const TopologyResolver& ranks) {
  Experiment e;
  e.request = req;
  check_explicit_output(req);
  RunConfig cfg = load_suite(req.suite);
  apply_overrides(cfg, req);
  const bool model_only = req.mode != ExperimentMode::kRun;
  if (model_only) validate_model(cfg.model, req.suite + ": [model]");
  ExperimentCell cell;
  cell.instances = resolve_instances(cfg);
  cell.dispatch = parse_dispatch_mode(cfg.dispatch, cfg.suite_path + ": key 'run.dispatch'");
  cell.backend = parse_backend(cfg.backend, cfg.suite_path + ": key 'run.backend'");
  e.topo = model_only ? model_topology(cfg, req, e.topology_source) : ranks(cfg, e.topology_source);
  e.system = resolve_system(cfg, req);
  if (cfg.system.empty()) cfg.system = default_system_label();
  e.slots_per_rank = resolve_slots(cfg, e.topo);
  if (req.warn_rank0) warn_indistinguishable(cfg, e.topo, e.slots_per_rank);
  e.workload = open_workload(cfg, cfg.model);
  if (e.workload->num_batches() < 1)
    throw ConfigError(req.suite + ": key 'workload': no evaluation batch");
  e.batches = std::make_unique<BatchSource>(*e.workload, model_only ? kModelBatchBytes
                                                                    : kRunBatchBytes);
  cell.cfg = std::move(cfg);
  e.cells.push_back(std::move(cell));
  if (req.mode == ExperimentMode::kPlace) e.reference = "baseline";
  e.output = default_output(e);
  return e;
}

}  // namespace moeb
