// moebench run SUITE.toml: the suite's workload replayed through real MoE layers on MPI ranks,
// once per placement strategy, measured, checked, and written to HDF5 after every strategy.
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/run_support.hpp"
#include "cli/strategy_common.hpp"
#include "core/cost_model.hpp"
#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "io/config_loader.hpp"
#include "io/provenance.hpp"
#include "io/result_sink.hpp"
#include "io/results_file.hpp"
#include "io/resume.hpp"
#include "io/root_attributes.hpp"
#include "io/system_file.hpp"
#include "placement/registry.hpp"
#include "runtime/backend.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/cuda/cuda_entry.hpp"
#include "runtime/harness.hpp"
#include "runtime/mpi_transport.hpp"
#include "runtime/stop_signal.hpp"
#include "workload/workload.hpp"

namespace moeb::cli {

namespace {

struct RunArgs {
  std::string suite;
  std::string output;
  std::string system;
  std::string strategies;
  std::string backend;
  std::string trace;
  std::string resume;
  std::string system_model;
  std::string dispatch;
  int nodes = 0;
  int iterations = 0;
  int warmup = -1;
};

// Command-line choices override the suite; each is recorded in the resolved config.
void apply_overrides(RunConfig& cfg, const RunArgs& a) {
  if (!a.system.empty()) cfg.system = a.system;
  if (!a.backend.empty()) cfg.backend = a.backend;
  if (!a.dispatch.empty()) {
    if (a.dispatch != "flat" && a.dispatch != "hierarchical")
      throw ConfigError("--dispatch: expected flat or hierarchical, got '" + a.dispatch + "'");
    cfg.dispatch = a.dispatch;
  }
  if (!a.system_model.empty()) cfg.system_file = a.system_model;
  if (a.iterations > 0) cfg.iterations = a.iterations;
  if (a.warmup >= 0) cfg.warmup = a.warmup;
  if (a.nodes > 0) {
    cfg.nodes = a.nodes;
    cfg.ranks_per_node = 0;
  }
  if (!a.trace.empty()) {
    cfg.workload.kind = "trace";
    cfg.workload.traces = {a.trace};
    cfg.workload.trace_weights.clear();
  }
  if (!a.strategies.empty()) select_strategies(cfg, a.strategies, "--strategies");
}

// The setup every rank does before any work: config, topology, budget, strategies, system
// model, backend, workload. Errors here are bad input: one line, exit 2, nothing written.
struct Setup {
  RunConfig cfg;
  Topology topo;
  std::string topology_source;
  int slots_per_rank = 0;
  std::vector<ResolvedStrategy> strategies;
  std::optional<SystemModel> system_model;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Workload> workload;
};

Setup prepare(const RunArgs& a, MPI_Comm comm) {
  Setup s;
  s.cfg = load_suite(a.suite);
  apply_overrides(s.cfg, a);
  s.strategies = resolve_strategy_options(s.cfg);
  s.topo = resolve_topology(s.cfg, comm, s.topology_source);
  const ModelSpec& m = s.cfg.model;
  s.slots_per_rank =
      resolve_slots_per_rank(m, s.topo.num_ranks(), s.cfg.slots_per_rank, s.cfg.expert_memory_gib,
                             s.cfg.expert_dtype, s.cfg.suite_path + ": key 'placement'");
  if (static_cast<long long>(s.slots_per_rank) * s.topo.num_ranks() < m.num_experts)
    throw ConfigError(s.cfg.suite_path + ": key 'placement.slots_per_rank': " +
                      std::to_string(s.slots_per_rank) + " slots x " +
                      std::to_string(s.topo.num_ranks()) + " ranks cannot hold " +
                      std::to_string(m.num_experts) + " experts (expected at least " +
                      std::to_string((m.num_experts + s.topo.num_ranks() - 1) / s.topo.num_ranks()) +
                      " slots per rank)");
  if (!s.cfg.system_file.empty()) s.system_model = find_system(s.cfg.system_file);
  BackendOptions bo;
  bo.hidden = m.hidden;
  bo.ffn_hidden = m.ffn_hidden;
  bo.threads_per_rank = s.cfg.threads_per_rank;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  bo.local_rank = s.topology_source == "mpi" ? s.topo.local_rank(rank) : rank;
  if (s.topology_source == "suite") {
    // Virtual nodes share one machine: the device index is the rank's index on the real node.
    MPI_Comm shm;
    MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &shm);
    MPI_Comm_rank(shm, &bo.local_rank);
    MPI_Comm_free(&shm);
  }
  s.backend = make_backend(s.cfg.backend, bo);
  // bf16 activations cannot meet fp32 tolerances: use at least bf16's, and record them in the
  // resolved config so the file says which tolerance was applied.
  if (s.backend->dispatch_row_bytes() < 4LL * m.hidden) {
    s.cfg.check_rtol = std::max(s.cfg.check_rtol, 2e-2);
    s.cfg.check_atol = std::max(s.cfg.check_atol, 1e-2);
  }
  s.workload = open_workload(s.cfg, m);
  return s;
}

// Agrees across ranks whether setup failed; the lowest failing rank prints its one line.
bool setup_failed_anywhere(MPI_Comm comm, const std::string& my_error) {
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int mine = my_error.empty() ? size : rank;
  int first = size;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == size) return false;
  if (rank == first) std::fprintf(stderr, "moebench: error: %s\n", my_error.c_str());
  return true;
}

