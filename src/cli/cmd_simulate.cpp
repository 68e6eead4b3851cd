// moebench simulate SUITE.toml --topology 32x8 --system h100-ndr400: the suite's workload and
// strategies on a modeled cluster, no MPI. Each strategy is placed on the calibration statistics
// and every simulated batch is routed and counted by the core evaluator exactly as a run routes
// it; the cost model (docs/COST_MODEL.md) turns the counts into phase times. The results file has
// the run's schema with backend = "model": counts in the measured cubes are exact, times are
// predictions, so `moebench report` puts simulated and measured systems side by side.
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/strategy_common.hpp"
#include "core/cost_model.hpp"
#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "core/results.hpp"
#include "io/config_loader.hpp"
#include "io/output_name.hpp"
#include "io/provenance.hpp"
#include "io/results_file.hpp"
#include "io/root_attributes.hpp"
#include "io/system_file.hpp"
#include "placement/registry.hpp"
#include "workload/workload.hpp"

namespace moeb::cli {

namespace {


struct SimulateArgs {
  std::string suite, output, system, label, topology, strategies, dispatch, model;
  int iterations = 1;        // batches simulated
  int64_t batch_tokens = 0;  // 0 = the suite's
  int layers = 0;            // 0 = the suite's
};

struct SimSetup {
  RunConfig cfg;
  Topology topo;
  SystemModel sys;
  int slots_per_rank = 0;
  std::vector<ResolvedStrategy> strategies;
  std::unique_ptr<Workload> workload;
  // Simulated batches, generated once for all strategies when they fit in kMaxCachedBytes.
  std::vector<RoutingTrace> cached_batches;

