#include "experiment/console_sink.hpp"

#include <algorithm>
#include <cstdio>

#include "core/metrics.hpp"
#include "core/oracle_figure.hpp"
#include "core/summary.hpp"

namespace moeb {

namespace {

std::string pad(const std::string& s, size_t w, bool left) {
  if (s.size() >= w) return s;
  return left ? s + std::string(w - s.size(), ' ') : std::string(w - s.size(), ' ') + s;
}
std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

int64_t cube_sum(const StrategyResult& r, const char* key) {
  int64_t t = 0;
  for (int64_t x : r.counts.at(key).data) t += x;
  return t;
}

double layer_sum(const StrategyResult& r, const char* key) {
  auto it = r.predicted.find(key);
  double t = 0;
  if (it != r.predicted.end())
    for (double x : it->second) t += x;
  return t;
}

// A row's name: " (oracle)" marks a strategy calibrated on the evaluation part, except the oracle
// row itself, whose name says it.
std::string row_label(const StrategyResult& r) {
  return result_key(r) + (r.oracle && oracle_objective_of(r).empty() ? " (oracle)" : "");
}

// Shared by the three layouts: the line of a strategy that has no measurements to show.
bool print_status_line(const StrategyResult& r, const char* indent) {
  if (r.status == StrategyStatus::kComplete) return false;
  std::printf("%s%-12s %s: %s\n", indent, r.name.c_str(), to_string(r.status).c_str(),
              r.skip_reason.c_str());
  if (r.status == StrategyStatus::kFailed)
    std::fprintf(stderr, "moebench: error: strategy '%s': %s\n", r.name.c_str(),
                 r.skip_reason.c_str());
  return true;
}

class RunConsole final : public ResultSink {
 public:
  explicit RunConsole(const Experiment& e) : e_(e) {}
  void begin(const RunResult&) override {
    if (quiet()) return;
    const RunConfig& cfg = e_.cells.front().cfg;
    std::printf("moebench run: %s on %d ranks (%s, %s nodes), backend %s, system '%s' -> %s\n",
                cfg.suite_name.c_str(), e_.topo.num_ranks(), e_.topo.describe().c_str(),
                e_.topology_source.c_str(), cfg.backend.c_str(), cfg.system.c_str(),
                e_.output.c_str());
    std::fflush(stdout);
  }
  void write_strategy(const StrategyResult& r) override {
    done_.push_back(r);
    if (r.status == StrategyStatus::kInterrupted) return;  // the command says what happened
    if (quiet()) {
      if (r.status == StrategyStatus::kFailed)  // errors stay
        std::fprintf(stderr, "moebench: error: strategy '%s': %s\n", r.name.c_str(),
                     r.skip_reason.c_str());
      return;
    }
    if (!carried_over(r)) {
      if (!print_status_line(r, "  "))
        std::printf("  %-12s done (placement %.2f ms, %zu iterations, check %lld/%lld wrong)\n",
                    r.name.c_str(), r.placement_time_s * 1e3, r.batch_index.size(),
                    static_cast<long long>(r.wrong_elements),
                    static_cast<long long>(r.checked_elements));
    } else {
      std::printf("  %-12s already complete in %s, not run again\n", r.name.c_str(),
                  e_.request.resume.c_str());
    }
    std::fflush(stdout);
  }
  void finish(RunStatus status) override {
    if (status == RunStatus::kInterrupted) return;
    std::printf("\n%s", summary_table(done_).c_str());
    if (const std::string f = oracle_footnote(e_); !f.empty()) std::printf("%s\n", f.c_str());
    std::printf("\n");
    std::printf("results: %s\n", e_.output.c_str());
  }

 private:
  bool quiet() const { return e_.request.progress == ProgressRequest::kQuiet; }
  bool carried_over(const StrategyResult& r) const {
    for (const auto& [k, v] : r.notes)
      if (k == "carried_over_from") return true;
    return false;
  }
  const Experiment& e_;
  std::vector<StrategyResult> done_;
};

class SimulateConsole final : public ResultSink {
 public:
  explicit SimulateConsole(const Experiment& e) : e_(e) {}
  void begin(const RunResult&) override {
    const RunConfig& cfg = e_.cells.front().cfg;
    std::printf(
        "moebench simulate: %s, model %s (%d layers), %d ranks (%s), system %s, dispatch %s, "
        "%d batch(es) of %lld tokens -> %s\n",
        cfg.suite_name.c_str(), cfg.model.name.c_str(), cfg.model.num_layers,
        e_.topo.num_ranks(), e_.topo.describe().c_str(), e_.system->name.c_str(),
        cfg.dispatch.c_str(), cfg.iterations, static_cast<long long>(cfg.workload.batch_tokens),
        e_.output.c_str());
    std::printf("  %-16s %12s %12s %12s %12s %14s %14s%s\n", "strategy", "dispatch ms", "ffn ms",
                "combine ms", "layers ms", "comm GB/batch", "inter GB/batch",
                oracle_ ? "  of oracle" : "");
  }
  void write_strategy(const StrategyResult& r) override {
    if (print_status_line(r, "  ")) return;
    const double I = static_cast<double>(r.batch_index.size());
    const double inter =
        static_cast<double>(cube_sum(r, "bytes_sent_inter") +
                            cube_sum(r, "bytes_sent_inter_combine")) / I;
    const double all = inter + static_cast<double>(cube_sum(r, "bytes_sent_intra") +
                                                   cube_sum(r, "bytes_sent_intra_combine")) / I;
    const std::string name = row_label(r);
    std::printf("  %-16s %12.3f %12.3f %12.3f %12.3f %14.3f %14.3f", name.c_str(),
                layer_sum(r, "t_dispatch") * 1e3, layer_sum(r, "t_ffn") * 1e3,
                layer_sum(r, "t_combine") * 1e3, layer_sum(r, "t_layer") * 1e3, all / 1e9,
                inter / 1e9);
    if (oracle_) std::printf("  %9s", of_oracle_text(r).c_str());
    std::printf("\n");
    std::fflush(stdout);
  }
  void finish(RunStatus) override {
    std::printf(
        "times are predictions of the cost model summed over layers (medians over batches); "
        "results: %s\n",
        e_.output.c_str());
    if (oracle_) std::printf("%s\n", oracle_footnote(e_).c_str());
  }

