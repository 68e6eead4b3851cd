// moebench place SUITE.toml [--strategy X] [-o FILE]: computes each strategy's placement from
// the calibration part, without MPI, and prints per layer the replica table and the evaluator's
// predicted traffic (intra/inter-node bytes, balancedness, Jain) against baseline. The results
// file has the run's schema with backend = "model": the measured cubes hold the evaluator's
// exact counts for the replayed evaluation batches; times are the cost model's predictions when
// a system model is given (--system or the suite's), else 0 (root attribute system_model =
// "none"), which `moebench validate` accepts.
// The work is the experiment layer's (src/experiment, model measurer); this file parses options.
#include "cli/commands.hpp"
#include "cli/experiment_options.hpp"
#include "cli/oracle_option.hpp"
#include "experiment/commands.hpp"

namespace moeb::cli {

void register_place(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<ExperimentRequest>();
  a->mode = ExperimentMode::kPlace;
  a->strategies_option = "--strategy";
  a->iterations = 1;
  auto no_table = std::make_shared<bool>(false);
  auto* sub = app.add_subcommand(
      "place", "compute placements from a suite's calibration part (no MPI): per-layer replica "
               "table and predicted traffic against baseline, written as a results file");
  sub->add_option("suite", a->suite, "suite file (TOML)")->required()->check(CLI::ExistingFile);
  sub->add_option("--slots", a->slots,
                  "expert slots per rank: N, +N spare slots per rank, N/layer replicas per "
                  "layer, or NGiB expert memory per rank (replaces the suite's budget)");
  sub->add_option("--strategy,--strategies", a->strategies,
                  "strategy, comma-separated strategies, or 'all' (default: the suite's)");
  sub->add_option("-o,--output", a->output, "results file (default: SUITE-place.h5)");
  sub->add_option("--sweep", a->sweep,
                  "KEY=V1,V2,...: a sweep axis (repeatable; replaces the suite's [sweep] KEY): "
                  "dispatch, dedup, batch_tokens, slots" +
                      std::string(a->mode == ExperimentMode::kRun ? "" : ", topology, system"))
      ->allow_extra_args(false);
  sub->add_option("--topology", a->topology, "NODESxRANKS_PER_NODE, e.g. 32x8 (default: the suite's)");
  sub->add_option("--system", a->system_model,
                  "system model (preset or file) for predicted times (default: the suite's; none = "
                  "counts only)");
  sub->add_option("--batches", a->iterations,
                  "evaluation batches the traffic is predicted on (default 1)")
      ->check(CLI::PositiveNumber);
  add_oracle_options(sub, a);
  add_experiment_ui_options(sub, *a);
  sub->add_flag("--no-table", *no_table, "omit the per-layer replica tables");
  sub->callback([a, no_table, &exit_code] {
    a->command_line = command_line();
    exit_code = run_model_experiment(*a, !*no_table);
  });
}

}  // namespace moeb::cli
