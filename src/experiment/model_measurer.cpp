// The model measurer: every evaluation batch routed once under the plan (core/batch_routing),
// counted by the evaluator and, with a system model, timed by the cost model.
#include <algorithm>

#include "core/cost_model.hpp"
#include "core/error.hpp"
#include "core/memory_model.hpp"
#include "experiment/measurer.hpp"
#include "io/provenance.hpp"
#include "runtime/stop_signal.hpp"

namespace moeb {

namespace {

constexpr int kMaxRanksForRowsMatrix = 256;
// Routed batches kept per instance when iterations revisit batches.
constexpr size_t kRoutedBatchBytes = size_t{1} << 30;

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

class ModelMeasurer final : public Measurer {
 public:
  MeasurementProvenance prepare(Experiment& e) override {
    sys_ = e.system ? *e.system : counting_only_system();
    const int R = e.topo.num_ranks();
    const std::string device =
        e.request.mode == ExperimentMode::kSimulate && !sys_.device.name.empty()
            ? sys_.device.name
            : sys_.name;
    MeasurementProvenance p;
    p.backend = "model";
    p.hostnames.assign(R, local_hostname());
    p.rank_device.assign(R, "model:" + device);
    p.act_dtype = sys_.device.act_dtype;
    p.dispatch_row_bytes = p.combine_row_bytes = sys_.row_bytes(e.cells.at(e.active_cell).cfg.model);
    p.system_model = sys_.name;
    return p;
  }

  MeasurementProvenance prepare_cell(Experiment& e, const MeasurementProvenance&) override {
    return prepare(e);
  }
  void measure(const Experiment& e, const ExperimentCell& cell, const StrategyInstance& inst,
               const PlacementPlan& plan, StrategyResult& res) override;

 private:
  SystemModel sys_;
};

void ModelMeasurer::measure(const Experiment& e, const ExperimentCell& cell,
                            const StrategyInstance& inst, const PlacementPlan& plan,
                            StrategyResult& res) {
  (void)inst;
  sys_ = e.system ? *e.system : counting_only_system();  // the running cell's
  const RunConfig& cfg = cell.cfg;
  const int R = e.topo.num_ranks(), L = cfg.model.num_layers, I = cfg.iterations;
  const bool predict = e.system.has_value();
  BatchRouter router([&](int64_t b) { return e.batches->get(b); }, routing_rule(plan), e.topo,
                     cfg.seed, L, kRoutedBatchBytes);
  res.resize_measurements(I, L, R);
  const bool keep_rows = R <= kMaxRanksForRowsMatrix;
  if (keep_rows) res.rows_matrix.assign(L, std::vector<int64_t>(static_cast<size_t>(R) * R, 0));
  SimulateOptions so;
  so.dispatch = cell.dispatch;
  so.dedup = plan_dedup(plan, cfg.dedup);  // a plan may override the run's dedup (megablocks)
  so.keep_rows = keep_rows;
  // Memory model: the batch that fits next to this placement's experts, predicted throughput.
  const auto mem = predict ? memory_spec(cfg.model, sys_, memory_config(cfg)) : std::nullopt;
  const MemoryFit fit = mem ? fit_batch(plan.placement, *mem, cfg.suite_path) : MemoryFit{};
  so.scale_to_tokens = fit.batch_tokens;
  MemoryThroughput thr;
  std::vector<std::vector<LayerPrediction>> per_iter;
  for (int i = 0; i < I; ++i) {
    if (stop_requested()) throw Interrupted("stopped on request at batch " + std::to_string(i));
    RoutedBatch& batch = router.get(i % e.batches->num_batches());
    res.batch_index.push_back(batch.index());
    res.batch_tokens.push_back(batch.trace().num_tokens());
    const auto sims = simulate_routed(sys_, cfg.model, e.topo, batch, so);
    std::vector<LayerPrediction> preds;
    for (int l = 0; l < L; ++l) {
      for (int r = 0; r < R; ++r) {
        res.store(i, l, r, sims[l].count_row(r));
        if (predict) res.store(i, l, r, sims[l].time_row(r));
      }
      if (keep_rows)
        for (size_t k = 0; k < sims[l].rows.size(); ++k) res.rows_matrix[l][k] += sims[l].rows[k];
      preds.push_back(sims[l].pred);
    }
    if (mem) {
      std::vector<LayerPrediction> scaled;
      for (const auto& sim : sims) scaled.push_back(sim.pred_scaled);
      thr.add(fit, res.batch_tokens.back(), scaled, preds);
    }
    per_iter.push_back(std::move(preds));
    if (e.progress) e.progress->iteration(i + 1, 0, I);
  }
  res.routing_deviation = router.deviation(res.batch_index);
  if (predict) {
    res.predicted = predicted_phase_times(per_iter);
    res.predicted_system_model = sys_.name;
  }
  if (mem)
    for (auto& n : memory_notes(fit, thr)) res.notes.push_back(n);
}

}  // namespace

std::unique_ptr<Measurer> make_model_measurer() { return std::make_unique<ModelMeasurer>(); }

}  // namespace moeb
