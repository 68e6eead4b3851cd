#include "experiment/runtime_measurer.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <sstream>
#include <stdexcept>

#include "core/error.hpp"
#include "core/memory_model.hpp"
#include "platform/mpi_env.hpp"
#include "runtime/backend.hpp"
#include "runtime/backend_factory.hpp"
#include "runtime/cuda/cuda_entry.hpp"
#include "runtime/harness.hpp"
#include "runtime/stop_signal.hpp"
#include "runtime/transport.hpp"

namespace moeb {

namespace {

// Routed batches rank 0 keeps for the predictions after the harness.
constexpr size_t kRoutedBatchBytes = size_t{1} << 30;

// How long a rank that failed waits at the strategy boundary for the others before it
// concludes that they are blocked in a collective and aborts every rank.
double failing_rank_wait_s() {
  const char* v = std::getenv("MOEB_ERROR_WAIT_S");
  char* end = nullptr;
  const double s = v && *v ? std::strtod(v, &end) : 0.0;
  return v && *v && end && *end == '\0' && s >= 0 && s <= 3600 ? s : 30.0;
}

// --test-throw NAME:RANK:WHEN:KIND (ExperimentRequest::test_throw): test-only fault injection.
struct TestThrow {
  std::string instance;
  int rank = -1;
  int iteration = -1;  // -1: after the measurement ("end")
  std::string kind;
  bool applies(const StrategyInstance& inst, int me) const {
    return !instance.empty() && inst.name == instance && rank == me;
  }
  [[noreturn]] void raise(const std::string& where) const {
    const std::string what = "test fault (--test-throw) " + where;
    if (kind == "bad_alloc") throw std::bad_alloc();
    if (kind == "runtime_error") throw std::runtime_error(what);
    if (kind == "moeb_error") throw Error(what);
    throw 42;  // "unknown": not an exception class at all
  }
};

TestThrow parse_test_throw(const std::string& spec) {
  TestThrow t;
  if (spec.empty()) return t;
  std::vector<std::string> parts;
  std::stringstream ss(spec);
  for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
  char* end = nullptr;
  const bool ok =
      parts.size() == 4 && !parts[0].empty() && !parts[1].empty() &&
      (std::strtol(parts[1].c_str(), &end, 10), *end == '\0') &&
      (parts[2] == "end" ||
       (!parts[2].empty() && (std::strtol(parts[2].c_str(), &end, 10), *end == '\0'))) &&
      (parts[3] == "bad_alloc" || parts[3] == "runtime_error" || parts[3] == "moeb_error" ||
       parts[3] == "unknown");
  if (!ok)
    throw ConfigError(
        "option --test-throw: expected NAME:RANK:WHEN:KIND (WHEN an iteration or "
        "'end'; KIND bad_alloc, runtime_error, moeb_error or unknown), got '" +
        spec + "'");
  t.instance = parts[0];
  t.rank = std::atoi(parts[1].c_str());
  t.iteration = parts[2] == "end" ? -1 : std::atoi(parts[2].c_str());
  t.kind = parts[3];
  return t;
}

class RuntimeMeasurer final : public Measurer {
 public:
  explicit RuntimeMeasurer(MPI_Comm comm) : comm_(comm), rank_(mpi::rank(comm)) {}
  bool root() const override { return rank_ == 0; }
  void open(Experiment& e) override;
  MeasurementProvenance prepare(Experiment& e) override;
  void measure(const Experiment& e, const ExperimentCell& cell, const StrategyInstance& inst,
               const PlacementPlan& plan, StrategyResult& res) override;
  bool failed_anywhere(const std::string& error) override;
  bool collective() const override { return true; }
  Failure agree_on_failure(const std::string& error) override;
  std::string where() const override { return mpi_where() + ": "; }
  [[noreturn]] void abort_all(int code) override { mpi::abort_all(code); }
  void share_from_root(std::set<std::string>& names) override;
  bool stop_agreed() override { return mpi::any_rank(comm_, stop_requested()); }
  bool share_placement(const StrategyInstance& inst, Placement& p) override;

 private:
  HarnessOptions harness_options(const ExperimentCell& cell, const StrategyInstance& inst,
                                 const Experiment& e) const;
  void predict(const Experiment& e, const ExperimentCell& cell, const PlacementPlan& plan,
               BatchRouter& router, StrategyResult& res) const;

