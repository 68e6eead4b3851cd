// moebench simulate SUITE.toml --topology 32x8 --system h100-ndr400: the suite's workload and
// strategies on a modeled cluster, no MPI. Each strategy is placed on the calibration statistics
// and every simulated batch is routed and counted by the core evaluator exactly as a run routes
// it; the cost model (docs/COST_MODEL.md) turns the counts into phase times. The results file has
// the run's schema with backend = "model": counts in the measured cubes are exact, times are
// predictions, so `moebench report` puts simulated and measured systems side by side.
// The work is the experiment layer's (src/experiment, model measurer); this file parses options.
#include "cli/commands.hpp"
#include "cli/experiment_options.hpp"
#include "cli/oracle_option.hpp"
#include "experiment/commands.hpp"

namespace moeb::cli {

void register_simulate(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<ExperimentRequest>();
  a->mode = ExperimentMode::kSimulate;
  a->iterations = 1;
  auto* sub =
      app.add_subcommand("simulate",
                         "model a suite on a cluster you do not have (no MPI): same workload and "
                         "strategies, cost-model times, results with backend = model");
  sub->add_option("suite", a->suite, "suite file (TOML)")->required()->check(CLI::ExistingFile);
  sub->add_option("--system", a->system_model,
                  "system model: a preset (suites/systems/NAME.toml) or a system file "
                  "(default: the suite's)");
  sub->add_option("--topology", a->topology,
                  "NODESxRANKS_PER_NODE, e.g. 32x8 (default: the suite's)");
  sub->add_option("-o,--output", a->output, "results file (default: SUITE-SYSTEM.h5)");
  sub->add_option("--label", a->system_label,
                  "system label, the report's column (default: the system's name)");
  sub->add_option("--slots", a->slots,
                  "expert slots per rank: N, +N spare slots per rank, N/layer replicas per "
                  "layer, or NGiB expert memory per rank (replaces the suite's budget)");
  sub->add_option("--strategies", a->strategies, "comma-separated strategies, or 'all'");
  sub->add_option("--sweep", a->sweep,
                  "KEY=V1,V2,...: a sweep axis (repeatable; replaces the suite's [sweep] KEY): "
                  "dispatch, dedup, batch_tokens, slots" +
                      std::string(a->mode == ExperimentMode::kRun ? "" : ", topology, system"))
      ->allow_extra_args(false);
  sub->add_option("--dispatch", a->dispatch, "dispatch mode: flat or hierarchical");
  sub->add_option("--model", a->model,
                  "model preset with its full dimensions (overrides the suite's)");
  sub->add_option("--layers", a->layers, "MoE layers to simulate (overrides)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--batch-tokens", a->batch_tokens, "tokens per batch (overrides the suite)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--iterations", a->iterations, "batches simulated (default 1)")
      ->check(CLI::PositiveNumber);
  add_oracle_options(sub, a);
  add_experiment_ui_options(sub, *a);
  sub->callback([a, &exit_code] {
    a->command_line = command_line();
    exit_code = run_model_experiment(*a);
  });
}

}  // namespace moeb::cli
