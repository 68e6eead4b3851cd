// A small, self-consistent RunResult for results I/O and validate tests: R = 4 ranks on 2 nodes,
// L = 2 layers, E = 8 experts, top-2, I = 3 iterations of 16 tokens. The counts are derived
// from actual (seeded) routing with dedup per destination rank, so every validate rule holds.
#pragma once

#include <cstdint>
#include <random>
#include <set>
#include <string>

#include "core/results.hpp"

namespace moeb::fixture {

constexpr int kRanks = 4, kNodes = 2, kLayers = 2, kExperts = 8, kTopK = 2, kIters = 3;
constexpr int64_t kBatchTokens = 16, kRowBytes = 1024;

inline StrategyResult make_strategy(const std::string& name, uint64_t seed, bool second_replica,
                                    int iters = kIters) {
  StrategyResult s;
  s.name = name;
  s.description = "test strategy " + name;
  s.options = "replica_policy=\"primary\"";
  s.replica_policy = "primary";
  s.placement_time_s = 0.001 * static_cast<double>(seed);
  s.notes = {{"zeta", "last"}, {"alpha", "first, with \"quotes\""}};
  s.checked_elements = 4096;
  s.max_abs_err = 1.5e-6;
  // Placement: expert e on rank e * R / E; optionally a second replica on the next rank.
  s.replicas.assign(kLayers, std::vector<std::vector<int>>(kExperts));
  s.slots_used.assign(kLayers, std::vector<int>(kRanks, 0));
  for (int l = 0; l < kLayers; ++l)
    for (int e = 0; e < kExperts; ++e) {
      const int p = e * kRanks / kExperts;
      s.replicas[l][e] = {p};
      if (second_replica && e % 4 == 0) s.replicas[l][e].push_back((p + 1) % kRanks);
      for (int r : s.replicas[l][e]) ++s.slots_used[l][r];
    }
  for (const auto& n : count_metric_names()) s.counts[n].resize(iters, kLayers, kRanks);
  for (const auto& n : time_metric_names()) s.times[n].resize(iters, kLayers, kRanks);
  s.rows_matrix.assign(kLayers, std::vector<int64_t>(kRanks * kRanks, 0));
  std::mt19937_64 rng(seed);
  auto node = [](int r) { return r * kNodes / kRanks; };
  for (int i = 0; i < iters; ++i) {
    s.batch_index.push_back(i);
    s.batch_tokens.push_back(kBatchTokens);
    for (int l = 0; l < kLayers; ++l) {
      for (int64_t t = 0; t < kBatchTokens; ++t) {
        const int owner = static_cast<int>(t * kRanks / kBatchTokens);
        ++s.counts["tokens_owned"].at(i, l, owner);
        std::set<int> experts;
        while (static_cast<int>(experts.size()) < kTopK)
          experts.insert(static_cast<int>(rng() % kExperts));
        std::set<int> dests;
        for (int e : experts) {
          const int d = s.replicas[l][e][0];  // primary policy
          ++s.counts["rows_computed"].at(i, l, d);
          dests.insert(d);
        }
        for (int d : dests) {
          ++s.rows_matrix[l][owner * kRanks + d];
          if (d == owner) continue;
          const char* kind = node(d) == node(owner) ? "intra" : "inter";
          s.counts[std::string("bytes_sent_") + kind].at(i, l, owner) += kRowBytes;
          s.counts[std::string("bytes_recv_") + kind].at(i, l, d) += kRowBytes;
          s.counts[std::string("bytes_sent_") + kind + "_combine"].at(i, l, d) += kRowBytes;
          s.counts[std::string("bytes_recv_") + kind + "_combine"].at(i, l, owner) += kRowBytes;
        }
      }
      for (int r = 0; r < kRanks; ++r) {
        double total = 0;
        for (const auto& n : time_metric_names()) {
          if (n == "t_layer") continue;
          const double v = 1e-4 * static_cast<double>(1 + rng() % 100);
          s.times[n].at(i, l, r) = v;
          total += v;
        }
        s.times["t_layer"].at(i, l, r) = total;
      }
    }
  }
  return s;
}

inline RunResult make_run() {
  RunResult r;
  r.attrs_str = {{"moebench_version", "0.1.0"},
                 {"git_sha", "abc123"},
                 {"build_type", "Release"},
                 {"compiler", "GCC 12"},
                 {"command_line", "moebench run suites/x.toml"},
                 {"start_time", "2026-01-01T00:00:00Z"},
                 {"system", "loopback"},
                 {"backend", "cpu"},
                 {"suite_name", "fixture"},
                 {"topology", "2x2"},
                 {"dispatch", "flat"},
                 {"mpi_version", "Open MPI v4.1.4"},
                 {"slurm_job_id", "12345"}};
  r.attrs_num = {{"git_dirty", 1},
                 {"seed", 42},
                 {"num_ranks", kRanks},
                 {"num_nodes", kNodes},
                 {"num_experts", kExperts},
                 {"top_k", kTopK},
                 {"num_layers", kLayers},
                 {"hidden", 64},
                 {"ffn_hidden", 128},
                 {"num_shared_experts", 0},
                 {"dispatch_row_bytes", kRowBytes},
                 {"combine_row_bytes", kRowBytes},
                 {"dedup", 1},
                 {"sync_probe", 1},
                 {"probe_overhead", 2.5e-6},
                 {"slots_per_rank", 3}};
  r.hostnames = {"node-a", "node-a", "node-b", "node-b"};
  r.rank_node = {0, 0, 1, 1};
  r.rank_device = {"cpu0", "cpu1", "cpu0", "cpu1"};
  r.env = {"OMPI_MCA_btl=self,tcp", "UCX_TLS=rc"};
  r.config_toml = "[suite]\nname = \"fixture\"\n";
  r.strategies.push_back(make_strategy("baseline", 1, false));
  r.strategies.push_back(make_strategy("replicated", 2, true));
  StrategyResult skipped;
  skipped.name = "skipped_one";
  skipped.status = StrategyStatus::kSkipped;
  skipped.skip_reason = "needs 2 nodes";
  r.strategies.push_back(skipped);
  r.strategies[1].predicted = {{"t_layer", {1e-3, 2e-3}}, {"t_dispatch", {3e-4, 4e-4}}};
  r.strategies[1].predicted_system_model = "loopback";
  r.strategies[1].routing_deviation = 0.125;
  r.strategies[1].route_transform = "c2r(T=4)";
  r.strategies[1].oracle = true;
  return r;
}

}  // namespace moeb::fixture
