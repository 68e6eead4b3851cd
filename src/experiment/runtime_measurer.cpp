#include "experiment/runtime_measurer.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstdio>
#include <sstream>

#include "core/error.hpp"
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

int comm_rank(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}

// Node id of every rank = index of its node's lowest world rank among all node leaders. Two
// ranks share a node when they share memory and, under Slurm, the same SLURM_NODEID (so that a
// test cluster whose Slurm nodes run on one host still has the allocation's nodes).
Topology shared_memory_topology(MPI_Comm comm) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  MPI_Comm shm, node;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, comm_rank(comm), MPI_INFO_NULL, &shm);
  const char* slurm_node = std::getenv("SLURM_NODEID");
  const int slurm_id = slurm_node && *slurm_node ? std::atoi(slurm_node) : 0;
  MPI_Comm_split(shm, slurm_id < 0 ? 0 : slurm_id, comm_rank(comm), &node);
  MPI_Comm_free(&shm);
  int leader = comm_rank(comm);
  MPI_Bcast(&leader, 1, MPI_INT, 0, node);
  MPI_Comm_free(&node);
  std::vector<int> leaders(size);
  MPI_Allgather(&leader, 1, MPI_INT, leaders.data(), 1, MPI_INT, comm);
  std::vector<int> distinct = leaders;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<int> node_of(size);
  for (int r = 0; r < size; ++r)
    node_of[r] = static_cast<int>(std::lower_bound(distinct.begin(), distinct.end(), leaders[r]) -
                                  distinct.begin());
  return Topology::from_node_map(node_of);
}

std::vector<std::string> gather_hostnames(MPI_Comm comm) {
  int size = 0;
  MPI_Comm_size(comm, &size);
  char name[256] = {};
  gethostname(name, sizeof name - 1);
  std::vector<char> all(static_cast<size_t>(size) * 256);
  MPI_Allgather(name, 256, MPI_CHAR, all.data(), 256, MPI_CHAR, comm);
  std::vector<std::string> out;
  for (int r = 0; r < size; ++r) out.emplace_back(&all[static_cast<size_t>(r) * 256]);
  return out;
}

// The device index of this rank: its index among the ranks of its real node.
int node_local_rank(MPI_Comm comm) {
  MPI_Comm shm;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, comm_rank(comm), MPI_INFO_NULL, &shm);
  int local = 0;
  MPI_Comm_rank(shm, &local);
  MPI_Comm_free(&shm);
  return local;
}

class RuntimeMeasurer final : public Measurer {
 public:
  explicit RuntimeMeasurer(MPI_Comm comm) : comm_(comm), rank_(comm_rank(comm)) {}
  bool root() const override { return rank_ == 0; }
  void open(Experiment& e) override;
  MeasurementProvenance prepare(Experiment& e) override;
  void measure(const Experiment& e, const ExperimentCell& cell, const StrategyInstance& inst,
               const PlacementPlan& plan, StrategyResult& res) override;
  bool failed_anywhere(const std::string& error) override;
  void share_from_root(std::set<std::string>& names) override;

 private:
  HarnessOptions harness_options(const ExperimentCell& cell, const StrategyInstance& inst,
                                 const Experiment& e) const;
  void predict(const Experiment& e, const ExperimentCell& cell, BatchRouter& router,
               StrategyResult& res) const;

  MPI_Comm comm_;
  int rank_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Transport> transport_;
};

void RuntimeMeasurer::open(Experiment& e) {
  const ExperimentCell& cell = e.cells.front();
  const ModelSpec& m = cell.cfg.model;
  BackendOptions bo;
  bo.hidden = m.hidden;
  bo.ffn_hidden = m.ffn_hidden;
  bo.threads_per_rank = cell.cfg.threads_per_rank;
  bo.local_rank = node_local_rank(comm_);
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
  p.hostnames = gather_hostnames(comm_);
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
  return ho;
}

// Predicted phase times of the measured batches, from the routed batches the harness used.
void RuntimeMeasurer::predict(const Experiment& e, const ExperimentCell& cell,
                              BatchRouter& router, StrategyResult& res) const {
  SimulateOptions so;
  so.dispatch = cell.dispatch;
  so.dedup = cell.cfg.dedup;
  so.keep_rows = false;
  // Predict the bytes this backend actually moves (fp32 on CPU, bf16 on GPU), not the system
  // file's activation size.
  so.dispatch_row_bytes = backend_->dispatch_row_bytes();
  so.combine_row_bytes = backend_->combine_row_bytes();
  std::vector<std::vector<LayerPrediction>> per_iter;
  for (int64_t b : res.batch_index) {
    std::vector<LayerPrediction> preds;
    for (const auto& ls : simulate_routed(*e.system, cell.cfg.model, e.topo, router.get(b), so))
      preds.push_back(ls.pred);
    per_iter.push_back(std::move(preds));
  }
  res.predicted = predicted_phase_times(per_iter);
  res.predicted_system_model = e.system->name;
}

void RuntimeMeasurer::measure(const Experiment& e, const ExperimentCell& cell,
                              const StrategyInstance& inst, const PlacementPlan& plan,
                              StrategyResult& res) {
  BatchRouter router([&](int64_t b) { return e.batches->get(b); }, routing_rule(plan), e.topo,
                     cell.cfg.seed, cell.cfg.model.num_layers, root() ? kRoutedBatchBytes : 0);
  run_harness(*backend_, *transport_, e.topo, cell.cfg.model, plan, router,
              e.batches->num_batches(), harness_options(cell, inst, e), res);
  if (!root()) return;
  res.routing_deviation = router.deviation(res.batch_index);
  if (e.system) predict(e, cell, router, res);
}

bool RuntimeMeasurer::failed_anywhere(const std::string& error) {
  int size = 1;
  MPI_Comm_size(comm_, &size);
  int mine = error.empty() ? size : rank_;
  int first = size;
  MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm_);
  if (first == size) return false;
  if (rank_ == first) std::fprintf(stderr, "moebench: error: %s\n", error.c_str());
  return true;
}

void RuntimeMeasurer::share_from_root(std::set<std::string>& names) {
  std::string joined;
  if (rank_ == 0)
    for (const auto& n : names) joined += n + "\n";
  int len = static_cast<int>(joined.size());
  MPI_Bcast(&len, 1, MPI_INT, 0, comm_);
  joined.resize(len);
  MPI_Bcast(joined.data(), len, MPI_CHAR, 0, comm_);
  names.clear();
  std::stringstream ss(joined);
  std::string n;
  while (std::getline(ss, n))
    if (!n.empty()) names.insert(n);
}

}  // namespace

TopologyResolver mpi_topology(MPI_Comm comm) {
  return [comm](const RunConfig& cfg, std::string& source) {
    int size = 0;
    MPI_Comm_size(comm, &size);
    const std::string where = cfg.suite_path.empty() ? std::string("suite") : cfg.suite_path;
    if (cfg.nodes <= 0) {
      source = "mpi";
      return shared_memory_topology(comm);
    }
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
  };
}

std::unique_ptr<Measurer> make_runtime_measurer(MPI_Comm comm) {
  return std::make_unique<RuntimeMeasurer>(comm);
}

}  // namespace moeb
