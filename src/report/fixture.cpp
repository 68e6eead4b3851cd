#include "report/fixture.hpp"

#include <algorithm>
#include <cmath>

namespace moeb::report {
namespace {

// Token copies src -> dst of one (iteration, layer): each rank sends top_k copies of each token
// it owns (no dedup), `self_share` of them to itself, the rest spread over the other ranks by
// weight (same node 1, other node inter_weight, rank 0 boosted). Integer rounding goes to self.
std::vector<int64_t> copies_matrix(const FixtureSpec& spec, const FixtureStrategy& st, int layer) {
  const int R = spec.nodes * spec.ranks_per_node;
  std::vector<int64_t> m(static_cast<size_t>(R) * R, 0);
  for (int src = 0; src < R; ++src) {
    const int64_t owned = static_cast<int64_t>(src + 1) * spec.batch_tokens / R -
                          static_cast<int64_t>(src) * spec.batch_tokens / R;
    const int64_t total = owned * spec.top_k;
    std::vector<double> w(R, 0.0);
    double wsum = 0;
    for (int dst = 0; dst < R; ++dst) {
      if (dst == src) continue;
      const bool same_node = dst / spec.ranks_per_node == src / spec.ranks_per_node;
      w[dst] = (same_node ? 1.0 : st.inter_weight) * (dst == 0 ? 1.0 + st.hot_rank_boost : 1.0) *
               (1.0 + 0.125 * ((dst + layer) % 2));
      wsum += w[dst];
    }
    const double remote = std::floor(static_cast<double>(total) * (1.0 - st.self_share));
    int64_t sent = 0;
    for (int dst = 0; dst < R; ++dst) {
      if (dst == src || wsum == 0) continue;
      const int64_t c = static_cast<int64_t>(std::floor(remote * w[dst] / wsum));
      m[static_cast<size_t>(src) * R + dst] = c;
      sent += c;
    }
    m[static_cast<size_t>(src) * R + src] = total - sent;
  }
  return m;
}

// Contiguous placement: expert e on rank e * R / experts, one replica each.
void fill_placement(const FixtureSpec& spec, StrategyResult& s) {
  const int R = spec.nodes * spec.ranks_per_node, L = spec.layers;
  s.replicas.assign(L, {});
  s.slots_used.assign(L, std::vector<int>(R, 0));
  for (int l = 0; l < L; ++l)
    for (int e = 0; e < spec.experts; ++e) {
      const int r = e * R / spec.experts;
      s.replicas[l].push_back({r});
      ++s.slots_used[l][r];
    }
}

// Counts of rank r in (iteration i, layer l) from the copies matrix m; returns its rows.
int64_t fill_rank_counts(const FixtureSpec& spec, const std::vector<int64_t>& m, int i, int l,
                         int r, StrategyResult& s) {
  const int R = spec.nodes * spec.ranks_per_node;
  const int64_t rb = spec.row_bytes;
  auto node = [&](int x) { return x / spec.ranks_per_node; };
  s.counts["tokens_owned"].at(i, l, r) = static_cast<int64_t>(r + 1) * spec.batch_tokens / R -
                                         static_cast<int64_t>(r) * spec.batch_tokens / R;
  int64_t rows = 0;
  for (int src = 0; src < R; ++src) rows += m[static_cast<size_t>(src) * R + r];
  s.counts["rows_computed"].at(i, l, r) = rows;
  for (int peer = 0; peer < R; ++peer) {
    if (peer == r) continue;
    const bool intra = node(peer) == node(r);
    const int64_t out = m[static_cast<size_t>(r) * R + peer] * rb;
    const int64_t in = m[static_cast<size_t>(peer) * R + r] * rb;
    s.counts[intra ? "bytes_sent_intra" : "bytes_sent_inter"].at(i, l, r) += out;
    s.counts[intra ? "bytes_recv_intra" : "bytes_recv_inter"].at(i, l, r) += in;
    // Combine mirrors dispatch: results go back to where the copies came from.
    s.counts[intra ? "bytes_sent_intra_combine" : "bytes_sent_inter_combine"].at(i, l, r) += in;
    s.counts[intra ? "bytes_recv_intra_combine" : "bytes_recv_inter_combine"].at(i, l, r) += out;
  }
  return rows;
}

// Phase times of every rank in (iteration i, layer l), from its sent bytes and FFN time.
void fill_times(const FixtureSpec& spec, const FixtureStrategy& st, int i, int l,
                const std::vector<double>& ffn, StrategyResult& s) {
  const int R = spec.nodes * spec.ranks_per_node;
  double ffn_max = 0;
  for (double f : ffn) ffn_max = std::max(ffn_max, f);
  for (int r = 0; r < R; ++r) {
    // A deterministic jitter so that medians and percentiles are not trivial.
    const double jitter = 1.0 + 0.05 * ((i * 7 + l * 3 + r) % 4);
    const double scale = st.time_scale * jitter;
    const double sent = static_cast<double>(s.counts["bytes_sent_intra"].at(i, l, r) +
                                            4 * s.counts["bytes_sent_inter"].at(i, l, r));
    auto& t = s.times;
    t["t_gate"].at(i, l, r) = 2e-5 * scale;
    t["t_permute"].at(i, l, r) = 1e-5 * scale;
    t["t_dispatch"].at(i, l, r) = 1e-9 * sent * scale;
    t["t_ffn"].at(i, l, r) = ffn[r] * jitter;
    t["t_combine"].at(i, l, r) = 1e-9 * sent * scale;
    t["t_unpermute"].at(i, l, r) = 1e-5 * scale;
    t["t_wait_dispatch"].at(i, l, r) = 1e-5 * (R - 1 - r) * scale;
    t["t_wait_combine"].at(i, l, r) = (ffn_max - ffn[r]) * jitter;
    double total = 0;
    for (const char* n : {"t_gate", "t_permute", "t_dispatch", "t_ffn", "t_combine", "t_unpermute",
                          "t_wait_dispatch", "t_wait_combine"})
      total += t[n].at(i, l, r);
    t["t_layer"].at(i, l, r) = total;
  }
}

// Predictions: 0.8 of the first iteration's slowest rank, per layer.
void fill_predictions(int I, int L, int R, StrategyResult& s) {
  for (const char* n : {"t_dispatch", "t_ffn", "t_combine", "t_layer"}) {
    auto& p = s.predicted[n];
    for (int l = 0; l < L; ++l) {
      double mx = 0;
      for (int r = 0; r < R; ++r) mx = std::max(mx, I > 0 ? s.times[n].at(0, l, r) : 0.0);
      p.push_back(0.8 * mx);
    }
  }
}

void fill_strategy(const FixtureSpec& spec, const FixtureStrategy& st, StrategyResult& s) {
  const int R = spec.nodes * spec.ranks_per_node, L = spec.layers;
  const int I = st.iterations >= 0 ? st.iterations : spec.iterations;
  fill_placement(spec, s);
  for (const auto& n : count_metric_names()) s.counts[n].resize(I, L, R);
  for (const auto& n : time_metric_names()) s.times[n].resize(I, L, R);
  s.rows_matrix.assign(L, std::vector<int64_t>(static_cast<size_t>(R) * R, 0));
  for (int i = 0; i < I; ++i) {
    s.batch_index.push_back(i);
    s.batch_tokens.push_back(spec.batch_tokens);
    for (int l = 0; l < L; ++l) {
      const auto m = copies_matrix(spec, st, l);
      for (size_t k = 0; k < m.size(); ++k) s.rows_matrix[l][k] += m[k];
      std::vector<double> ffn(R);
      for (int r = 0; r < R; ++r)
        ffn[r] = 1e-6 * static_cast<double>(fill_rank_counts(spec, m, i, l, r, s)) * st.time_scale;
      fill_times(spec, st, i, l, ffn, s);
    }
  }
  if (spec.predicted) fill_predictions(I, L, R, s);
  s.checked_elements = static_cast<int64_t>(8) * R * L;
}

}  // namespace

RunResult make_fixture_run(const FixtureSpec& spec) {
  RunResult run;
  const int R = spec.nodes * spec.ranks_per_node;
  auto& a = run.attrs_str;
  auto& n = run.attrs_num;
  n["schema_version"] = spec.schema_version;
  a["moebench_version"] = "0.1.0";
  a["git_sha"] = "fixture";
  n["git_dirty"] = 0;
  a["build_type"] = spec.build_type;
  a["compiler"] = "fixture";
  a["command_line"] = "moebench run " + spec.suite + ".toml (synthetic fixture)";
  a["start_time"] = "2026-01-01T00:00:00Z";
  a["end_time"] = "2026-01-01T00:01:00Z";
  a["status"] = spec.status;
  a["suite_name"] = spec.suite;
  a["suite_path"] = "suites/" + spec.suite + ".toml";
  a["system"] = spec.system;
  a["backend"] = spec.backend;
  n["seed"] = 42;
  n["num_ranks"] = R;
  n["num_nodes"] = spec.nodes;
  a["topology"] = std::to_string(spec.nodes) + "x" + std::to_string(spec.ranks_per_node);
  a["topology_source"] = "suite";
  a["model_preset"] = spec.model;
  n["num_experts"] = spec.experts;
  n["top_k"] = spec.top_k;
  const int hidden = spec.hidden > 0 ? spec.hidden : spec.row_bytes / 2;
  n["hidden"] = hidden;
  n["ffn_hidden"] = spec.row_bytes;
  n["num_layers"] = spec.layers;
  n["num_shared_experts"] = 0;
  a["act_dtype"] = "bf16";
  n["dispatch_row_bytes"] = spec.row_bytes;
  n["combine_row_bytes"] = spec.row_bytes;
  a["dispatch"] = "flat";
  n["dedup"] = 0;
  n["sync_probe"] = 1;
  n["probe_overhead"] = 1e-6;
  n["slots_per_rank"] = (spec.experts + R - 1) / R;
  a["trace_source"] = "synthetic";
  a["split"] = "fraction";
  n["oracle"] = 0;
  run.config_toml = "[suite]\nname = \"" + spec.suite + "\"\nsystem = \"" + spec.system +
                    "\"\nseed = 42\n\n[model]\npreset = \"" + spec.model +
                    "\"\nhidden = " + std::to_string(hidden) + "\nffn_hidden = " +
                    std::to_string(spec.row_bytes) + "\n\n[run]\niterations = " +
                    std::to_string(spec.iterations) + "\ndispatch = \"flat\"\ndedup = false\n";
  run.env = spec.env;
  for (const auto& [k, v] : spec.attrs) n[k] = v;
  for (int r = 0; r < R; ++r) {
    run.hostnames.push_back("node" + std::to_string(r / spec.ranks_per_node));
    run.rank_node.push_back(r / spec.ranks_per_node);
    run.rank_device.push_back("cpu");
  }
  for (const auto& fs : spec.strategies) {
    StrategyResult s;
    s.name = fs.name;
    s.status = parse_strategy_status(fs.status, true).value_or(StrategyStatus::kFailed);
    s.skip_reason = fs.skip_reason;
    s.description = "fixture strategy " + fs.name;
    s.oracle = fs.oracle;
    s.routing_deviation = fs.routing_deviation;
    s.placement_time_s = 0.001;
    s.options = fs.options;
    s.replica_policy = "primary";
    if (fs.status != "skipped") fill_strategy(spec, fs, s);
    run.strategies.push_back(std::move(s));
  }
  return run;
}

}  // namespace moeb::report