void broadcast_string_set(std::set<std::string>& names, MPI_Comm comm) {
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::string joined;
  if (rank == 0)
    for (const auto& n : names) joined += n + "\n";
  int len = static_cast<int>(joined.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, comm);
  joined.resize(len);
  MPI_Bcast(joined.data(), len, MPI_CHAR, 0, comm);
  names.clear();
  std::stringstream ss(joined);
  std::string n;
  while (std::getline(ss, n))
    if (!n.empty()) names.insert(n);
}

RunResult build_provenance(const Setup& s, int argc, const char* const* argv, MPI_Comm comm,
                           double probe_overhead) {
  RunResult prov = collect_local_provenance(argc, argv);
  add_config_provenance(prov, s.cfg);
  const int R = s.topo.num_ranks();
  prov.hostnames = gather_hostnames(comm);
  prov.rank_node = s.topo.node_of_rank();
  prov.rank_device.clear();
  for (int r = 0; r < R; ++r) prov.rank_device.push_back(s.backend->name() + ":rank" + std::to_string(r));
  set_root_attr(prov, "num_ranks", static_cast<double>(R));
  set_root_attr(prov, "num_nodes", static_cast<double>(s.topo.num_nodes()));
  set_root_attr(prov, "topology", s.topo.describe());
  set_root_attr(prov, "topology_source", s.topology_source);
  set_root_attr(prov, "slots_per_rank", static_cast<double>(s.slots_per_rank));
  const int64_t elem_bytes = s.backend->dispatch_row_bytes() / std::max(1, s.cfg.model.hidden);
  set_root_attr(prov, "act_dtype", std::string(elem_bytes == 2 ? "bf16" : elem_bytes == 4 ? "fp32" : "other"));
  set_root_attr(prov, "dispatch_row_bytes", static_cast<double>(s.backend->dispatch_row_bytes()));
  set_root_attr(prov, "combine_row_bytes", static_cast<double>(s.backend->combine_row_bytes()));
  set_root_attr(prov, "probe_overhead", probe_overhead);
  set_root_attr(prov, "backend", s.cfg.backend);
  for (const auto& [k, v] : s.workload->provenance()) set_root_attr(prov, k, v);
  if (s.system_model) set_root_attr(prov, "system_model", s.system_model->name);
  if (s.cfg.backend == "cuda")
    for (const auto& [k, v] : cuda_provenance(s.backend.get())) set_root_attr(prov, k, v);
  return prov;
}

// Share of (token, expert) choices the strategy's route transform changes, over the batches
// the strategy was measured on.
double measure_routing_deviation(const PlacementPlan& plan, const Workload& w,
                                 const std::vector<int64_t>& batches) {
  std::set<int64_t> distinct(batches.begin(), batches.end());
  double changed = 0, total = 0;
  for (int64_t b : distinct) {
    RoutingTrace orig = w.batch(b);
    RoutingTrace moved = orig;
    for (int l = 0; l < orig.num_layers(); ++l) plan.transform->apply(l, moved);
    const double n = static_cast<double>(orig.num_tokens()) * orig.num_layers() * orig.top_k();
    changed += routing_deviation(orig, moved) * n;
    total += n;
  }
  return total > 0 ? changed / total : 0.0;
}

