// The placement strategy interface. A strategy is a pure function of PlacementInput to a
// PlacementPlan; it describes its options (spec) and its limits (constraints).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/batch_routing.hpp"
#include "core/model.hpp"
#include "core/options.hpp"
#include "core/placement.hpp"
#include "core/stats.hpp"
#include "core/topology.hpp"

namespace moeb {

struct SystemModel;  // core/cost_model.hpp

struct StrategySpec {
  std::string name;
  std::string description;  // one line: what it optimizes
  std::string source;       // paper / code it follows
  std::vector<OptionSpec> options;
  // True when place() reads PlacementInput::system (an objective in predicted time): only then
  // is it given the run's system (else null), and only then can its placement differ between
  // cells of a sweep that differ only by their system (the others' is placed once for them).
  bool reads_system = false;
};

struct PlacementInput {
  const ModelSpec& model;
  const Topology& topo;
  const RoutingStats& stats;  // calibration part only
  int slots_per_rank = 0;     // memory budget: experts a rank can hold, replicas included
  const Options& options;     // resolved against spec()
  uint64_t seed = 0;
  // The cost model of the run's system when the caller has one and the strategy reads it
  // (StrategySpec::reads_system: objectives in predicted time, e.g. optimal's layer_time);
  // null otherwise.
  const SystemModel* system = nullptr;
  // A stop request, for searches that run long (optimal): polled at points that depend only on
  // the input and the seed, so that every MPI rank placing the same input polls equally often
  // (the caller may agree the answer across ranks). True -> the strategy throws Interrupted.
  // Empty: never asked.
  std::function<bool()> stop = nullptr;
};

struct PlacementPlan {
  Placement placement;
  ReplicaPolicy policy;
  std::shared_ptr<const RouteTransform> transform;  // null unless the strategy changes routing
  // Free-form diagnostics worth keeping in the results (name -> value), e.g. "generic_experts".
  std::vector<std::pair<std::string, std::string>> notes;
  // Overrides the run's `dedup` for this strategy (a MegaBlocks-like reference sends one copy
  // per (token, expert) pair); nullopt = the run's setting. The evaluator and runtime honour it
  // through plan_dedup().
  std::optional<bool> dedup;
};

// The dedup setting a plan runs with: its override, else the run's.
inline bool plan_dedup(const PlacementPlan& plan, bool configured) {
  return plan.dedup.value_or(configured);
}

// How the plan routes a batch (core/batch_routing).
inline RoutingRule routing_rule(const PlacementPlan& p) {
  return RoutingRule{&p.placement, p.policy.kind, p.transform.get()};
}

class PlacementStrategy {
 public:
  virtual ~PlacementStrategy() = default;
  virtual StrategySpec spec() const = 0;
  std::string name() const { return spec().name; }
  // Empty when the strategy can run on this model/topology/budget; else the reason it cannot
  // (recorded as "skipped: reason").
  virtual std::optional<std::string> constraints(const ModelSpec& model, const Topology& topo,
                                                 int slots_per_rank, const Options& options) const {
    return std::nullopt;
  }
  virtual PlacementPlan place(const PlacementInput& in) const = 0;
};

// Common option: the replica-routing policy, with a strategy-specific default.
OptionSpec replica_policy_option(const std::string& default_policy);

}  // namespace moeb