  RoutingTrace batch(int64_t b) const {
    return b < static_cast<int64_t>(cached_batches.size()) ? cached_batches[b] : workload->batch(b);
  }
};

constexpr double kMaxCachedBytes = 2.0 * (1 << 30);

void apply_overrides(RunConfig& cfg, const SimulateArgs& a) {
  if (!a.model.empty()) {
    const ModelSpec& p = model_preset(a.model);
    cfg.model_preset = p.name;
    cfg.model = p;
  }
  if (a.layers > 0) cfg.model.num_layers = a.layers;
  if (!a.dispatch.empty()) {
    if (a.dispatch != "flat" && a.dispatch != "hierarchical")
      throw ConfigError("--dispatch: expected flat or hierarchical, got '" + a.dispatch + "'");
    cfg.dispatch = a.dispatch;
  }
  if (a.batch_tokens > 0) {
    cfg.workload.batch_tokens = a.batch_tokens;
    // Enough tokens for the calibration part and every simulated batch.
    const double eval_share = 1.0 - cfg.workload.calibration_fraction;
    const auto need = static_cast<int64_t>(static_cast<double>(a.batch_tokens) * a.iterations /
                                           std::max(eval_share, 0.05) * 1.1);
    if (cfg.workload.kind == "synthetic") cfg.workload.tokens = std::max(cfg.workload.tokens, need);
  }
  if (!a.strategies.empty()) select_strategies(cfg, a.strategies, "--strategies");
  cfg.iterations = a.iterations;
  cfg.warmup = 0;
}

SimSetup prepare(const SimulateArgs& a) {
  SimSetup s;
  s.cfg = load_suite(a.suite);
  apply_overrides(s.cfg, a);
  validate_model(s.cfg.model, a.suite + ": [model]");
  if (!a.topology.empty()) {
    s.topo = parse_topology(a.topology, "--topology");
  } else if (s.cfg.nodes > 0 && s.cfg.ranks_per_node > 0) {
    s.topo = Topology::uniform(s.cfg.nodes, s.cfg.ranks_per_node);
  } else {
    throw ConfigError(
        a.suite + ": key 'topology': simulate needs nodes and ranks_per_node, or --topology NxG");
  }
  s.cfg.nodes = s.topo.num_nodes();
  s.cfg.ranks_per_node = s.topo.ranks_per_node();
  const std::string system = !a.system.empty() ? a.system : s.cfg.system_file;
  if (system.empty()) {
    std::string known;
    for (const auto& n : system_preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("simulate: no system model (give --system FILE or a preset: " + known + ")");
  }
  s.sys = find_system(system);
  s.cfg.system_file = system;
  s.cfg.system = !a.label.empty() ? a.label : s.sys.name;
  s.strategies = resolve_strategy_options(s.cfg);
  const ModelSpec& m = s.cfg.model;
  s.slots_per_rank =
      resolve_slots_per_rank(m, s.topo.num_ranks(), s.cfg.slots_per_rank, s.cfg.expert_memory_gib,
                             s.cfg.expert_dtype, s.cfg.suite_path + ": key 'placement'");
  if (static_cast<long long>(s.slots_per_rank) * s.topo.num_ranks() < m.num_experts)
    throw ConfigError(s.cfg.suite_path +
                      ": key 'placement.slots_per_rank': " + std::to_string(s.slots_per_rank) +
                      " slots x " + std::to_string(s.topo.num_ranks()) + " ranks cannot hold " +
                      std::to_string(m.num_experts) + " experts");
  s.workload = open_workload(s.cfg, m);
  if (s.workload->num_batches() < 1)
    throw ConfigError(a.suite + ": key 'workload': no evaluation batch");
  const int64_t distinct = std::min<int64_t>(s.cfg.iterations, s.workload->num_batches());
  const double bytes = static_cast<double>(distinct) * s.cfg.workload.batch_tokens * m.num_layers *
                       m.top_k * (sizeof(int32_t) + sizeof(float));
  if (bytes <= kMaxCachedBytes)
    for (int64_t b = 0; b < distinct; ++b) s.cached_batches.push_back(s.workload->batch(b));
  return s;
}

RunResult provenance(const SimSetup& s, int argc, const char* const* argv) {
  return model_provenance(argc, argv, s.cfg, s.topo, s.sys, s.slots_per_rank, *s.workload,
                          "model:" + (s.sys.device.name.empty() ? s.sys.name : s.sys.device.name));
}

StrategyResult simulate_strategy(const SimSetup& s, const ResolvedStrategy& rs) {
  StrategyResult res;
  auto plan = begin_strategy(res, rs.name, *rs.strategy, rs.options, s.cfg.model, s.topo,
                             s.slots_per_rank, s.workload->calibration_stats(), s.cfg.seed,
                             s.workload->oracle());
  if (plan)
    fill_model_measurements(res, *plan, s.cfg, s.topo, s.sys, true, s.workload->num_batches(),
                            [&](int64_t b) { return s.batch(b); });
  return res;
}

double layer_sum(const StrategyResult& r, const char* key) {
  auto it = r.predicted.find(key);
  double t = 0;
  if (it != r.predicted.end())
    for (double x : it->second) t += x;
  return t;
}

int64_t cube_sum(const StrategyResult& r, const char* key) {
  int64_t t = 0;
  for (int64_t x : r.counts.at(key).data) t += x;
  return t;
}

void print_row(const StrategyResult& r, int iterations) {
  if (r.status != "complete") {
    std::printf("  %-14s %s: %s\n", r.name.c_str(), r.status.c_str(), r.skip_reason.c_str());
    return;
  }
  const double inter = static_cast<double>(cube_sum(r, "bytes_sent_inter") +
                                           cube_sum(r, "bytes_sent_inter_combine")) /
                       iterations;
  const double all = inter + static_cast<double>(cube_sum(r, "bytes_sent_intra") +
                                                 cube_sum(r, "bytes_sent_intra_combine")) /
                                 iterations;
  std::printf("  %-14s %12.3f %12.3f %12.3f %12.3f %14.3f %14.3f\n", r.name.c_str(),
              layer_sum(r, "t_dispatch") * 1e3, layer_sum(r, "t_ffn") * 1e3,
              layer_sum(r, "t_combine") * 1e3, layer_sum(r, "t_layer") * 1e3, all / 1e9,
              inter / 1e9);
}

int simulate_main(const SimulateArgs& a) {
  const auto t_start = std::chrono::steady_clock::now();
  SimSetup s = prepare(a);
  const auto& cl = command_line();
  std::vector<const char*> argv;
  for (const auto& x : cl) argv.push_back(x.c_str());
  const RunResult prov = provenance(s, static_cast<int>(argv.size()), argv.data());
  const std::string out =
      !a.output.empty() ? a.output : safe_file_stem(s.cfg.suite_name + "-" + s.sys.name) + ".h5";
  Hdf5ResultSink sink(out);
  sink.begin(prov);
  std::printf(
      "moebench simulate: %s, model %s (%d layers), %d ranks (%s), system %s, dispatch %s, "
      "%d batch(es) of %lld tokens -> %s\n",
      s.cfg.suite_name.c_str(), s.cfg.model.name.c_str(), s.cfg.model.num_layers,
      s.topo.num_ranks(), s.topo.describe().c_str(), s.sys.name.c_str(), s.cfg.dispatch.c_str(),
      s.cfg.iterations, static_cast<long long>(s.cfg.workload.batch_tokens), out.c_str());
  std::printf("  %-14s %12s %12s %12s %12s %14s %14s\n", "strategy", "dispatch ms", "ffn ms",
              "combine ms", "layers ms", "comm GB/batch", "inter GB/batch");
  for (const auto& rs : s.strategies) {
    const StrategyResult r = simulate_strategy(s, rs);
    sink.write_strategy(r);
    print_row(r, s.cfg.iterations);
    std::fflush(stdout);
  }
  sink.finish("complete");
  std::printf(
      "times are predictions of the cost model summed over layers (medians over batches); "
      "results: %s (%.1f s)\n",
      out.c_str(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count());
  return 0;
}

}  // namespace

void register_simulate(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<SimulateArgs>();
  auto* sub =
      app.add_subcommand("simulate",
                         "model a suite on a cluster you do not have (no MPI): same workload and "
                         "strategies, cost-model times, results with backend = model");
  sub->add_option("suite", a->suite, "suite file (TOML)")->required()->check(CLI::ExistingFile);
  sub->add_option("--system", a->system,
                  "system model: a preset (suites/systems/NAME.toml) or a system file "
                  "(default: the suite's)");
  sub->add_option("--topology", a->topology,
                  "NODESxRANKS_PER_NODE, e.g. 32x8 (default: the suite's)");
  sub->add_option("-o,--output", a->output, "results file (default: SUITE-SYSTEM.h5)");
  sub->add_option("--label", a->label,
                  "system label, the report's column (default: the system's name)");
  sub->add_option("--strategies", a->strategies, "comma-separated strategies, or 'all'");
  sub->add_option("--dispatch", a->dispatch, "dispatch mode: flat or hierarchical");
  sub->add_option("--model", a->model,
                  "model preset with its full dimensions (overrides the suite's)");
  sub->add_option("--layers", a->layers, "MoE layers to simulate (overrides)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--batch-tokens", a->batch_tokens, "tokens per batch (overrides the suite)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--iterations", a->iterations, "batches simulated (default 1)")
      ->check(CLI::PositiveNumber);
  sub->callback([a, &exit_code] { exit_code = simulate_main(*a); });
}

}  // namespace moeb::cli