void attach_predictions(StrategyResult& res, const Setup& s, const PlacementPlan& plan) {
  if (!s.system_model) return;
  SystemModel sys = *s.system_model;
  std::vector<std::vector<LayerPrediction>> per_iter;
  for (size_t i = 0; i < res.batch_index.size(); ++i) {
    SimulateOptions so;
    so.dispatch = s.cfg.dispatch;
    so.dedup = plan_dedup(plan, s.cfg.dedup);
    so.keep_rows = false;
    // Predict the bytes this backend actually moves (fp32 on CPU, bf16 on GPU), not the
    // system file's activation size.
    so.dispatch_row_bytes = s.backend->dispatch_row_bytes();
    so.combine_row_bytes = s.backend->combine_row_bytes();
    so.seed = s.cfg.seed;
    so.batch_index = res.batch_index[i];
    auto sims = simulate_batch(sys, s.cfg.model, s.topo, plan.placement, plan.policy.kind,
                               plan.transform.get(), s.workload->batch(res.batch_index[i]), so);
    std::vector<LayerPrediction> preds;
    for (const auto& ls : sims) preds.push_back(ls.pred);
    per_iter.push_back(std::move(preds));
  }
  res.predicted = predicted_phase_times(per_iter);
  res.predicted_system_model = sys.name;
}

int run_body(const RunArgs& a, int argc, const char* const* argv, Setup& s);

int run_main(const RunArgs& a, int argc, const char* const* argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  struct Finalizer {
    ~Finalizer() {
      int fin = 0;
      MPI_Finalized(&fin);
      if (!fin) MPI_Finalize();
    }
  } finalizer;
  MPI_Comm comm = MPI_COMM_WORLD;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  install_stop_handlers();

  Setup s;
  std::string error;
  try {
    s = prepare(a, comm);
  } catch (const Error& e) {
    error = e.what();
  }
  if (setup_failed_anywhere(comm, error)) return 2;
  try {
    return run_body(a, argc, argv, s);
  } catch (const Error& e) {
    // Past setup an error on one rank leaves the others inside a collective: say it once and
    // abort the communicator, as nccl-tests does. Finished strategies are already on disk.
    std::fprintf(stderr, "moebench: error (rank %d): %s\n", rank, e.what());
    std::fflush(stderr);
    MPI_Abort(comm, 1);
    return 1;
  }
}

