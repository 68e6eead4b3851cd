// moebench place SUITE.toml [--strategy X] [-o FILE]: computes each strategy's placement from
// the calibration part, without MPI, and prints per layer the replica table and the evaluator's
// predicted traffic (intra/inter-node bytes, balancedness, Jain) against baseline. The results
// file has the run's schema with backend = "model": the measured cubes hold the evaluator's
// exact counts for the replayed evaluation batches; times are the cost model's predictions when
// a system model is given (--system or the suite's), else 0 (root attribute system_model =
// "none"), which `moebench validate` accepts.
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/strategy_common.hpp"
#include "core/cost_model.hpp"
#include "core/error.hpp"
#include "core/memory_budget.hpp"
#include "core/metrics.hpp"
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

struct PlaceArgs {
  std::string suite, output, strategies, topology, system;
  int batches = 1;
  bool no_table = false;
};

struct PlaceSetup {
  RunConfig cfg;
  Topology topo;
  SystemModel sys;
  bool have_system = false;
  int slots = 0;
  std::vector<ResolvedStrategy> strategies;
  std::unique_ptr<Workload> workload;
};

// Counts do not depend on link or device figures, only on the row size: without a system model
// the cost model runs on unit figures and its times are discarded.
SystemModel counting_only_system() {
  SystemModel s;
  s.name = "none";
  s.intra.bandwidth_Bps = s.inter.bandwidth_Bps = 1.0;
  s.device.name = "none";
  s.device.flops = s.device.mem_bandwidth_Bps = 1.0;
  return s;
}

PlaceSetup prepare(const PlaceArgs& a) {
  PlaceSetup s;
  s.cfg = load_suite(a.suite);
  if (!a.strategies.empty()) select_strategies(s.cfg, a.strategies, "--strategy");
  validate_model(s.cfg.model, a.suite + ": [model]");
  if (!a.topology.empty())
    s.topo = parse_topology(a.topology, "--topology");
  else if (s.cfg.nodes > 0 && s.cfg.ranks_per_node > 0)
    s.topo = Topology::uniform(s.cfg.nodes, s.cfg.ranks_per_node);
  else
    throw ConfigError(a.suite + ": key 'topology': place needs nodes and ranks_per_node, or --topology NxG");
  s.cfg.nodes = s.topo.num_nodes();
  s.cfg.ranks_per_node = s.topo.ranks_per_node();
  const std::string system = !a.system.empty() ? a.system : s.cfg.system_file;
  s.have_system = !system.empty();
  s.sys = s.have_system ? find_system(system) : counting_only_system();
  if (s.have_system) s.cfg.system_file = system;
  s.strategies = resolve_strategy_options(s.cfg);
  s.slots = resolve_slots_per_rank(s.cfg.model, s.topo.num_ranks(), s.cfg.slots_per_rank,
                                   s.cfg.expert_memory_gib, s.cfg.expert_dtype,
                                   s.cfg.suite_path + ": key 'placement'");
  s.cfg.iterations = a.batches;
  s.cfg.warmup = 0;
  s.workload = open_workload(s.cfg, s.cfg.model);
  if (s.workload->num_batches() < 1)
    throw ConfigError(a.suite + ": key 'workload': no evaluation batch to predict traffic on");
  return s;
}

// Per-layer figures printed next to baseline's.
struct LayerFigures {
  double intra = 0, inter = 0, bal = 0, jain = 0;
};

std::vector<LayerFigures> figures(const StrategyResult& r, int L, int R, int I) {
  std::vector<LayerFigures> f(L);
  for (int l = 0; l < L; ++l) {
    double bal = 0, jain = 0;
    for (int i = 0; i < I; ++i) {
      std::vector<double> rows(R);
      for (int k = 0; k < R; ++k) {
        auto c = [&](const char* n) { return static_cast<double>(r.counts.at(n).at(i, l, k)); };
        f[l].intra += (c("bytes_sent_intra") + c("bytes_sent_intra_combine")) / I;
        f[l].inter += (c("bytes_sent_inter") + c("bytes_sent_inter_combine")) / I;
        rows[k] = c("rows_computed");
      }
      bal += balancedness(rows) / I;
      jain += jain_index(rows) / I;
    }
    f[l].bal = bal;
    f[l].jain = jain;
  }
  return f;
}

StrategyResult place_strategy(const PlaceSetup& s, const std::string& name, const Options& opt) {
  StrategyResult res;
  auto plan = begin_strategy(res, name, find_strategy(name, "--strategy"), opt, s.cfg.model,
                             s.topo, s.slots, s.workload->calibration_stats(), s.cfg.seed,
                             s.workload->oracle());
  if (plan)
    fill_model_measurements(res, *plan, s.cfg, s.topo, s.sys, s.have_system,
                            s.workload->num_batches(),
                            [&](int64_t b) { return s.workload->batch(b); });
  return res;
}

// "rank 0: 3 7 12+" per rank; '+' marks a secondary replica (not the primary).
void print_replica_table(const StrategyResult& r, int l, int R) {
  std::vector<std::string> line(R);
  const auto& reps = r.replicas[l];
  for (int e = 0; e < static_cast<int>(reps.size()); ++e)
    for (size_t k = 0; k < reps[e].size(); ++k)
      line[reps[e][k]] += " " + std::to_string(e) + (k ? "+" : "");
  for (int k = 0; k < R; ++k) std::printf("      rank %d:%s\n", k, line[k].c_str());
}

