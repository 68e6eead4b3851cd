#include "runtime/harness.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/expert_weights.hpp"
#include "core/metrics.hpp"
#include "core/reference.hpp"
#include "core/routing.hpp"
#include "runtime/backend.hpp"
#include "runtime/check.hpp"
#include "runtime/layer_engine.hpp"
#include "runtime/transport.hpp"

namespace moeb {

namespace {

constexpr int kMaxRowsMatrixRanks = 256;

void validate(const Transport& transport, const Topology& topo, const ModelSpec& model,
              const PlacementPlan& plan, int64_t num_batches, const HarnessOptions& opt) {
  if (opt.iterations < 1 || opt.warmup < 0)
    throw ConfigError("timing: iterations must be >= 1 and warmup >= 0 (got " +
                      std::to_string(opt.iterations) + ", " + std::to_string(opt.warmup) + ")");
  if (opt.check && opt.check_samples < 1)
    throw ConfigError("check_samples must be >= 1 when check is on");
  if (topo.num_ranks() != transport.size())
    throw ConfigError("topology has " + std::to_string(topo.num_ranks()) + " ranks but the run has " +
                      std::to_string(transport.size()));
  if (plan.placement.num_layers() < model.num_layers)
    throw ConfigError("placement has " + std::to_string(plan.placement.num_layers()) +
                      " layers, model runs " + std::to_string(model.num_layers));
  if (num_batches < 1) throw ConfigError("workload has no evaluation batches");
}

// Experts of `lp` with a replica on rank `me`.
std::vector<int32_t> hosted_experts(const LayerPlacement& lp, int me) {
  std::vector<int32_t> out;
  for (int e = 0; e < lp.num_experts(); ++e)
    if (std::find(lp.replicas[e].begin(), lp.replicas[e].end(), me) != lp.replicas[e].end())
      out.push_back(e);
  return out;
}

// Per-rank measurements of the measured iterations, flat: [iteration][layer][metric].
struct LocalMeasurements {
  int iterations = 0, layers = 0, ranks = 0;
  std::vector<int64_t> counts;
  std::vector<double> times;
  std::vector<int64_t> rows;  // [layer][dst]: token copies this rank sent, summed
  void init(int i, int l, int r) {
    iterations = i;
    layers = l;
    ranks = r;
    counts.assign(static_cast<size_t>(i) * l * kNumCountMetrics, 0);
    times.assign(static_cast<size_t>(i) * l * kNumTimeMetrics, 0.0);
    rows.assign(static_cast<size_t>(l) * r, 0);
  }
  void store(int i, int l, const LayerSample& s) {
    const size_t base = static_cast<size_t>(i) * layers + l;
    std::copy(s.counts.begin(), s.counts.end(), counts.begin() + base * kNumCountMetrics);
    std::copy(s.times.begin(), s.times.end(), times.begin() + base * kNumTimeMetrics);
    for (int r = 0; r < ranks; ++r) rows[static_cast<size_t>(l) * ranks + r] += s.rows_sent_to[r];
  }
};

// This rank's owned tokens of the current batch (global indices).
struct DispatchRange {
  int64_t begin = 0, end = 0;
};

// Owned-token inputs of one layer, generated outside every timed region.
std::vector<float> layer_inputs(uint64_t seed, int layer, int64_t batch_index,
                                const DispatchRange& range, int hidden) {
  const size_t H = static_cast<size_t>(hidden);
  std::vector<float> x(static_cast<size_t>(range.end - range.begin) * H);
  for (int64_t t = range.begin; t < range.end; ++t)
    fill_token_input(seed, layer, input_token_id(batch_index, t),
                     std::span<float>(x).subspan(static_cast<size_t>(t - range.begin) * H, H));
  return x;
}

// Stop flag agreed by every rank (MAX): any rank asked -> all stop at the same boundary.
void poll_stop(Transport& transport, const HarnessOptions& opt, int iteration) {
  double flag[1] = {opt.stop_requested && opt.stop_requested() ? 1.0 : 0.0};
  transport.allreduce_max(flag);
  if (flag[0] > 0)
    throw Interrupted("run stopped on request at iteration " + std::to_string(iteration));
}

void reduce_check(Transport& transport, CheckTotals& c) {
  int64_t n[2] = {c.checked_elements, c.wrong_elements};
  transport.allreduce_sum(n);
  double m[1] = {c.max_abs_err};
  transport.allreduce_max(m);
  c.checked_elements = n[0];
  c.wrong_elements = n[1];
  c.max_abs_err = m[0];
}

// Gathers every rank's measurements to rank 0 and fills `out`'s cubes and rows matrix; other
// ranks fill only their own column.
void gather_results(Transport& transport, const LocalMeasurements& m, StrategyResult& out) {
  const int R = transport.size(), me = transport.rank();
  const int I = m.iterations, L = m.layers;
  std::vector<int64_t> all_counts;
  std::vector<double> all_times;
  std::vector<int64_t> all_rows;
  if (me == 0) {
    all_counts.resize(m.counts.size() * R);
    all_times.resize(m.times.size() * R);
    all_rows.resize(m.rows.size() * R);
  }
  transport.gather_to_root(m.counts.data(), static_cast<int64_t>(m.counts.size() * sizeof(int64_t)),
                           all_counts.data());
  transport.gather_to_root(m.times.data(), static_cast<int64_t>(m.times.size() * sizeof(double)),
                           all_times.data());
  transport.gather_to_root(m.rows.data(), static_cast<int64_t>(m.rows.size() * sizeof(int64_t)),
                           all_rows.data());
  out.resize_measurements(I, L, R);
  for (int r = 0; r < R; ++r) {
    if (me != 0 && r != me) continue;
    const int64_t* c = me == 0 ? all_counts.data() + m.counts.size() * r : m.counts.data();
    const double* t = me == 0 ? all_times.data() + m.times.size() * r : m.times.data();
    for (int i = 0; i < I; ++i)
      for (int l = 0; l < L; ++l) {
        const size_t base = static_cast<size_t>(i) * L + l;
        CountRow cr;
        TimeRow tr;
        std::copy_n(c + base * kNumCountMetrics, kNumCountMetrics, cr.begin());
        std::copy_n(t + base * kNumTimeMetrics, kNumTimeMetrics, tr.begin());
        out.store(i, l, r, cr);
        out.store(i, l, r, tr);
      }
  }
  out.rows_matrix.clear();
  if (R > kMaxRowsMatrixRanks) return;
  out.rows_matrix.assign(L, std::vector<int64_t>(static_cast<size_t>(R) * R, 0));
  for (int src = 0; src < R; ++src) {
    if (me != 0 && src != me) continue;
    const int64_t* rows = me == 0 ? all_rows.data() + m.rows.size() * src : m.rows.data();
    for (int l = 0; l < L; ++l)
      for (int dst = 0; dst < R; ++dst)
        out.rows_matrix[l][static_cast<size_t>(src) * R + dst] =
            rows[static_cast<size_t>(l) * R + dst];
  }
}

LayerInput layer_input(const Topology& topo, RoutedBatch& batch, int layer,
                       const HarnessOptions& opt) {
  LayerInput in;
  in.topo = &topo;
  in.batch = &batch;
  in.layer = layer;
  in.dedup = opt.dedup;
  in.sync_probe = opt.sync_probe;
  in.hierarchical = opt.dispatch == DispatchMode::kHierarchical;
  return in;
}

// Hands this rank's whole layer output to the caller's hook (outside timed regions).
void inspect_output(Backend& backend, int layer, const DispatchRange& range, int hidden,
                    const HarnessOptions& opt) {
  std::vector<int64_t> all(static_cast<size_t>(range.end - range.begin));
  for (size_t t = 0; t < all.size(); ++t) all[t] = static_cast<int64_t>(t);
  std::vector<float> y(all.size() * static_cast<size_t>(hidden));
  backend.read_output(all, y);
  opt.inspect_output(layer, range.begin, y);
}

}  // namespace

void run_harness(Backend& backend, Transport& transport, const Topology& topo,
                 const ModelSpec& model, const PlacementPlan& plan, const Workload& workload,
                 const HarnessOptions& opt, StrategyResult& out) {
  BatchRouter router([&](int64_t b) { return workload.batch(b); }, routing_rule(plan), topo,
                     opt.seed, model.num_layers, 0);
  run_harness(backend, transport, topo, model, plan, router, workload.num_batches(), opt, out);
}

namespace {

// Runs the layers of one iteration; on the first measured one, hands outputs to the hook and
// checks them.
void run_iteration(Backend& backend, Transport& transport, const Topology& topo,
                   const ModelSpec& model, RoutedBatch& batch, int measured,
                   const HarnessOptions& opt, LocalMeasurements& m, LayerState& state,
                   ReferenceExperts& ref, CheckTotals& check) {
  const int R = transport.size(), me = transport.rank();
  const int64_t bi = batch.index(), T = batch.trace().num_tokens();
  const DispatchRange range{token_begin(me, T, R), token_begin(me + 1, T, R)};
  batch.clear_routes();  // routed inside the gate phase of every iteration
  for (int l = 0; l < model.num_layers; ++l) {
    backend.set_input(layer_inputs(opt.seed, l, bi, range, model.hidden), range.end - range.begin);
    const LayerSample s = run_layer(backend, transport, layer_input(topo, batch, l, opt), state);
    if (measured < 0) continue;
    m.store(measured, l, s);
    if (measured != 0) continue;
    if (opt.inspect_output) inspect_output(backend, l, range, model.hidden, opt);
    if (opt.check) {
      const CheckParams cp{opt.seed,          me,           bi,          range.begin, range.end,
                           opt.check_samples, opt.check_rtol, opt.check_atol};
      check_layer_output(backend, batch.trace(), l, cp, ref, check);
    }
  }
}

}  // namespace

void run_harness(Backend& backend, Transport& transport, const Topology& topo,
                 const ModelSpec& model, const PlacementPlan& plan, BatchRouter& router,
                 int64_t num_batches, const HarnessOptions& opt, StrategyResult& out) {
  validate(transport, topo, model, plan, num_batches, opt);
  if (opt.dispatch == DispatchMode::kHierarchical && !backend.supports_hierarchical())
    throw ConfigError("dispatch: backend '" + backend.name() +
                      "' does not support hierarchical dispatch");
  const int R = transport.size(), me = transport.rank(), L = model.num_layers;
  for (int l = 0; l < L; ++l)
    backend.load_experts(opt.seed, l, hosted_experts(plan.placement.layers[l], me));

  LocalMeasurements m;
  m.init(opt.iterations, L, R);
  out.batch_index.assign(opt.iterations, 0);
  out.batch_tokens.assign(opt.iterations, 0);
  CheckTotals check;
  ReferenceExperts ref(opt.seed, model.hidden, model.ffn_hidden);
  LayerState state;

  for (int it = 0; it < opt.warmup + opt.iterations; ++it) {
    poll_stop(transport, opt, it);
    if (opt.before_iteration) opt.before_iteration(it);
    const int measured = it - opt.warmup;  // < 0 during warm-up
    const int64_t bi = (measured < 0 ? it : measured) % num_batches;
    RoutedBatch& batch = router.get(bi);
    if (measured >= 0) {
      out.batch_index[measured] = bi;
      out.batch_tokens[measured] = batch.trace().num_tokens();
    }
    run_iteration(backend, transport, topo, model, batch, measured, opt, m, state, ref, check);
    if (measured == 0 && opt.check) reduce_check(transport, check);
    if (opt.on_iteration) opt.on_iteration(it + 1, opt.warmup, opt.iterations);
  }

  gather_results(transport, m, out);
  out.checked_elements = check.checked_elements;
  out.wrong_elements = check.wrong_elements;
  out.max_abs_err = check.max_abs_err;
  if (check.wrong_elements > 0)
    throw CheckFailed("correctness check failed for strategy '" + out.name + "': " +
                      std::to_string(check.wrong_elements) + " of " +
                      std::to_string(check.checked_elements) + " checked elements wrong (max |err| " +
                      std::to_string(check.max_abs_err) + ", rtol " +
                      std::to_string(opt.check_rtol) + ", atol " + std::to_string(opt.check_atol) +
                      ")");
}

double measure_probe_overhead(Backend& backend, Transport& transport, int repetitions) {
  std::vector<double> samples;
  samples.reserve(static_cast<size_t>(std::max(repetitions, 1)));
  backend.synchronize();
  for (int i = 0; i < std::max(repetitions, 1); ++i) {
    transport.barrier();  // synchronizes the ranks; the next barrier is the probe being timed
    const auto t0 = std::chrono::steady_clock::now();
    transport.barrier();
    const auto t1 = std::chrono::steady_clock::now();
    samples.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  double med[1] = {median(samples)};
  transport.allreduce_max(med);
  return med[0];
}

}  // namespace moeb