 private:
  const Experiment& e_;
  const bool oracle_ = !oracle_footnote(e_).empty();
};

}  // namespace

std::unique_ptr<ResultSink> make_place_console(const Experiment& e, bool replica_tables);

std::unique_ptr<ResultSink> make_console_sink(const Experiment& e, bool replica_tables) {
  switch (e.request.mode) {
    case ExperimentMode::kRun: return std::make_unique<RunConsole>(e);
    case ExperimentMode::kSimulate: return std::make_unique<SimulateConsole>(e);
    case ExperimentMode::kPlace: return make_place_console(e, replica_tables);
  }
  return nullptr;
}

std::string of_oracle_text(const StrategyResult& r) {
  for (const auto& [k, v] : r.notes)
    if (k == kOfOracleNote) return v == "n/a" ? v : v + "%";
  return "-";
}

std::string oracle_footnote(const Experiment& e) {
  for (const auto& i : e.cells.front().instances)
    if (i.fit_on_evaluation)
      return "of oracle: reduction of " + i.options.get_string("objective") +
             " against baseline as a share of the oracle's (summed over layers; bytes and loads "
             "per batch); the oracle is optimal fitted on the evaluation batches measured, a "
             "bound, not deployable; baseline 0%, oracle 100%";
  return "";
}

std::string format_bytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000.0 && u < 4) {
    b /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", b, units[u]);
  return buf;
}

std::string format_rate(double r) {
  if (r >= 1e6) return fmt("%.2fM", r / 1e6);
  if (r >= 1e3) return fmt("%.1fk", r / 1e3);
  return fmt("%.0f", r);
}

namespace {

std::vector<std::string> summary_row(const StrategyResult& r) {
  StrategySummary s = summarize(r);
  double p50 = 0;
  for (double t : s.t_layer_p50) p50 += t;
  p50 /= static_cast<double>(std::max<size_t>(1, s.t_layer_p50.size()));
  std::string ratio = "-";
  auto it = r.predicted.find("t_layer");
  if (it != r.predicted.end() && !it->second.empty()) {
    double pred = 0;
    for (double t : it->second) pred += t;
    pred /= static_cast<double>(it->second.size());
    if (pred > 0) ratio = fmt("%.2f", p50 / pred);
  }
  return {row_label(r), format_bytes(s.total_comm_bytes),
          format_bytes(s.total_inter_node_bytes), fmt("%.1f", 100.0 * s.mean_idle_fraction),
          format_rate(s.batch_throughput), fmt("%.4f", s.mean_jain), fmt("%.3g ms", p50 * 1e3),
          ratio, of_oracle_text(r)};
}

std::string render_table(const std::vector<std::string>& head,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(head.size());
  for (size_t c = 0; c < head.size(); ++c) {
    w[c] = head[c].size();
    for (const auto& row : rows) w[c] = std::max(w[c], row[c].size());
  }
  std::string out = "|";
  for (size_t c = 0; c < head.size(); ++c) out += " " + pad(head[c], w[c], c == 0) + " |";
  out += "\n|";
  for (size_t c = 0; c < head.size(); ++c)
    out += std::string(c == 0 ? ":" : "-") + std::string(w[c], '-') + (c == 0 ? "-|" : ":|");
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (size_t c = 0; c < head.size(); ++c) out += " " + pad(row[c], w[c], c == 0) + " |";
    out += "\n";
  }
  return out;
}

}  // namespace

std::string summary_table(const std::vector<StrategyResult>& results) {
  std::vector<std::string> head = {"strategy", "comm bytes", "inter-node", "idle %",
                                   "tokens/s", "Jain", "t_layer p50", "meas/pred", "of oracle"};
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> notes;
  bool oracle = false;
  for (const auto& r : results) {
    oracle = oracle || !oracle_objective_of(r).empty();
    if (r.status != StrategyStatus::kComplete || r.counts.empty()) {
      const std::string st = to_string(r.status);
      rows.push_back({result_key(r), st, "", "", "", "", "", "", ""});
      if (!r.skip_reason.empty()) notes.push_back(r.name + ": " + st + ": " + r.skip_reason);
      continue;
    }
    rows.push_back(summary_row(r));
  }
  if (!oracle) {  // the column only beside an oracle row
    head.pop_back();
    for (auto& row : rows) row.pop_back();
  }
  std::string out = render_table(head, rows);
  out += "comm bytes: dispatch + combine over all ranks and layers per batch (median over "
         "iterations); idle: sync-probe wait / layer time; tokens/s: batch tokens / median "
         "sum over layers of max-rank layer time; meas/pred: measured / cost-model t_layer.\n";
  for (const auto& n : notes) out += "  " + n + "\n";
  return out;
}

}  // namespace moeb
