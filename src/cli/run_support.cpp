#include "cli/run_support.hpp"

#include <algorithm>
#include <cstdio>

#include "core/error.hpp"
#include "core/summary.hpp"
#include "platform/mpi_env.hpp"

namespace moeb::cli {

Topology resolve_topology(const RunConfig& cfg, MPI_Comm comm, std::string& source) {
  const int size = mpi::size(comm);
  const std::string where = cfg.suite_path.empty() ? std::string("suite") : cfg.suite_path;
  if (cfg.nodes > 0) {
    source = "suite";
    if (cfg.ranks_per_node > 0 && cfg.nodes * cfg.ranks_per_node != size)
      throw ConfigError(where + ": key 'topology': " + std::to_string(cfg.nodes) + " nodes x " +
                        std::to_string(cfg.ranks_per_node) + " ranks per node needs " +
                        std::to_string(cfg.nodes * cfg.ranks_per_node) + " MPI ranks, got " +
                        std::to_string(size));
    if (size % cfg.nodes != 0)
      throw ConfigError(where + ": key 'topology.nodes': " + std::to_string(size) +
                        " MPI ranks do not divide into " + std::to_string(cfg.nodes) +
                        " equal nodes");
    return Topology::uniform(cfg.nodes, size / cfg.nodes);
  }
  source = "mpi";
  return Topology::from_node_map(mpi::node_map(comm));
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
  char buf[32];
  if (r >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", r / 1e6);
  else if (r >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", r / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", r);
  return buf;
}

}  // namespace moeb::cli

namespace moeb::cli {

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
}  // namespace

std::string summary_table(const std::vector<StrategyResult>& results, int top_k) {
  (void)top_k;
  const std::vector<std::string> head = {"strategy", "comm bytes", "inter-node", "idle %",
                                         "tokens/s", "Jain", "t_layer p50", "meas/pred"};
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> notes;
  for (const auto& r : results) {
    if (r.status != "complete" || r.counts.empty()) {
      rows.push_back({r.name, r.status, "", "", "", "", "", ""});
      if (!r.skip_reason.empty()) notes.push_back(r.name + ": " + r.status + ": " + r.skip_reason);
      continue;
    }
    StrategySummary s = summarize(r);
    double p50 = 0;
    for (double t : s.t_layer_p50) p50 += t;
    p50 /= std::max<size_t>(1, s.t_layer_p50.size());
    std::string ratio = "-";
    auto it = r.predicted.find("t_layer");
    if (it != r.predicted.end() && !it->second.empty()) {
      double pred = 0;
      for (double t : it->second) pred += t;
      pred /= static_cast<double>(it->second.size());
      if (pred > 0) ratio = fmt("%.2f", p50 / pred);
    }
    rows.push_back({r.name + (r.oracle ? " (oracle)" : ""), format_bytes(s.total_comm_bytes),
                    format_bytes(s.total_inter_node_bytes),
                    fmt("%.1f", 100.0 * s.mean_idle_fraction), format_rate(s.batch_throughput),
                    fmt("%.4f", s.mean_jain), fmt("%.3g ms", p50 * 1e3), ratio});
  }
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
  out += "comm bytes: dispatch + combine over all ranks and layers per batch (median over "
         "iterations); idle: sync-probe wait / layer time; tokens/s: batch tokens / median "
         "sum over layers of max-rank layer time; meas/pred: measured / cost-model t_layer.\n";
  for (const auto& n : notes) out += "  " + n + "\n";
  return out;
}

}  // namespace moeb::cli
