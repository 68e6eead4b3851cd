// The model measurer: every evaluation batch routed once under the plan (core/batch_routing),
// counted by the evaluator and, with a system model, timed by the cost model.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>

#include "core/batch_routing.hpp"
#include "core/cost_model.hpp"
#include "core/error.hpp"
#include "core/evaluator.hpp"
#include "core/memory_model.hpp"
#include "core/parallel.hpp"
#include "core/routing.hpp"
#include "experiment/measurer.hpp"
#include "io/provenance.hpp"
#include "runtime/stop_signal.hpp"

namespace moeb {

namespace {

constexpr int kMaxRanksForRowsMatrix = 256;
// The model measurer (simulate) measures a cell's instances together: per evaluation batch,
// each layer is drawn once (Workload::batch_layer, never the whole batch for a synthetic
// workload) and counted under every instance, layers on default_threads() threads
// (MOEB_THREADS); each (instance, layer) writes only its own cells, so results do not depend
// on the thread count.
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

// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID): the phase split stays comparable on
// a loaded machine, where wall time counts the waits for a core.
std::chrono::nanoseconds thread_cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// Thread CPU seconds of the measuring pass: drawing the layers and counting them under every job.
struct PhaseClock {
  int threads = 1;
  std::mutex mutex;
  double generation_s = 0, evaluation_s = 0;
  void add(std::chrono::nanoseconds gen, std::chrono::nanoseconds eval) {
    std::lock_guard<std::mutex> lock(mutex);
    generation_s += std::chrono::duration<double>(gen).count();
    evaluation_s += std::chrono::duration<double>(eval).count();
  }
};

void check_batch_shape(const RoutingTrace& t, int64_t b, const ModelSpec& m);

class ModelMeasurer final : public Measurer {
 public:
  MeasurementProvenance prepare(Experiment& e) override {
    sys_ = e.system ? *e.system : counting_only_system();
    const int R = e.topo.num_ranks();
    const std::string device =
        e.request.mode == ExperimentMode::kSimulate && !sys_.device.name.empty() ? sys_.device.name
                                                                                 : sys_.name;
    MeasurementProvenance p;
    p.backend = "model";
    p.hostnames.assign(R, local_hostname());
    p.rank_device.assign(R, "model:" + device);
    p.act_dtype = sys_.device.act_dtype;
    p.dispatch_row_bytes = p.combine_row_bytes =
        sys_.row_bytes(e.cells.at(e.active_cell).cfg.model);
    p.system_model = sys_.name;
    return p;
  }