double reduction(double x, double base) { return base > 0 ? 100.0 * (1.0 - x / base) : 0.0; }

void print_strategy(const StrategyResult& r, const StrategyResult& base, int L, int R, int I,
                    bool table) {
  if (r.status != "complete") {
    std::printf("\n%s: %s: %s\n", r.name.c_str(), r.status.c_str(), r.skip_reason.c_str());
    return;
  }
  std::printf("\n%s  (policy %s%s, placed in %.3f s; options: %s)\n", r.name.c_str(),
              r.replica_policy.c_str(), r.route_transform.empty() ? "" : ", changes routing",
              r.placement_time_s, r.options.empty() ? "none" : r.options.c_str());
  for (const auto& [k, v] : r.notes) std::printf("  note %s: %s\n", k.c_str(), v.c_str());
  if (r.routing_deviation >= 0)
    std::printf("  routing deviation: %.2f%% of (token, expert) choices changed\n",
                100.0 * r.routing_deviation);
  const auto f = figures(r, L, R, I), fb = figures(base, L, R, I);
  std::printf("  %5s %12s %12s %9s %9s %6s %6s %6s %6s\n", "layer", "intra MB", "inter MB",
              "inter -%", "comm -%", "bal", "base", "jain", "base");
  for (int l = 0; l < L; ++l) {
    std::printf("  %5d %12.3f %12.3f %9.1f %9.1f %6.3f %6.3f %6.3f %6.3f\n", l, f[l].intra / 1e6,
                f[l].inter / 1e6, reduction(f[l].inter, fb[l].inter),
                reduction(f[l].intra + f[l].inter, fb[l].intra + fb[l].inter), f[l].bal, fb[l].bal,
                f[l].jain, fb[l].jain);
    if (table) print_replica_table(r, l, R);
  }
}

RunResult provenance(const PlaceSetup& s) {
  const auto& cl = command_line();
  std::vector<const char*> argv;
  for (const auto& x : cl) argv.push_back(x.c_str());
  return model_provenance(static_cast<int>(argv.size()), argv.data(), s.cfg, s.topo, s.sys,
                          s.slots, *s.workload, "model:" + s.sys.name);
}

int place_main(const PlaceArgs& a) {
  PlaceSetup s = prepare(a);
  const int R = s.topo.num_ranks(), L = s.cfg.model.num_layers, I = s.cfg.iterations;
  const std::string out =
      !a.output.empty() ? a.output : safe_file_stem(s.cfg.suite_name) + "-place.h5";
  Hdf5ResultSink sink(out);
  sink.begin(provenance(s));
  std::printf("moebench place: %s, model %s (%d layers, %d experts, top-%d), %d ranks (%s), "
              "%d slots per rank, %d evaluation batch(es), system model %s -> %s\n",
              s.cfg.suite_name.c_str(), s.cfg.model.name.c_str(), L, s.cfg.model.num_experts,
              s.cfg.model.top_k, R, s.topo.describe().c_str(), s.slots, I, s.sys.name.c_str(),
              out.c_str());
  std::printf("traffic = dispatch + combine bytes sent per batch (evaluator counts); '-%%' = "
              "reduction against baseline; bal = mean/max rows per rank; replicas marked '+'\n");
  const PlacementStrategy& bs = find_strategy("baseline", "place");
  const StrategyResult base =
      place_strategy(s, "baseline", resolve_options(bs.spec().options, {}, "baseline"));
  for (const auto& rs : s.strategies) {
    const StrategyResult r = rs.name == "baseline" ? base : place_strategy(s, rs.name, rs.options);
    sink.write_strategy(r);
    print_strategy(r, base, L, R, I, !a.no_table);
    std::fflush(stdout);
  }
  sink.finish("complete");
  std::printf("\nresults: %s%s\n", out.c_str(),
              s.have_system ? "" : " (no system model: times stored as 0; give --system for "
                                   "predicted times)");
  return 0;
}

}  // namespace

void register_place(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<PlaceArgs>();
  auto* sub = app.add_subcommand(
      "place", "compute placements from a suite's calibration part (no MPI): per-layer replica "
               "table and predicted traffic against baseline, written as a results file");
  sub->add_option("suite", a->suite, "suite file (TOML)")->required()->check(CLI::ExistingFile);
  sub->add_option("--strategy,--strategies", a->strategies,
                  "strategy, comma-separated strategies, or 'all' (default: the suite's)");
  sub->add_option("-o,--output", a->output, "results file (default: SUITE-place.h5)");
  sub->add_option("--topology", a->topology, "NODESxRANKS_PER_NODE, e.g. 32x8 (default: the suite's)");
  sub->add_option("--system", a->system,
                  "system model (preset or file) for predicted times (default: the suite's; none = "
                  "counts only)");
  sub->add_option("--batches", a->batches, "evaluation batches the traffic is predicted on (default 1)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("--no-table", a->no_table, "omit the per-layer replica tables");
  sub->callback([a, &exit_code] { exit_code = place_main(*a); });
}

}  // namespace moeb::cli
