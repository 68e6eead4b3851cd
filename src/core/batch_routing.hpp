// Route each batch once. A RoutedBatch is one evaluation batch under one placement plan: the
// plan's route transform applied once (and the choices it changed counted: METRICS.md
// routing_deviation), then every layer's destinations computed once (core/routing route_layer)
// on first use and kept. The runtime's layer engine, the cost model's predictions and the
// model-only measurements all consume the same object, so a run, its predictions and a
// simulation route identically and nothing routes a batch twice.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <vector>

#include "core/placement.hpp"
#include "core/routing.hpp"
#include "core/topology.hpp"
#include "core/trace.hpp"

namespace moeb {

// How a placement plan routes: its placement, replica policy and route transform.
struct RoutingRule {
  const Placement* placement = nullptr;
  ReplicaPolicyKind policy = ReplicaPolicyKind::kPrimary;
  const RouteTransform* transform = nullptr;  // null: routing unchanged
};

class RoutedBatch {
 public:
  RoutedBatch() = default;
  // Applies rule.transform to layers [0, num_layers) of `batch` (batch `index` of the workload;
  // the routing draws use (seed, layer, index)). Throws InputError when the batch has fewer
  // layers than num_layers or an expert count other than the placement's. `rule` and `topo`
  // must outlive the object.
  RoutedBatch(RoutingTrace batch, int64_t index, const RoutingRule& rule, const Topology& topo,
              uint64_t seed, int num_layers);

  int64_t index() const { return index_; }
  int num_layers() const { return num_layers_; }
  const RoutingTrace& trace() const { return trace_; }
  // Destination rank of every (token, choice) of `layer`, token-major (route_layer's output).
  std::span<const int32_t> dest(int layer);
  // (token, layer, choice) entries the transform replaced by an expert outside the token's
  // original top-k, and all entries; changed = 0 without a transform.
  int64_t changed_choices() const { return changed_; }
  int64_t choices() const { return choices_; }
  // Forgets the layers' destinations so that the next dest() routes again: the runtime routes
  // in every iteration's gate phase, as a forward pass does (same result: routing is a pure
  // function of the batch, the plan and the seed).
  void clear_routes();
  // Bytes held (trace and destinations), for cache budgets.
  size_t bytes() const;

 private:
  RoutingTrace trace_;
  int64_t index_ = -1;
  RoutingRule rule_;
  const Topology* topo_ = nullptr;
  uint64_t seed_ = 0;
  int num_layers_ = 0;
  int64_t changed_ = 0, choices_ = 0;
  std::vector<std::vector<int32_t>> dest_;  // [layer], empty until routed
};

// The routed batches of one plan over a workload: each batch fetched and transformed once,
// kept while the kept ones fit in `max_bytes` (the last one fetched is always kept), with the
// transform's changed / total choices of every batch seen. The harness, the predictions after
// it and the model-only measurements take their batches from here.
class BatchRouter {
 public:
  using Source = std::function<RoutingTrace(int64_t)>;
  BatchRouter(Source source, RoutingRule rule, const Topology& topo, uint64_t seed,
              int num_layers, size_t max_bytes);
  RoutedBatch& get(int64_t index);
  // routing_deviation over `batch_index` (one entry per measured iteration, batches repeating):
  // sum of changed / sum of choices; -1 when the rule has no transform.
  double deviation(const std::vector<int64_t>& batch_index);

 private:
  Source source_;
  RoutingRule rule_;
  const Topology* topo_;
  uint64_t seed_;
  int num_layers_;
  size_t max_bytes_, kept_bytes_ = 0;
  std::map<int64_t, RoutedBatch> kept_;
  RoutedBatch scratch_;
  std::map<int64_t, std::pair<int64_t, int64_t>> changed_;  // index -> (changed, choices)
};

// Entries of `after` (one layer, token-major, top_k per token) whose expert is not among the
// same token's experts in `before`.
int64_t count_changed_choices(std::span<const int32_t> before, std::span<const int32_t> after,
                              int top_k);

}  // namespace moeb