  MeasurementProvenance prepare_cell(Experiment& e, const MeasurementProvenance&) override {
    return prepare(e);
  }
  void measure(const Experiment& e, const ExperimentCell& cell, const StrategyInstance& inst,
               const PlacementPlan& plan, StrategyResult& res) override;
  bool measures_together(const Experiment& e) const override {
    return e.request.mode == ExperimentMode::kSimulate;
  }
  void measure_together(const Experiment& e, std::vector<Job>& jobs) override;
  size_t measurement_bytes(const ExperimentCell& cell, bool counts_as_earlier) const override {
    const auto R = static_cast<size_t>(cell.topo.num_ranks());
    const auto L = static_cast<size_t>(cell.cfg.model.num_layers);
    const auto I = static_cast<size_t>(std::max(cell.cfg.iterations, 1));
    const size_t metrics = count_metric_names().size() + time_metric_names().size();
    // The cubes, the rows matrix unless the cell counts as an earlier one, and the job's
    // running batch's predictions (two per layer with 4 per-rank vectors each).
    return I * L * R * metrics * sizeof(double) +
           (R <= kMaxRanksForRowsMatrix && !counts_as_earlier ? L * R * R * sizeof(int64_t) : 0) +
           2 * L * (4 * R * sizeof(double) + sizeof(LayerPrediction));
  }

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

// ---- measure_together: every instance of a cell on each batch layer drawn once -------------

// A layer's counts under one job with flat dispatch, before the cost model.
struct LayerCounts {
  LayerTraffic lt;
  std::vector<int64_t> touched;  // experts touched per rank
  int64_t tokens = 0;
};

// One job's state through the batches: its options, memory model and what it accumulates.
struct TogetherState {
  const ExperimentCell* cell = nullptr;  // the job's (its own topology and system: a sweep's
                                         // cells sharing the workload are measured together)
  const Topology* topo = nullptr;
  SystemModel sys;  // the cell's system, else counting_only_system()
  bool predict = false;
  // Counts shared between jobs that count alike (cells of a system sweep): a follower takes
  // its leader's counts of each layer (leader >= 0, an earlier job); a leader keeps them.
  int leader = -1;
  bool leads = false;
  const PlacementPlan* plan = nullptr;
  StrategyResult* res = nullptr;
  RoutingRule rule;
  SimulateOptions so;
  std::optional<MemorySpec> mem;
  MemoryFit fit;
  MemoryThroughput thr;
  std::vector<std::vector<LayerPrediction>> per_iter;
  std::vector<LayerPrediction> preds, scaled;  // [layer] of the running batch
  std::vector<int64_t> changed;                // [layer] of the running batch
  double changed_sum = 0, choices_sum = 0;
  // The cubes, looked up once: threads write distinct cells of them.
  std::vector<Cube<int64_t>*> counts;
  std::vector<Cube<double>*> times;
  // [layer]: expert -> its one rank when the layer can be counted per expert (every expert one
  // replica, no rank hosting two, flat dispatch with dedup: evaluate_by_expert); else empty.
  std::vector<std::vector<int32_t>> rank_of;
};

// A thread's buffers for one layer, reused across layers and batches (no allocation per layer):
// the drawn layer, a transformed copy, the routing and the per-expert counts.
struct LayerScratch {
  std::vector<int32_t> experts, work, dest;
  std::vector<float> weights, work_w;
  ExpertCounts shared, own;  // the drawn layer's (shared by jobs without transform); a job's
  bool shared_ready = false;
  std::vector<LayerCounts> counted;  // [job]: a leading job's counts of the layer (its followers')
  // [job]: a counting job's counts of the layer priced (counted_cost_input) at each pair of row
  // sizes asked for: its own, and its followers' systems'.
  std::vector<std::vector<LayerCostInput>> priced;
  size_t placeholder_weights = 0;     // weights holds this many ranked placeholders (else 0)
};

// Scratch handed to the threads of the measuring pass: taken for a layer, given back after.
class ScratchPool {
 public:
  std::unique_ptr<LayerScratch> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (free_.empty()) return std::make_unique<LayerScratch>();
    auto s = std::move(free_.back());
    free_.pop_back();
    return s;
  }
  void give(std::unique_ptr<LayerScratch> s) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(s));
  }

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<LayerScratch>> free_;
};

// Jobs that count every layer alike (flat dispatch, the same route transform object or none,
// placement, replica policy, seed, dedup and topology: the cells of a system sweep, whose plans
// are placed once) share the counting: each follows the first such job (TogetherState::leader);
// only the cost model runs per job.
void find_leaders(std::vector<TogetherState>& states) {
  std::vector<std::string> placement(states.size());
  for (size_t j = 0; j < states.size(); ++j) {
    TogetherState& st = states[j];
    if (st.so.dispatch != DispatchMode::kFlat) continue;
    placement[j] = encode_placement(st.plan->placement);
    for (size_t i = 0; i < j; ++i) {
      const TogetherState& o = states[i];
      if (placement[i].empty() || o.leader >= 0 || o.rule.policy != st.rule.policy ||
          o.rule.transform != st.rule.transform ||
          o.cell->cfg.seed != st.cell->cfg.seed || o.so.dedup != st.so.dedup ||
          o.so.keep_rows != st.so.keep_rows ||
          o.topo->node_of_rank() != st.topo->node_of_rank() ||
          o.cell->cfg.model.num_experts != st.cell->cfg.model.num_experts ||
          o.cell->cfg.model.top_k != st.cell->cfg.model.top_k || placement[i] != placement[j])
        continue;
      st.leader = static_cast<int>(i);
      states[i].leads = true;
      break;
    }
  }
}

// Layer `lp`'s expert -> rank table when it routes each expert to one rank and no rank hosts
// two experts; else empty.
std::vector<int32_t> injective_ranks(const LayerPlacement& lp, int num_ranks) {
  std::vector<int32_t> rank_of(static_cast<size_t>(lp.num_experts()));
  std::vector<char> used(static_cast<size_t>(num_ranks), 0);
  for (int e = 0; e < lp.num_experts(); ++e) {
    if (lp.replicas[e].size() != 1) return {};
    const int r = lp.replicas[e][0];
    if (r < 0 || r >= num_ranks || used[r]) return {};
    used[r] = 1;
    rank_of[e] = r;
  }
  return rank_of;
}

