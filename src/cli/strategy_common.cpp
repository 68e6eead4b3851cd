#include "cli/strategy_common.hpp"

#include <algorithm>
#include <chrono>
#include <sstream>

#include "core/error.hpp"
#include "core/memory_model.hpp"
#include "io/provenance.hpp"
#include "io/root_attributes.hpp"
#include "placement/registry.hpp"

namespace moeb::cli {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

void select_strategies(RunConfig& cfg, const std::string& list, const std::string& where) {
  std::vector<std::string> names = split_list(list);
  if (names.size() == 1 && names[0] == "all") names = strategy_names();
  cfg.strategies.clear();
  for (const auto& n : names) {
    find_strategy(n, where);
    StrategyConfig sc{n, {}};
    auto it = cfg.strategy_option_tables.find(n);
    if (it != cfg.strategy_option_tables.end()) sc.options = it->second;
    cfg.strategies.push_back(sc);
  }
}

std::optional<PlacementPlan> begin_strategy(StrategyResult& res, const std::string& name,
                                            const PlacementStrategy& strategy,
                                            const Options& options, const ModelSpec& model,
                                            const Topology& topo, int slots_per_rank,
                                            const RoutingStats& calibration, uint64_t seed,
                                            bool oracle) {
  res.name = name;
  res.description = strategy.spec().description;
  res.options = options.describe();
  res.oracle = oracle;
  if (auto reason = strategy.constraints(model, topo, slots_per_rank, options)) {
    res.status = "skipped";
    res.skip_reason = *reason;
    return std::nullopt;
  }
  const auto t0 = std::chrono::steady_clock::now();
  PlacementInput in{model, topo, calibration, slots_per_rank, options, seed};
  PlacementPlan plan = strategy.place(in);
  res.placement_time_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (auto bad = check_placement(plan.placement, model.num_experts, slots_per_rank); !bad.empty())
    throw Error("strategy '" + name + "' produced an invalid placement: " + bad);
  res.replicas.clear();
  res.slots_used.clear();
  for (const auto& lp : plan.placement.layers) {
    res.replicas.push_back(lp.replicas);
    res.slots_used.push_back(lp.slots_used(topo.num_ranks()));
  }
  res.replica_policy = to_string(plan.policy.kind);
  res.route_transform = plan.transform ? plan.transform->name() : "";
  res.notes = plan.notes;
  return plan;
}

namespace {

constexpr int kMaxRanksForRowsMatrix = 256;

void store_counts(StrategyResult& res, int i, int l, const LayerSimulation& ls) {
  const int R = static_cast<int>(ls.rows_computed.size());
  for (int r = 0; r < R; ++r) {
    auto c = [&](const char* n) -> int64_t& { return res.counts.at(n).at(i, l, r); };
    c("tokens_owned") = ls.tokens_owned[r];
    c("rows_computed") = ls.rows_computed[r];
    c("bytes_sent_intra") = ls.dispatch[r].sent_intra;
    c("bytes_sent_inter") = ls.dispatch[r].sent_inter;
    c("bytes_recv_intra") = ls.dispatch[r].recv_intra;
    c("bytes_recv_inter") = ls.dispatch[r].recv_inter;
    c("bytes_sent_intra_combine") = ls.combine[r].sent_intra;
    c("bytes_sent_inter_combine") = ls.combine[r].sent_inter;
    c("bytes_recv_intra_combine") = ls.combine[r].recv_intra;
    c("bytes_recv_inter_combine") = ls.combine[r].recv_inter;
  }
}

// Times per rank as a run with sync probes records them: each rank waits in the probe until the
// slowest rank arrives, so every rank's layer ends together.
void store_times(StrategyResult& res, int i, int l, const LayerPrediction& p, int R) {
  double before = 0;
  for (int r = 0; r < R; ++r) before = std::max(before, p.rank_gate[r] + p.rank_permute[r]);
  for (int r = 0; r < R; ++r) {
    auto t = [&](const char* n) -> double& { return res.times.at(n).at(i, l, r); };
    t("t_gate") = p.rank_gate[r];
    t("t_permute") = p.rank_permute[r];
    t("t_wait_dispatch") = before - p.rank_gate[r] - p.rank_permute[r];
    t("t_dispatch") = p.t_dispatch;
    t("t_ffn") = p.rank_ffn[r];
    t("t_wait_combine") = p.t_ffn - p.rank_ffn[r];
    t("t_combine") = p.t_combine;
    t("t_unpermute") = p.rank_unpermute[r];
    t("t_layer") = before + p.t_dispatch + p.t_ffn + p.t_combine + p.rank_unpermute[r];
  }
}

}  // namespace

void fill_model_measurements(StrategyResult& res, const PlacementPlan& plan, const RunConfig& cfg,
                             const Topology& topo, const SystemModel& sys, bool predict,
                             int64_t num_batches,
                             const std::function<RoutingTrace(int64_t)>& batch) {
  const ModelSpec& m = cfg.model;
  const int R = topo.num_ranks(), L = m.num_layers, I = cfg.iterations;
  for (const auto& n : count_metric_names()) res.counts[n].resize(I, L, R);
  for (const auto& n : time_metric_names()) res.times[n].resize(I, L, R);
  const bool keep_rows = R <= kMaxRanksForRowsMatrix;
  if (keep_rows) res.rows_matrix.assign(L, std::vector<int64_t>(static_cast<size_t>(R) * R, 0));
  std::vector<std::vector<LayerPrediction>> per_iter;
  int64_t changed = 0, choices = 0;
  // Memory model: the batch that fits next to this placement's experts, predicted throughput.
  const auto mem = predict ? memory_spec(m, sys,
                                         {cfg.context_tokens, cfg.reserved_memory_gib,
                                          cfg.kv_dtype, cfg.expert_dtype,
                                          cfg.model_preset.empty()
                                              ? 0
                                              : model_preset(cfg.model_preset).num_layers})
                           : std::nullopt;
  const MemoryFit fit = mem ? fit_batch(plan.placement, *mem, cfg.suite_path) : MemoryFit{};
  std::vector<double> t_fit, t_sim;
  for (int i = 0; i < I; ++i) {
    const int64_t b = i % num_batches;
    RoutingTrace tokens = batch(b);
    res.batch_index.push_back(b);
    res.batch_tokens.push_back(tokens.num_tokens());
    choices += tokens.num_tokens() * tokens.top_k() * L;
    SimulateOptions so;
    so.dispatch = cfg.dispatch;
    so.dedup = plan_dedup(plan, cfg.dedup);
    so.keep_rows = keep_rows;
    so.seed = cfg.seed;
    so.batch_index = b;
    so.scale_to_tokens = fit.batch_tokens;
    const auto sims = simulate_batch(sys, m, topo, plan.placement, plan.policy.kind,
                                     plan.transform.get(), std::move(tokens), so);
    if (static_cast<int>(sims.size()) != L)
      throw Error("strategy '" + res.name + "' covers " + std::to_string(sims.size()) +
                  " layers, expected " + std::to_string(L));
    std::vector<LayerPrediction> preds;
    for (int l = 0; l < L; ++l) {
      store_counts(res, i, l, sims[l]);
      if (predict) store_times(res, i, l, sims[l].pred, R);
      changed += sims[l].changed_choices;
      if (keep_rows)
        for (size_t k = 0; k < sims[l].rows.size(); ++k) res.rows_matrix[l][k] += sims[l].rows[k];
      preds.push_back(sims[l].pred);
    }
    if (mem) {
      std::vector<LayerPrediction> scaled;
      for (const auto& s : sims) scaled.push_back(s.pred_scaled);
      t_fit.push_back(predicted_throughput(fit.batch_tokens, scaled));
      t_sim.push_back(predicted_throughput(res.batch_tokens.back(), preds));
    }
    per_iter.push_back(std::move(preds));
  }
  if (plan.transform && choices > 0) res.routing_deviation = static_cast<double>(changed) / choices;
  if (predict) {
    res.predicted = predicted_phase_times(per_iter);
    res.predicted_system_model = sys.name;
  }
  if (mem && !t_fit.empty()) {
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    for (auto& n : memory_notes(fit, median(t_fit), median(t_sim))) res.notes.push_back(n);
  }
}

RunResult model_provenance(int argc, const char* const* argv, const RunConfig& cfg,
                           const Topology& topo, const SystemModel& sys, int slots_per_rank,
                           const Workload& workload, const std::string& device_label) {
  RunResult prov = collect_local_provenance(argc, argv);
  add_config_provenance(prov, cfg);
  const int R = topo.num_ranks();
  const std::string host = prov.hostnames.empty() ? local_hostname() : prov.hostnames[0];
  prov.hostnames.assign(R, host);
  prov.rank_node = topo.node_of_rank();
  prov.rank_device.assign(R, device_label);
  const double row = static_cast<double>(sys.row_bytes(cfg.model));
  set_root_attr(prov, "backend", std::string("model"));
  set_root_attr(prov, "system", cfg.system);
  set_root_attr(prov, "system_model", sys.name);
  set_root_attr(prov, "num_ranks", static_cast<double>(R));
  set_root_attr(prov, "num_nodes", static_cast<double>(topo.num_nodes()));
  set_root_attr(prov, "topology", topo.describe());
  set_root_attr(prov, "topology_source", std::string("suite"));
  set_root_attr(prov, "slots_per_rank", static_cast<double>(slots_per_rank));
  set_root_attr(prov, "act_dtype", sys.device.act_dtype);
  set_root_attr(prov, "dispatch_row_bytes", row);
  set_root_attr(prov, "combine_row_bytes", row);
  set_root_attr(prov, "probe_overhead", 0.0);
  set_root_attr(prov, "sync_probe", 0.0);
  for (const auto& [k, v] : workload.provenance()) set_root_attr(prov, k, v);
  return prov;
}

}  // namespace moeb::cli
