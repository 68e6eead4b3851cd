// Where experts live: per layer, expert -> replica ranks (first listed is the primary), the
// policy that picks a replica per (token, expert), and an optional route transform for
// strategies that change routing itself (C2R).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/topology.hpp"
#include "core/trace.hpp"

namespace moeb {

struct ExpertCounts;  // core/evaluator.hpp

struct LayerPlacement {
  // replicas[e]: distinct ranks hosting expert e; replicas[e][0] is the primary.
  std::vector<std::vector<int>> replicas;
  // Optional per-replica routing weights (same shape as replicas), used by weighted policies
  // (GRACE WRR: proportional to 1 / predicted load). Empty = equal weights.
  std::vector<std::vector<double>> replica_weights;
  // Optional predicted load per rank from calibration (load-aware policies). Empty = none.
  std::vector<double> predicted_rank_load;

  int num_experts() const { return static_cast<int>(replicas.size()); }
  // Experts hosted per rank (slots used), size num_ranks.
  std::vector<int> slots_used(int num_ranks) const;
};

struct Placement {
  int num_ranks = 0;
  std::vector<LayerPlacement> layers;
  int num_layers() const { return static_cast<int>(layers.size()); }
  int max_replicas() const;
};

// A placement as bytes (replicas, replica weights, predicted loads; native byte order, for
// processes of one run) and back: decode(encode(p)) == p. decode throws Error on bytes that
// encode did not write.
std::string encode_placement(const Placement& p);
Placement decode_placement(const std::string& bytes);

// How a (token, expert) pair is mapped to one of the expert's replicas.
enum class ReplicaPolicyKind {
  kPrimary,    // always the primary replica
  kUniform,    // uniform random per (token, expert), counter-based (SGLang "dynamic")
  kLocality,   // same rank, else same node, else seeded draw (SGLang "static")
  kWeightedRR, // GRACE TAR+WRR: own rank, else weighted round robin same node, else remote
  kLeastLoad,  // own rank, else same node, else replica with least predicted load so far
};
const char* to_string(ReplicaPolicyKind k);
// Parses "primary|uniform|locality|wrr|least_load"; throws ConfigError naming `where`.
ReplicaPolicyKind parse_replica_policy(const std::string& s, const std::string& where);

struct ReplicaPolicy {
  ReplicaPolicyKind kind = ReplicaPolicyKind::kPrimary;
};

// Changes a trace's routing (expert choices) before it is dispatched. Pure and deterministic.
class RouteTransform {
 public:
  virtual ~RouteTransform() = default;
  virtual std::string name() const = 0;
  // Rewrites layer `layer` of `batch` in place (apply_layer on the batch's layer).
  void apply(int layer, RoutingTrace& batch) const;
  // The same on one layer's routing alone: `experts` and `weights` hold num_tokens * top_k
  // entries, token-major (a batch's layer); both may be rewritten in place. Safe to call
  // concurrently.
  virtual void apply_layer(int layer, int top_k, std::span<int32_t> experts,
                           std::span<float> weights) const = 0;
  // The transformed layer counted without writing it: `out` receives count_experts (core/
  // evaluator) of apply_layer's result over `num_ranks` owners, the return value is
  // count_changed_choices(experts, that result). The default transforms a copy; a transform
  // may count in the same pass. Safe to call concurrently.
  virtual int64_t count_layer(int layer, int top_k, std::span<const int32_t> experts,
                              std::span<const float> weights, int num_ranks, int num_experts,
                              ExpertCounts& out) const;
  // True when apply_layer's expert choices (and so count_layer's counts) depend on a token's
  // weights only through their order (which slot holds the largest, ...): a caller whose
  // weights are known to be positive and strictly decreasing over the slots may then pass any
  // such weights instead of the real ones (the model measurer skips drawing them).
  virtual bool reads_weight_order_only() const { return false; }
};

// Verifies the structural invariants every placement must meet: every expert has >= 1
// replica, replicas of an expert on distinct valid ranks, no rank above `slots_per_rank`.
// Returns an empty string when valid, else the first violation.
std::string check_placement(const Placement& p, int num_experts, int slots_per_rank);

// Share of (token, layer, choice) entries of `transformed` whose expert is not among the
// original token's top-k at that layer (METRICS.md routing_deviation). 0 when nothing changed;
// both traces must have the same shape (throws Error otherwise).
double routing_deviation(const RoutingTrace& original, const RoutingTrace& transformed);

}  // namespace moeb