int run_body(const RunArgs& a, int argc, const char* const* argv, Setup& s) {
  MPI_Comm comm = MPI_COMM_WORLD;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  std::string error;
  const std::string out_path =
      !a.output.empty() ? a.output : !a.resume.empty() ? a.resume : s.cfg.suite_name + ".h5";
  auto transport_ptr = make_transport(*s.backend, comm);
  Transport& transport = *transport_ptr;
  const double probe = measure_probe_overhead(*s.backend, transport);
  RunResult prov = build_provenance(s, argc, argv, comm, probe);

  // Resume: rank 0 reads the previous file and checks it belongs to this configuration.
  RunResult previous;
  std::set<std::string> finished;
  error.clear();
  if (!a.resume.empty() && rank == 0) {
    try {
      previous = read_results(a.resume);
      check_resume_compatible(previous, prov, a.resume);
      finished = completed_strategies(previous);
      for (auto& p : previous.strategies) mark_carried_over(p, previous, a.resume);
    } catch (const Error& e) {
      error = e.what();
    }
  }
  if (setup_failed_anywhere(comm, error)) return 2;
  broadcast_string_set(finished, comm);

  std::unique_ptr<ResultSink> sink;
  if (rank == 0) {
    sink = std::make_unique<Hdf5ResultSink>(out_path);
    sink->begin(prov);
    for (const auto& p : previous.strategies)
      if (finished.count(p.name)) sink->write_strategy(p);
    std::printf("moebench run: %s on %d ranks (%s, %s nodes), backend %s, system '%s' -> %s\n",
                s.cfg.suite_name.c_str(), s.topo.num_ranks(), s.topo.describe().c_str(),
                s.topology_source.c_str(), s.cfg.backend.c_str(), s.cfg.system.c_str(),
                out_path.c_str());
    std::fflush(stdout);
  }

  std::vector<StrategyResult> done;
  for (const auto& p : previous.strategies)
    if (finished.count(p.name)) done.push_back(p);
  const ModelSpec& m = s.cfg.model;
  for (const auto& rs : s.strategies) {
    if (finished.count(rs.name)) {
      if (rank == 0) std::printf("  %-12s already complete in %s, not run again\n", rs.name.c_str(), a.resume.c_str());
      continue;
    }
    StrategyResult res;
    auto maybe_plan = begin_strategy(res, rs.name, *rs.strategy, rs.options, m, s.topo,
                                     s.slots_per_rank, s.workload->calibration_stats(), s.cfg.seed,
                                     s.workload->oracle());
    if (!maybe_plan) {
      if (rank == 0) {
        std::printf("  %-12s skipped: %s\n", rs.name.c_str(), res.skip_reason.c_str());
        sink->write_strategy(res);
      }
      done.push_back(res);
      continue;
    }
    const PlacementPlan& plan = *maybe_plan;

    HarnessOptions ho;
    ho.warmup = s.cfg.warmup;
    ho.iterations = s.cfg.iterations;
    ho.sync_probe = s.cfg.sync_probe;
    ho.dedup = plan_dedup(plan, s.cfg.dedup);
    ho.dispatch = s.cfg.dispatch;
    ho.check = s.cfg.check;
    ho.check_samples = s.cfg.check_samples;
    ho.check_rtol = s.cfg.check_rtol;
    ho.check_atol = s.cfg.check_atol;
    ho.seed = s.cfg.seed;
    ho.stop_requested = [] { return stop_requested(); };
    try {
      run_harness(*s.backend, transport, s.topo, m, plan, *s.workload, ho, res);
    } catch (const Interrupted& e) {
      res.status = "interrupted";
      if (rank == 0) {
        sink->write_strategy(res);
        sink->finish("interrupted");
        std::fprintf(stderr,
                     "moebench: interrupted by %s during strategy '%s'; finished strategies are "
                     "kept in %s (rerun with --resume %s)\n",
                     stop_signal_name().empty() ? "a stop request" : stop_signal_name().c_str(),
                     rs.name.c_str(), out_path.c_str(), out_path.c_str());
      }
      return 3;
    } catch (const Error& e) {
      // The check failed (or the engine broke): keep what was measured, fail the run.
      if (rank == 0) {
        res.status = "failed";
        res.skip_reason = e.what();
        sink->write_strategy(res);
        sink->finish("failed");
        std::fprintf(stderr, "moebench: error: strategy '%s': %s\n", rs.name.c_str(), e.what());
      }
      return 1;
    }
    if (rank == 0) {
      if (plan.transform)
        res.routing_deviation = measure_routing_deviation(plan, *s.workload, res.batch_index);
      attach_predictions(res, s, plan);
      sink->write_strategy(res);
      std::printf("  %-12s done (placement %.2f ms, %d iterations, check %lld/%lld wrong)\n",
                  rs.name.c_str(), res.placement_time_s * 1e3, s.cfg.iterations,
                  static_cast<long long>(res.wrong_elements),
                  static_cast<long long>(res.checked_elements));
      std::fflush(stdout);
    }
    done.push_back(std::move(res));
  }
  if (rank == 0) {
    sink->finish("complete");
    std::printf("\n%s\n", summary_table(done, m.top_k).c_str());
    std::printf("results: %s\n", out_path.c_str());
  }
  return 0;
}

}  // namespace

void register_run(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<RunArgs>();
  auto* sub = app.add_subcommand(
      "run", "run a suite's MoE layers on MPI ranks under each strategy; write HDF5 results");
  sub->add_option("suite", args->suite, "suite file (TOML)")->required()->check(CLI::ExistingFile);
  sub->add_option("-o,--output", args->output, "results file (default: SUITE_NAME.h5)");
  sub->add_option("--system", args->system, "system label: the report's column for this run");
  sub->add_option("--strategies", args->strategies, "comma-separated strategies, or 'all'");
  sub->add_option("--nodes", args->nodes, "declare the ranks as N virtual nodes (equal sizes)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--backend", args->backend, "compute backend: cpu or cuda");
  sub->add_option("--dispatch", args->dispatch, "dispatch mode: flat or hierarchical");
  sub->add_option("--trace", args->trace, "replay this routing trace (HDF5, `moebench trace import`)")
      ->check(CLI::ExistingFile);
  sub->add_option("--system-model", args->system_model,
                  "cost-model system (preset name or file) for predicted times");
  sub->add_option("--iterations", args->iterations, "measured iterations (overrides the suite)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--warmup", args->warmup, "warm-up iterations (overrides the suite)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--resume", args->resume,
                  "results file of an earlier, interrupted run: skip its finished strategies")
      ->check(CLI::ExistingFile);
  sub->callback([args, &exit_code] {
    const auto& cl = command_line();
    std::vector<const char*> argv;
    for (const auto& r : cl) argv.push_back(r.c_str());
    exit_code = run_main(*args, static_cast<int>(argv.size()), argv.data());
  });
}

}  // namespace moeb::cli
