// The harness: runs one placement plan through the MoE layer engine over the workload's
// evaluation batches, on whatever Backend/Transport the run uses, and fills the measurements
// of a StrategyResult (per iteration, layer, rank; gathered on rank 0).
#pragma once

#include <functional>

#include "core/model.hpp"
#include "core/results.hpp"
#include "core/topology.hpp"
#include "placement/strategy.hpp"
#include "workload/workload.hpp"

namespace moeb {

class Backend;
class Transport;

struct HarnessOptions {
  int warmup = 2;
  int iterations = 10;           // iteration i replays batch i mod num_batches
  bool sync_probe = true;
  bool dedup = true;
  std::string dispatch = "flat";  // flat | hierarchical
  bool check = true;
  int check_samples = 8;          // sampled tokens per rank per layer (first measured iteration)
  double check_rtol = 1e-3, check_atol = 1e-4;
  uint64_t seed = 42;             // routing draws and expert weights
  // Polled at iteration boundaries (collectively agreed); true -> throw Interrupted.
  std::function<bool()> stop_requested;
};

// Collective over the transport's ranks. On rank 0 `out` receives the measured cubes, the
// rows matrix and the check totals; other ranks' `out` holds only their own values.
// Throws Error when the correctness check finds wrong elements (after filling `out`).
void run_harness(Backend& backend, Transport& transport, const Topology& topo,
                 const ModelSpec& model, const PlacementPlan& plan, const Workload& workload,
                 const HarnessOptions& opt, StrategyResult& out);

}  // namespace moeb
