// moebench run SUITE.toml: the suite's workload replayed through real MoE layers on MPI ranks,
// once per placement strategy, measured, checked, and written to HDF5 after every strategy.
// The work is the experiment layer's (src/experiment, runtime measurer); this file parses options.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/commands.hpp"
#include "cli/experiment_options.hpp"
#include "cli/oracle_option.hpp"
#include "core/error.hpp"
#include "experiment/commands.hpp"
#include "io/config_loader.hpp"
#include "io/resume.hpp"
#include "platform/h5_guard.hpp"
#include "workload/trace_file.hpp"

namespace moeb::cli {

namespace {
// The HDF5 files a run reads (--trace, --resume, the suite's traces), each read in a child
// process first (platform/h5_guard.hpp), here before MPI_Init: after it, fork() is unsafe with
// some Open MPI transports. Every rank checks; rank 0 (as the launcher numbers it) says why.
void guard_hdf5_inputs(const ExperimentRequest& a) {
  std::vector<std::string> paths;  // traces
  if (!a.trace.empty()) {
    paths.push_back(a.trace);
  } else {
    try {
      namespace fs = std::filesystem;
      const RunConfig cfg = load_suite(a.suite);
      std::error_code ec;
      for (const auto& p : cfg.workload.traces) {  // as given, else next to the suite
        const fs::path alt = fs::path(a.suite).parent_path() / p;
        paths.push_back(fs::exists(p, ec) || fs::path(p).is_absolute() ? p : alt.string());
      }
    } catch (const Error&) {  // a bad suite is reported by the run itself, once
    }
  }
  try {
    if (!a.resume.empty())
      h5::guard_untrusted_file(a.resume, "resume", [&a] { load_for_resume(a.resume); });
    for (const auto& p : paths) h5::guard_untrusted_file(p, "trace", [&p] { TraceReader r(p); });
  } catch (const InputError&) {
    // The other ranks found the same; they wait for rank 0 to say it and end the job (the
    // launcher ends every rank when one exits with an error), else leave after 10 s.
    const char* rank = nullptr;  // before MPI_Init: as the launcher numbers the processes
    for (const char* v : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
      if (!rank) rank = std::getenv(v);
    if (rank && std::atoi(rank) != 0) {
      std::this_thread::sleep_for(std::chrono::seconds(10));
      std::exit(2);
    }
    throw;
  }
}
}  // namespace

void register_run(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<ExperimentRequest>();
  a->mode = ExperimentMode::kRun;
  auto* sub = app.add_subcommand(
      "run", "run a suite's MoE layers on MPI ranks under each strategy; write HDF5 results");
  sub->add_option("suite", a->suite, "suite file (TOML)")->required()->check(CLI::ExistingFile);
  sub->add_option("-o,--output", a->output, "results file (default: SUITE_NAME.h5)");
  sub->add_option("--system", a->system_label, "system label: the report's column for this run");
  sub->add_option("--slots", a->slots,
                  "expert slots per rank: N, +N spare slots per rank, N/layer replicas per "
                  "layer, or NGiB expert memory per rank (replaces the suite's budget)");
  sub->add_option("--strategies", a->strategies, "comma-separated strategies, or 'all'");
  sub->add_option("--sweep", a->sweep,
                  "KEY=V1,V2,...: a sweep axis (repeatable; replaces the suite's [sweep] KEY): "
                  "dispatch, dedup, batch_tokens, slots" +
                      std::string(a->mode == ExperimentMode::kRun ? "" : ", topology, system"))
      ->allow_extra_args(false);
  sub->add_option("--nodes", a->nodes, "declare the ranks as N virtual nodes (equal sizes)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--backend", a->backend, "compute backend: cpu or cuda");
  sub->add_option("--dispatch", a->dispatch, "dispatch mode: flat or hierarchical");
  sub->add_option("--trace", a->trace, "replay this routing trace (HDF5, `moebench trace import`)")
      ->check(CLI::ExistingFile);
  sub->add_option("--system-model", a->system_model,
                  "cost-model system (preset name or file) for predicted times");
  sub->add_option("--iterations", a->iterations, "measured iterations (overrides the suite)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--warmup", a->warmup, "warm-up iterations (overrides the suite)")
      ->check(CLI::NonNegativeNumber);
  add_oracle_options(sub, a);
  add_experiment_ui_options(sub, *a);
  sub->add_option("--resume", a->resume,
                  "results file of an earlier, interrupted run: skip its finished strategies")
      ->check(CLI::ExistingFile);
  // Tests only (docs/DEVELOPING.md): the named strategy's correctness check runs with a
  // tolerance no element can meet, so that it fails honestly through the real check.
  sub->add_option("--test-fail-check", a->fail_check_instance)->group("");
  // Tests only (docs/DEVELOPING.md): NAME:RANK:WHEN:KIND throws on one rank mid-run.
  sub->add_option("--test-throw", a->test_throw)->group("");
  // Tests only (docs/DEVELOPING.md): NAME:RANK gives one rank a different placement of NAME.
  sub->add_option("--test-diverge-placement", a->test_diverge_placement)->group("");
  sub->callback([a, &exit_code] {
    a->command_line = command_line();
    guard_hdf5_inputs(*a);
    exit_code = run_mpi_experiment(*a);
  });
}

}  // namespace moeb::cli