  MPI_Comm comm_;
  int rank_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Transport> transport_;
  bool dedup_ = true;  // the dedup the current plan runs with
  TestThrow test_throw_;
  std::string diverge_instance_;  // --test-diverge-placement NAME:RANK
};

void RuntimeMeasurer::open(Experiment& e) {
  test_throw_ = parse_test_throw(e.request.test_throw);
  diverge_instance_ = e.request.test_diverge_placement;
  const ExperimentCell& cell = e.cells.front();
  const ModelSpec& m = cell.cfg.model;
  BackendOptions bo;
  bo.hidden = m.hidden;
  bo.ffn_hidden = m.ffn_hidden;
  bo.threads_per_rank = cell.cfg.threads_per_rank;
  bo.local_rank = mpi::local_rank(comm_);  // the device index on the real node
  backend_ = make_backend(cell.backend, bo);
  // bf16 activations cannot meet fp32 tolerances: use at least bf16's, and record them in the
  // resolved config so the file says which tolerance was applied.
  if (backend_->dispatch_row_bytes() < 4LL * m.hidden)
    for (auto& c : e.cells) {
      c.cfg.check_rtol = std::max(c.cfg.check_rtol, 2e-2);
      c.cfg.check_atol = std::max(c.cfg.check_atol, 1e-2);
    }
}

MeasurementProvenance RuntimeMeasurer::prepare(Experiment& e) {
  const ExperimentCell& cell = e.cells.front();
  const ModelSpec& m = cell.cfg.model;
  transport_ = make_transport(*backend_, comm_);
  MeasurementProvenance p;
  p.backend = cell.cfg.backend;
  p.hostnames = mpi::gather_hostnames(comm_);
  for (int r = 0; r < e.topo.num_ranks(); ++r)
    p.rank_device.push_back(backend_->name() + ":rank" + std::to_string(r));
  const int64_t elem = backend_->dispatch_row_bytes() / std::max(1, m.hidden);
  p.act_dtype = elem == 2 ? "bf16" : elem == 4 ? "fp32" : "other";
  p.dispatch_row_bytes = backend_->dispatch_row_bytes();
  p.combine_row_bytes = backend_->combine_row_bytes();
  p.probe_overhead = measure_probe_overhead(*backend_, *transport_);
  p.sync_probe = cell.cfg.sync_probe;
  if (e.system) p.system_model = e.system->name;
  if (cell.backend == BackendKind::kCuda) p.extra = cuda_provenance(backend_.get());
  else p.extra = backend_->provenance();  // CPU: the expert FFN library and its version
  return p;
}

HarnessOptions RuntimeMeasurer::harness_options(const ExperimentCell& cell,
                                                const StrategyInstance& inst,
                                                const Experiment& e) const {
  const RunConfig& cfg = cell.cfg;
  HarnessOptions ho;
  ho.warmup = cfg.warmup;
  ho.iterations = cfg.iterations;
  ho.sync_probe = cfg.sync_probe;
  ho.dedup = cfg.dedup;
  ho.dispatch = cell.dispatch;
  ho.check = cfg.check;
  ho.check_samples = cfg.check_samples;
  ho.check_rtol = cfg.check_rtol;
  ho.check_atol = cfg.check_atol;
  if (inst.name == e.request.fail_check_instance) {
    // Test-only fault injection: a negative tolerance no element can meet.
    ho.check = true;
    ho.check_rtol = 0;
    ho.check_atol = -1;
  }
  ho.seed = cfg.seed;
  ho.stop_requested = [] { return stop_requested(); };
  if (test_throw_.applies(inst, rank_) && test_throw_.iteration >= 0)
    ho.before_iteration = [t = test_throw_](int it) {
      if (it == t.iteration) t.raise("at iteration " + std::to_string(it));
    };
  if (root() && e.progress)
    ho.on_iteration = [p = e.progress](int done, int warmup, int iterations) {
      p->iteration(done, warmup, iterations);
    };
  return ho;
}

// Predicted phase times of the measured batches, from the routed batches the harness used;
// with the memory model's settings, also the batch that fits and the predicted throughput there.
void RuntimeMeasurer::predict(const Experiment& e, const ExperimentCell& cell,
                              const PlacementPlan& plan, BatchRouter& router,
                              StrategyResult& res) const {
  SimulateOptions so;
  so.dispatch = cell.dispatch;
  so.dedup = dedup_;
  so.keep_rows = false;
  // Predict the bytes this backend actually moves (fp32 on CPU, bf16 on GPU), not the system
  // file's activation size.
  so.dispatch_row_bytes = backend_->dispatch_row_bytes();
  so.combine_row_bytes = backend_->combine_row_bytes();
  const auto mem = memory_spec(cell.cfg.model, *e.system, memory_config(cell.cfg));
  const MemoryFit fit = mem ? fit_batch(plan.placement, *mem, cell.cfg.suite_path) : MemoryFit{};
  so.scale_to_tokens = fit.batch_tokens;
  MemoryThroughput thr;
  std::vector<std::vector<LayerPrediction>> per_iter;
  for (size_t i = 0; i < res.batch_index.size(); ++i) {
    std::vector<LayerPrediction> preds, scaled;
    for (const auto& ls :
         simulate_routed(*e.system, cell.cfg.model, e.topo, router.get(res.batch_index[i]), so)) {
      preds.push_back(ls.pred);
      scaled.push_back(ls.pred_scaled);
    }
    if (mem) thr.add(fit, res.batch_tokens[i], scaled, preds);
    per_iter.push_back(std::move(preds));
  }
  res.predicted = predicted_phase_times(per_iter);
  res.predicted_system_model = e.system->name;
  if (mem)
    for (auto& n : memory_notes(fit, thr)) res.notes.push_back(n);
}

void RuntimeMeasurer::measure(const Experiment& e, const ExperimentCell& cell,
                              const StrategyInstance& inst, const PlacementPlan& plan,
                              StrategyResult& res) {
  BatchRouter router([&](int64_t b) { return e.batches->get(b); }, routing_rule(plan), e.topo,
                     cell.cfg.seed, cell.cfg.model.num_layers, root() ? kRoutedBatchBytes : 0);
  HarnessOptions ho = harness_options(cell, inst, e);
  ho.dedup = plan_dedup(plan, ho.dedup);  // a plan may override the run's dedup (megablocks)
  dedup_ = ho.dedup;
  run_harness(*backend_, *transport_, e.topo, cell.cfg.model, plan, router,
              e.batches->num_batches(), ho, res);
  if (root()) {
    res.routing_deviation = router.deviation(res.batch_index);
    if (e.system) predict(e, cell, plan, router, res);
  }
  if (test_throw_.applies(inst, rank_) && test_throw_.iteration < 0)
    test_throw_.raise("after the measurement");
}

Measurer::Failure RuntimeMeasurer::agree_on_failure(const std::string& error) {
  const mpi::BoundaryError b = mpi::agree_at_boundary(comm_, error, failing_rank_wait_s());
  return b ? Failure{b.rank, b.message, b.unanswered} : Failure{};
}

bool RuntimeMeasurer::failed_anywhere(const std::string& error) {
  const mpi::AgreedError agreed = mpi::agree_on_error(comm_, error);
  if (agreed && rank_ == agreed.rank)
    std::fprintf(stderr, "moebench: error: %s\n", agreed.message.c_str());
  return static_cast<bool>(agreed);
}

bool RuntimeMeasurer::share_placement(const StrategyInstance& inst, Placement& p) {
  const std::string& diverge = diverge_instance_;
  if (!diverge.empty() && inst.name == diverge.substr(0, diverge.rfind(':')) &&
      std::to_string(rank_) == diverge.substr(diverge.rfind(':') + 1) && !p.layers.empty() &&
      p.layers[0].replicas.size() >= 2)
    std::swap(p.layers[0].replicas.front(), p.layers[0].replicas.back());
  std::string bytes = encode_placement(p);
  const uint64_t h = std::hash<std::string>{}(bytes);
  if (!mpi::values_differ(comm_, h)) return false;
  mpi::broadcast_string(bytes, 0, comm_);
  if (rank_ != 0) p = decode_placement(bytes);
  return true;
}

void RuntimeMeasurer::share_from_root(std::set<std::string>& names) {
  std::string joined;
  for (const auto& n : names) joined += n + "\n";
  mpi::broadcast_string(joined, 0, comm_);
  names.clear();
  std::stringstream ss(joined);
  std::string n;
  while (std::getline(ss, n))
    if (!n.empty()) names.insert(n);
}

}  // namespace

TopologyResolver mpi_topology(MPI_Comm comm) {
  return [comm](const RunConfig& cfg, std::string& source) {
    const int size = mpi::size(comm);
    const std::string where = cfg.suite_path.empty() ? std::string("suite") : cfg.suite_path;
    if (cfg.nodes <= 0) {
      source = "mpi";
      return Topology::from_node_map(mpi::node_map(comm));
    }
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
  };
}

std::unique_ptr<Measurer> make_runtime_measurer(MPI_Comm comm) {
  return std::make_unique<RuntimeMeasurer>(comm);
}

}  // namespace moeb