void init_state(Measurer::Job& job, TogetherState& st) {
  const RunConfig& cfg = job.cell.cfg;
  const int R = job.cell.topo.num_ranks(), L = cfg.model.num_layers, I = cfg.iterations;
  st.cell = &job.cell;
  st.topo = &job.cell.topo;
  st.predict = job.cell.system.has_value();
  st.sys = st.predict ? *job.cell.system : counting_only_system();
  const SystemModel& sys = st.sys;
  st.plan = job.plan;
  st.res = job.res;
  st.rule = routing_rule(*job.plan);
  StrategyResult& res = *job.res;
  res.resize_measurements(I, L, R);
  for (const auto& n : count_metric_names()) st.counts.push_back(&res.counts.at(n));
  for (const auto& n : time_metric_names()) st.times.push_back(&res.times.at(n));
  st.so.dispatch = job.cell.dispatch;
  st.so.dedup = plan_dedup(*job.plan, cfg.dedup);
  st.so.keep_rows = R <= kMaxRanksForRowsMatrix;  // allocated by measure_together
  st.mem = st.predict ? memory_spec(cfg.model, sys, memory_config(cfg)) : std::nullopt;
  st.fit = st.mem ? fit_batch(job.plan->placement, *st.mem, cfg.suite_path) : MemoryFit{};
  st.so.scale_to_tokens = st.fit.batch_tokens;
  st.preds.assign(L, {});
  st.scaled.assign(L, {});
  st.changed.assign(L, 0);
  st.rank_of.assign(L, {});
  if (st.so.dispatch == DispatchMode::kFlat && st.so.dedup)
    for (int l = 0; l < L; ++l)
      st.rank_of[l] = injective_ranks(job.plan->placement.layers.at(l), R);
}

// Counts of layer `l` under job `st` with flat dispatch, before the cost model: the rows matrix,
// loads and experts touched (what counted_cost_input takes). `experts` and `weights` are
// the drawn layer (left unchanged); `sc` is the thread's scratch. Returns false for
// hierarchical dispatch, which st's caller simulates from the routing itself (`ids`, sc.dest).
bool count_job_layer(TogetherState& st, int64_t b, int l, std::span<const int32_t> experts,
                     std::span<const float> weights, const TrafficOptions& topt,
                     LayerScratch& sc, std::span<const int32_t>& ids, LayerCounts& out) {
  const RunConfig& cfg = st.cell->cfg;
  const Topology& topo = *st.topo;
  const int k = cfg.model.top_k, R = topo.num_ranks(), E = cfg.model.num_experts;
  ids = experts;
  const bool per_expert = !st.rank_of[l].empty();
  if (st.rule.transform && per_expert) {  // counted as transformed, the layer not written
    st.changed[l] = st.rule.transform->count_layer(l, k, experts, weights, R, E, sc.own);
  } else if (st.rule.transform) {
    sc.work.assign(experts.begin(), experts.end());
    sc.work_w.assign(weights.begin(), weights.end());
    st.rule.transform->apply_layer(l, k, sc.work, sc.work_w);
    st.changed[l] = count_changed_choices(experts, sc.work, k);
    ids = sc.work;
  }
  out.tokens = static_cast<int64_t>(ids.size()) / k;
  out.touched.clear();
  if (per_expert) {  // counted per expert: no routing, no pass per choice
    ExpertCounts* counts = &sc.shared;
    if (st.rule.transform) {
      counts = &sc.own;
    } else if (!sc.shared_ready) {
      count_experts(ids, k, R, E, sc.shared);
      sc.shared_ready = true;
    }
    out.lt = evaluate_by_expert(*counts, st.rank_of[l], topo, topt, out.touched);
    out.tokens = counts->num_tokens;
  } else if (st.so.dispatch == DispatchMode::kFlat && StatelessRoute::applies(st.rule.policy)) {
    // Routed and counted in one pass, no array of destinations.
    const StatelessRoute route(st.plan->placement.layers[l], st.rule.policy,
                               RouteContext{cfg.seed, l, b});
    out.lt = evaluate_stateless_layer(route, ids, k, E, topo, topt, out.touched);
  } else if (st.so.dispatch == DispatchMode::kFlat) {  // stateful policies, also in one pass
    StatefulRoute route(st.plan->placement.layers[l], st.rule.policy, topo,
                        RouteContext{cfg.seed, l, b}, ids.size());
    out.lt = evaluate_stateful_layer(route, ids, k, E, topo, topt, out.touched);
  } else {
    sc.dest.resize(ids.size());
    route_layer(st.plan->placement.layers[l], st.rule.policy, topo, ids, k,
                RouteContext{cfg.seed, l, b}, sc.dest);
    return false;
  }
  return true;
}

