// The harness: runs one placement plan through the MoE layer engine over the workload's
// evaluation batches, on whatever Backend/Transport the run uses, and fills the measurements
// of a StrategyResult (per iteration, layer, rank; gathered on rank 0).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "core/batch_routing.hpp"
#include "core/model.hpp"
#include "core/run_types.hpp"
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
  DispatchMode dispatch = DispatchMode::kFlat;
  bool check = true;
  int check_samples = 8;          // sampled tokens per rank per layer (first measured iteration)
  double check_rtol = 1e-3, check_atol = 1e-4;
  uint64_t seed = 42;             // routing draws and expert weights
  // Polled at iteration boundaries (collectively agreed); true -> throw Interrupted.
  std::function<bool()> stop_requested;
  // Progress (rank 0 of a run): called after each of the warmup + iterations iterations with
  // the number completed; outside timed regions.
  std::function<void(int completed, int warmup, int iterations)> on_iteration;
  // Diagnostics and tests: called on the first measured iteration for every layer, outside
  // timed regions, with this rank's layer output ([owned tokens x hidden], fp32) and the
  // global index of its first owned token.
  std::function<void(int layer, int64_t token_begin, std::span<const float> output)>
      inspect_output;
  // Tests only (fault injection): called on this rank at the start of every iteration (warm-up
  // included, after the stop poll), before any collective of the iteration.
  std::function<void(int iteration)> before_iteration;
};

// Collective over the transport's ranks. Iteration i replays batch i mod num_batches, taken
// from `router` (core/batch_routing: fetched and transformed once; routed in each iteration's
// gate phase). On rank 0 `out` receives the measured cubes, the rows matrix and the check
// totals; other ranks' `out` holds only their own values. The placement itself is recorded
// by the caller (experiment layer), not here.
// Throws ConfigError on options it cannot run (iterations < 1, a placement with fewer layers
// than the model, a topology of another size than the transport, hierarchical dispatch on a
// backend without it). Throws CheckFailed when the correctness check finds wrong elements
// (after filling `out`), Interrupted on a stop request.
void run_harness(Backend& backend, Transport& transport, const Topology& topo,
                 const ModelSpec& model, const PlacementPlan& plan, BatchRouter& router,
                 int64_t num_batches, const HarnessOptions& opt, StrategyResult& out);
// The same over `workload`'s batches, keeping no routed batch beyond the current one.
void run_harness(Backend& backend, Transport& transport, const Topology& topo,
                 const ModelSpec& model, const PlacementPlan& plan, const Workload& workload,
                 const HarnessOptions& opt, StrategyResult& out);

// The cost of the sync probe itself: median time of a barrier among ranks that a previous
// barrier has just synchronized, over `repetitions` trials, maximum over ranks (seconds).
// Collective; stored in results as `probe_overhead`.
double measure_probe_overhead(Backend& backend, Transport& transport, int repetitions = 50);

}  // namespace moeb
