// `moebench place`'s console: per strategy, per layer traffic against the reference (baseline)
// and the replica table of every rank.
#include <cstdio>

#include "core/metrics.hpp"
#include "core/oracle_figure.hpp"
#include "experiment/console_sink.hpp"

namespace moeb {

namespace {

// Per-layer figures printed next to the reference's.
struct LayerFigures {
  double intra = 0, inter = 0, bal = 0, jain = 0;
};

std::vector<LayerFigures> figures(const StrategyResult& r, int L, int R) {
  const int I = static_cast<int>(r.batch_index.size());
  std::vector<LayerFigures> f(L);
  for (int l = 0; l < L && I > 0; ++l)
    for (int i = 0; i < I; ++i) {
      std::vector<double> rows(R);
      for (int k = 0; k < R; ++k) {
        auto c = [&](const char* n) { return static_cast<double>(r.counts.at(n).at(i, l, k)); };
        f[l].intra += (c("bytes_sent_intra") + c("bytes_sent_intra_combine")) / I;
        f[l].inter += (c("bytes_sent_inter") + c("bytes_sent_inter_combine")) / I;
        rows[k] = c("rows_computed");
      }
      f[l].bal += balancedness(rows) / I;
      f[l].jain += jain_index(rows) / I;
    }
  return f;
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

class PlaceConsole final : public ResultSink {
 public:
  PlaceConsole(const Experiment& e, bool tables) : e_(e), tables_(tables) {}
  void begin(const RunResult&) override {
    const RunConfig& cfg = e_.cells.front().cfg;
    std::printf("moebench place: %s, model %s (%d layers, %d experts, top-%d), %d ranks (%s), "
                "%d slots per rank, %d evaluation batch(es), system model %s -> %s\n",
                cfg.suite_name.c_str(), cfg.model.name.c_str(), cfg.model.num_layers,
                cfg.model.num_experts, cfg.model.top_k, e_.topo.num_ranks(),
                e_.topo.describe().c_str(), e_.slots_per_rank, cfg.iterations,
                e_.system ? e_.system->name.c_str() : "none", e_.output.c_str());
    std::printf("traffic = dispatch + combine bytes sent per batch (evaluator counts); '-%%' = "
                "reduction against %s; bal = mean/max rows per rank; replicas marked '+'\n",
                e_.reference.c_str());
  }
  void reference(const StrategyResult& r) override { ref_ = r; }
  void write_strategy(const StrategyResult& r) override;
  void finish(RunStatus) override {
    if (const std::string f = oracle_footnote(e_); !f.empty()) std::printf("\n%s", f.c_str());
    std::printf("\nresults: %s%s\n", e_.output.c_str(),
                e_.system ? "" : " (no system model: times stored as 0; give --system for "
                                 "predicted times)");
  }

 private:
  const Experiment& e_;
  bool tables_;
  StrategyResult ref_;
};

void PlaceConsole::write_strategy(const StrategyResult& r) {
  if (r.status != StrategyStatus::kComplete) {
    std::printf("\n%s: %s: %s\n", r.name.c_str(), to_string(r.status).c_str(),
                r.skip_reason.c_str());
    return;
  }
  const int L = e_.cells.front().cfg.model.num_layers, R = e_.topo.num_ranks();
  std::printf("\n%s%s  (policy %s%s, placed in %.3f s; options: %s)\n", r.name.c_str(),
              r.oracle && oracle_objective_of(r).empty() ? " (oracle)" : "",
              r.replica_policy.c_str(), r.route_transform.empty() ? "" : ", changes routing",
              r.placement_time_s, r.options.empty() ? "none" : r.options.c_str());
  for (const auto& [k, v] : r.notes)
    if (k != kOfOracleNote) std::printf("  note %s: %s\n", k.c_str(), v.c_str());
  if (const std::string f = of_oracle_text(r); f != "-")
    std::printf("  of oracle: %s%s\n", f.c_str(), r.oracle ? " (the oracle row)" : "");
  if (r.routing_deviation >= 0)
    std::printf("  routing deviation: %.2f%% of (token, expert) choices changed\n",
                100.0 * r.routing_deviation);
  const auto f = figures(r, L, R);
  const auto fb = ref_.status == StrategyStatus::kComplete ? figures(ref_, L, R) : f;
  std::printf("  %5s %12s %12s %9s %9s %6s %6s %6s %6s\n", "layer", "intra MB", "inter MB",
              "inter -%", "comm -%", "bal", "base", "jain", "base");
  for (int l = 0; l < L; ++l) {
    std::printf("  %5d %12.3f %12.3f %9.1f %9.1f %6.3f %6.3f %6.3f %6.3f\n", l, f[l].intra / 1e6,
                f[l].inter / 1e6, reduction(f[l].inter, fb[l].inter),
                reduction(f[l].intra + f[l].inter, fb[l].intra + fb[l].inter), f[l].bal, fb[l].bal,
                f[l].jain, fb[l].jain);
    if (tables_) print_replica_table(r, l, R);
  }
  std::fflush(stdout);
}

}  // namespace

std::unique_ptr<ResultSink> make_place_console(const Experiment& e, bool replica_tables) {
  return std::make_unique<PlaceConsole>(e, replica_tables);
}

}  // namespace moeb