// Layer `l` of batch `b` (iteration `i`) under job `st`, `j` in `states`: counted (or, when it
// counts as an earlier job does, that job's counts taken), then timed by its cost model, and
// stored in its cubes.
void simulate_job_layer(std::vector<TogetherState>& states, size_t j, int i, int64_t b, int l,
                        std::span<const int32_t> experts, std::span<const float> weights,
                        LayerScratch& sc) {
  TogetherState& st = states[j];
  const RunConfig& cfg = st.cell->cfg;
  const Topology& topo = *st.topo;
  const int R = topo.num_ranks();
  LayerSimulation sim;
  std::span<const int32_t> ids;
  const TrafficOptions topt = simulate_traffic_options(st.sys, cfg.model, st.so);
  LayerCounts own;
  const LayerCounts* counted = &own;
  if (st.leader >= 0) {
    counted = &sc.counted[static_cast<size_t>(st.leader)];
    st.changed[l] = states[static_cast<size_t>(st.leader)].changed[l];
  } else if (!count_job_layer(st, b, l, experts, weights, topt, sc, ids, own)) {
    sim = simulate_layer(st.sys, cfg.model, topo, ids, sc.dest, cfg.model.top_k,
                         cfg.model.num_experts, st.so);
    counted = nullptr;
  }
  if (counted) {  // the counts read where they are (a follower's are its leader's)
    SimulateOptions so = st.so;
    so.keep_rows = false;  // added to the rows matrix below from the counts themselves
    // Priced once per row size for all the jobs that read these counts: a job that counts for
    // itself comes first in each layer and drops the inputs of the layer before.
    auto& priced = sc.priced[st.leader >= 0 ? static_cast<size_t>(st.leader) : j];
    if (st.leader < 0) priced.clear();
    auto in = std::find_if(priced.begin(), priced.end(), [&](const LayerCostInput& p) {
      return p.dispatch_row_bytes == topt.dispatch_row_bytes &&
             p.combine_row_bytes == topt.combine_row_bytes;
    });
    if (in == priced.end())
      in = priced.insert(priced.end(), counted_cost_input(st.sys, cfg.model, topo, counted->lt,
                                                          counted->touched, so));
    sim = simulate_cost_input(st.sys, cfg.model, topo, *in, counted->tokens, so);
  }
  for (int r = 0; r < R; ++r) {
    const CountRow c = sim.count_row(r);
    for (size_t m = 0; m < st.counts.size(); ++m) st.counts[m]->at(i, l, r) = c[m];
    if (!st.predict) continue;
    const TimeRow t = sim.time_row(r);
    for (size_t m = 0; m < st.times.size(); ++m) st.times[m]->at(i, l, r) = t[m];
  }
  if (st.so.keep_rows && st.leader < 0) {  // a follower's are its leader's (Job::rows_from)
    auto& acc = st.res->rows_matrix[l];
    const std::vector<int64_t>& rows = counted ? counted->lt.rows : sim.rows;
    for (size_t x = 0; x < rows.size(); ++x) acc[x] += rows[x];
  }
  if (st.leads) sc.counted[j] = std::move(own);  // for its followers, later in this layer
  st.preds[l] = std::move(sim.pred);
  st.scaled[l] = std::move(sim.pred_scaled);
}

// Batch `b` as iteration `i` of every job: its layers on threads, each drawn once.
void simulate_batch_together(const Experiment& e, std::vector<TogetherState>& states, int i,
                             int64_t b,
                             PhaseClock& clock, ScratchPool& pool) {
  const ModelSpec& model = states.front().cell->cfg.model;
  const int L = model.num_layers, k = model.top_k;
  bool need_weights = false, order_only = true;
  for (const auto& st : states)
    if (st.rule.transform) {
      need_weights = true;
      order_only &= st.rule.transform->reads_weight_order_only();
    }
  std::optional<RoutingTrace> whole;  // a source that cannot draw one layer alone (traces)
  if (!e.workload->layers_alone()) {
    whole = e.batches->get(b);
    check_batch_shape(*whole, b, model);
  }
  const int64_t T = whole ? whole->num_tokens() : e.workload->batch_num_tokens(b);
  const size_t n = static_cast<size_t>(T) * k;
  // Weights whose order alone matters, of a source whose weights are ranked (synthetic): not
  // drawn; every token gets k, k-1, ..., 1 instead (the same order, so the same choices).
  const bool placeholders = need_weights && order_only && !whole && e.workload->ranked_weights();
  parallel_for(L, clock.threads, [&](int l) {
    const auto t0 = thread_cpu_now();
    std::unique_ptr<LayerScratch> sc = pool.take();
    std::vector<int32_t>& experts = sc->experts;
    std::vector<float>& weights = sc->weights;
    experts.resize(n);
    weights.resize(need_weights ? n : 0);
    sc->shared_ready = false;
    if (placeholders && sc->placeholder_weights != n) {
      for (size_t x = 0; x < n; ++x) weights[x] = static_cast<float>(k - static_cast<int>(x % k));
      sc->placeholder_weights = n;
    } else if (!placeholders) {
      sc->placeholder_weights = 0;  // overwritten below, or not used
    }
    if (whole) {
      const auto ids = whole->layer_experts(l);
      std::copy(ids.begin(), ids.end(), experts.begin());
      if (need_weights) {
        const auto ws = whole->layer_weights(l);
        std::copy(ws.begin(), ws.end(), weights.begin());
      }
    } else {
      e.workload->batch_layer(b, l, experts, placeholders ? std::span<float>() : weights);
    }
    const auto t1 = thread_cpu_now();
    if (sc->counted.size() < states.size()) sc->counted.resize(states.size());
    if (sc->priced.size() < states.size()) sc->priced.resize(states.size());
    for (size_t j = 0; j < states.size(); ++j)
      simulate_job_layer(states, j, i, b, l, experts, weights, *sc);
    pool.give(std::move(sc));
    clock.add(t1 - t0, thread_cpu_now() - t1);
  });
  for (auto& st : states) {
    StrategyResult& res = *st.res;
    res.batch_index.push_back(b);
    res.batch_tokens.push_back(T);
    if (st.rule.transform) {
      int64_t changed = 0;
      for (int64_t c : st.changed) changed += c;
      st.changed_sum += static_cast<double>(changed);
      st.choices_sum += static_cast<double>(T * k * L);
    }
    if (st.mem) st.thr.add(st.fit, T, st.scaled, st.preds);
    // The batch's phase times: a job keeps them, not the 4 x R per-rank times with them.
    auto& times = st.per_iter.emplace_back();
    for (const LayerPrediction& p : st.preds) times.push_back(p.phase_times());
  }
}

// A whole batch (a trace source) holds the model's layers, top-k and experts.
void check_batch_shape(const RoutingTrace& t, int64_t b, const ModelSpec& m) {
  const std::string where = "workload batch " + std::to_string(b);
  if (t.num_layers() < m.num_layers || t.top_k() != m.top_k)
    throw InputError(where + ": " + std::to_string(t.num_layers()) + " layers of top-" +
                     std::to_string(t.top_k()) + ", the run needs " + std::to_string(m.num_layers) +
                     " of top-" + std::to_string(m.top_k));
  if (t.num_experts() != m.num_experts)
    throw InputError(where + ": " + std::to_string(t.num_experts()) + " experts, the model has " +
                     std::to_string(m.num_experts));
}

void ModelMeasurer::measure_together(const Experiment& e, std::vector<Job>& jobs) {
  if (jobs.empty()) return;
  std::vector<TogetherState> states(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) init_state(jobs[j], states[j]);
  find_leaders(states);
  for (size_t j = 0; j < jobs.size(); ++j) {
    TogetherState& st = states[j];
    if (!st.so.keep_rows) continue;
    if (st.leader >= 0) {  // the same rows as its leader's: not held twice
      jobs[j].rows_from = states[static_cast<size_t>(st.leader)].res;
      continue;
    }
    const size_t R = static_cast<size_t>(st.topo->num_ranks());
    st.res->rows_matrix.assign(static_cast<size_t>(st.cell->cfg.model.num_layers),
                               std::vector<int64_t>(R * R, 0));
  }
  PhaseClock clock;
  clock.threads = default_threads();
  ScratchPool pool;
  const int I = jobs.front().cell.cfg.iterations;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < I; ++i) {
    if (stop_requested()) throw Interrupted("stopped on request at batch " + std::to_string(i));
    simulate_batch_together(e, states, i, i % e.batches->num_batches(), clock, pool);
    if (e.progress) e.progress->iteration(i + 1, 0, I);
  }
  for (auto& st : states) {
    StrategyResult& res = *st.res;
    res.routing_deviation = !st.rule.transform   ? -1.0
                            : st.choices_sum > 0 ? st.changed_sum / st.choices_sum
                                                 : 0.0;
    if (st.predict) {
      res.predicted = predicted_phase_times(st.per_iter);
      res.predicted_system_model = st.sys.name;
    }
    if (st.mem)
      for (auto& note : memory_notes(st.fit, st.thr)) res.notes.push_back(note);
  }
  if (e.phases) {
    e.phases->measure_s +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    e.phases->generation_thread_s += clock.generation_s;
    e.phases->evaluation_thread_s += clock.evaluation_s;
    e.phases->threads = clock.threads;
  }
}

}  // namespace

std::unique_ptr<Measurer> make_model_measurer() { return std::make_unique<ModelMeasurer>(); }

}  // namespace moeb
