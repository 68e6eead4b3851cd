// The analytic cost model of METRICS.md ("Predicted next to measured"): alpha-beta per link class
// for the two all-to-all phases (the busiest rank bounds each phase), a roofline for the grouped
// expert FFN, and idle time from the load imbalance. Pure: it consumes the evaluator's traffic
// matrix and loads, so it applies to any trace and any strategy. docs/COST_MODEL.md states every
// formula; the functions below implement exactly those.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/batch_routing.hpp"
#include "core/evaluator.hpp"
#include "core/model.hpp"
#include "core/placement.hpp"
#include "core/results.hpp"
#include "core/run_types.hpp"
#include "core/topology.hpp"
#include "core/trace.hpp"

namespace moeb {

// One link class as one rank sees it: per-message latency and per-direction bandwidth.
struct LinkModel {
  double alpha_s = 0;        // seconds per message
  double bandwidth_Bps = 0;  // bytes per second, per rank, per direction (beta = 1 / bandwidth)
  // Aggregate of the node's links of this class (a NIC its ranks share), per direction;
  // 0 = no shared limit (one NIC per rank).
  double node_bandwidth_Bps = 0;
  // alpha * messages + bytes / bandwidth.
  double seconds(int64_t messages, int64_t bytes) const;
};

// One rank's compute device, as the roofline needs it.
struct DeviceModel {
  std::string name;  // e.g. "H100 SXM5"
  double flops = 0;  // sustained FLOP/s of the expert GEMM in `flops_dtype`
  std::string flops_dtype = "bf16";
  double mem_bandwidth_Bps = 0;  // sustained memory bandwidth
  std::string act_dtype = "bf16";
  int act_dtype_bytes = 2;      // bytes per activation element (dispatch / combine rows)
  int weight_dtype_bytes = 2;   // bytes per expert weight element
  double gate_s_per_token = 0;  // optional fixed gate cost per owned token (0 = not modeled)
  double memory_bytes = 0;      // device memory for the memory model (0 = not given)
};

// A system file (suites/systems/*.toml) in memory.
struct SystemModel {
  std::string name;
  std::string description;
  std::string source;      // path it was read from ("" when built in code)
  LinkModel intra, inter;  // same-node and cross-node links
  DeviceModel device;
  // A rank drives its intra- and inter-node links concurrently (max of the two per side); when
  // false they share one engine and add up. Default true: NVLink and the NIC are separate DMA
  // paths (DeepEP overlaps them); a CPU machine copying through one memory system sets false.
  bool overlap_intra_inter = true;
  // Permute / unpermute as memory-bound copies (read + write of each row over mem bandwidth).
  bool model_permute = true;
  // Dispatch / combine row sizes this system implies: hidden * act_dtype_bytes.
  int64_t row_bytes(const ModelSpec& m) const {
    return static_cast<int64_t>(m.hidden) * device.act_dtype_bytes;
  }
};

// One timed message size (ping-pong one-way time) for calibration.
struct LatencySample {
  double bytes = 0, seconds = 0;
};
struct LinkFit {
  LinkModel link;
  double max_rel_residual = 0;  // max over samples of |fit - measured| / measured
};
// Least squares of seconds = alpha + bytes / bandwidth, weighted by 1 / seconds^2 (relative
// error, so small messages fix alpha). A negative alpha is refitted through the origin; a
// non-positive slope falls back to bandwidth = bytes / seconds of the largest sample. Throws
// Error when fewer than 2 samples or a time <= 0 is given.
LinkFit fit_link(std::span<const LatencySample> samples);

// Throws ConfigError (prefixed by `where`) when a figure is missing, negative or not finite.
void validate_system(const SystemModel& s, const std::string& where);

// One rank's traffic in one all-to-all phase (or one hop of it): messages and bytes per link
// class and direction. Messages = distinct peers with at least one row in that direction.
struct RankPhaseTraffic {
  int64_t msgs_sent_intra = 0, msgs_sent_inter = 0, msgs_recv_intra = 0, msgs_recv_inter = 0;
  RankBytes bytes;
};
using PhaseTraffic = std::vector<RankPhaseTraffic>;  // [R]

// Phase traffic of a rows matrix [src * R + dst] (diagonal ignored: local, 0 bytes). With
// `transpose` the matrix is read as dst -> src (combine mirrors dispatch).
PhaseTraffic phase_traffic(std::span<const int64_t> rows, const Topology& topo, int64_t row_bytes,
                           bool transpose);
// Sent and received sides swapped (the mirror phase).
PhaseTraffic mirror(const PhaseTraffic& p);

// Hierarchical dispatch (GRACE-MoE HSC, DeepEP internode; the runtime's core/hier_plan): a token
// goes once to each remote node that hosts one of its destinations, to the peer rank there (same
// local index, modulo the node's size, as relay_peer), and that peer forwards it inside its node.
// Stage 1 (hop 1) = owner -> peers, inter-node only; stage 2 (hop 2) = intra-node only: peers
// forward to the other destinations of their node, owners send to their own node's
// destinations. Matrices are [src * R + dst]; the diagonal holds copies that stay on a rank.
struct HopMatrices {
  std::vector<int64_t> stage1, stage2;
};
// `dest` is route_layer's output (num_tokens * top_k ranks). With `dedup` a token goes once per
// destination node in stage 1 and once per destination rank in stage 2; without, once per
// (token, expert) pair at each stage.
HopMatrices hierarchical_hops(std::span<const int32_t> dest, int top_k, int64_t num_tokens,
                              const Topology& topo, bool dedup);

// The time one rank needs for one phase: max(send side, receive side), where a side is
// intra.seconds(msgs, bytes) and inter.seconds(msgs, bytes), combined by max (overlap) or sum.
double rank_phase_seconds(const SystemModel& sys, const RankPhaseTraffic& t);
// Max over ranks of rank_phase_seconds (the busiest rank bounds the phase) and, when the inter
// link has a node_bandwidth_Bps, over nodes of max(node inter bytes sent, received) / that.
double phase_seconds(const SystemModel& sys, const PhaseTraffic& p, const Topology& topo);

// Roofline of one rank's grouped expert FFN: max(FLOPs / flops, bytes / mem_bandwidth), with
// FLOPs = 6 * hidden * ffn_hidden * rows and bytes = experts_touched * 3 * hidden * ffn_hidden *
// weight_dtype_bytes + rows * (2 * hidden + 2 * ffn_hidden) * act_dtype_bytes.
double ffn_seconds(const SystemModel& sys, const ModelSpec& m, int64_t rows,
                   int64_t experts_touched);

// Distinct hosted experts each rank processes at least one row of (the weights it must read).
std::vector<int64_t> experts_touched(std::span<const int32_t> experts,
                                     std::span<const int32_t> dest, int num_ranks, int num_experts);

// Predicted times of one layer of one batch. Per-rank vectors have R entries; the layer values
// follow docs/COST_MODEL.md: t_layer = t_gate + t_permute + t_dispatch + t_ffn + t_combine +
// t_unpermute, each compute term the max over ranks, each all-to-all term the busiest rank.
struct LayerPrediction {
  double t_gate = 0, t_permute = 0, t_dispatch = 0, t_ffn = 0, t_combine = 0, t_unpermute = 0;
  double t_layer = 0;
  double t_idle_ffn = 0;  // max_r - mean_r of the rank FFN times: the expected wait per rank
  std::vector<double> rank_gate, rank_permute, rank_ffn, rank_unpermute;
  // The phase times above without the per-rank vectors (what predicted_phase_times reads).
  LayerPrediction phase_times() const {
    LayerPrediction t;
    t.t_gate = t_gate, t.t_permute = t_permute, t.t_dispatch = t_dispatch, t.t_ffn = t_ffn;
    t.t_combine = t_combine, t.t_unpermute = t_unpermute, t.t_layer = t_layer;
    t.t_idle_ffn = t_idle_ffn;
    return t;
  }
};

// The layer's traffic as the cost model consumes it: the phases (one for flat dispatch, two hops
// for hierarchical), the per-rank loads, and the per-rank byte totals a results file stores.
struct LayerCostInput {
  std::vector<PhaseTraffic> dispatch_hops;  // flat: 1 entry; hierarchical: stage 1, stage 2
  std::vector<PhaseTraffic> combine_hops;   // mirror of dispatch, reverse order
  std::vector<int64_t> rows_computed;       // [R]
  std::vector<int64_t> tokens_owned;        // [R]
  std::vector<int64_t> copies_sent;         // [R] token copies each owner packs (local included)
  std::vector<int64_t> experts_touched;     // [R]; empty = min(rows_computed, hosted experts)
  std::vector<int64_t> experts_hosted;      // [R] slots used (fallback for experts_touched)
  int64_t dispatch_row_bytes = 0, combine_row_bytes = 0;
  // Per-rank byte totals over all hops (what bytes_sent_* / bytes_recv_* record).
  std::vector<RankBytes> dispatch_bytes() const;
  std::vector<RankBytes> combine_bytes() const;
};

// Flat dispatch: one phase from the evaluator's rows matrix.
LayerCostInput flat_cost_input(const LayerTraffic& lt, const Topology& topo);
// The same with other row sizes than lt's.
LayerCostInput flat_cost_input(const LayerTraffic& lt, const Topology& topo,
                               int64_t dispatch_row_bytes, int64_t combine_row_bytes);
// Hierarchical dispatch: two hops from the routing (`dest` of evaluate_layer) and the
// evaluator's loads.
LayerCostInput hierarchical_cost_input(const LayerTraffic& lt, std::span<const int32_t> dest,
                                       int top_k, const Topology& topo, bool dedup);

LayerPrediction predict_layer(const SystemModel& sys, const ModelSpec& m, const Topology& topo,
                              const LayerCostInput& in);

// Everything one simulated layer produces: the prediction and the counts a results file stores.
struct LayerSimulation {
  LayerPrediction pred;
  std::vector<RankBytes> dispatch, combine;  // per rank, over all hops
  std::vector<int64_t> rows_computed, tokens_owned;
  std::vector<int64_t> rows;  // [src * R + dst] logical copies; kept on request
  // Rank r's row of the count metrics (core/results.hpp), as a run records them.
  CountRow count_row(int r) const;
  // Rank r's row of the time metrics as a run with sync probes records them: each rank waits
  // in the probe until the slowest rank arrives, so every rank's layer ends together.
  TimeRow time_row(int r) const;
  LayerPrediction pred_scaled;  // at SimulateOptions::scale_to_tokens (memory model's batch)
};

struct SimulateOptions {
  DispatchMode dispatch = DispatchMode::kFlat;
  bool dedup = true;
  bool keep_rows = true;  // keep LayerSimulation::rows (large for R > 256)
  // Row sizes; 0 = hidden * the system's act_dtype_bytes. A measured run passes its backend's
  // sizes so that prediction and measurement move the same bytes.
  int64_t dispatch_row_bytes = 0, combine_row_bytes = 0;
  // simulate_batch only (a RoutedBatch carries its own): routing draws' seed and batch index.
  uint64_t seed = 0;
  int64_t batch_index = 0;
  // > 0: also predict each layer rescaled to this many tokens (LayerSimulation::pred_scaled).
  int64_t scale_to_tokens = 0;
};

// Counts and predicts one layer routed under a plan: `experts` is the layer's routing after the
// plan's route transform (num_tokens * top_k, token-major), `dest` route_layer's output for it.
// simulate_routed calls it for every layer.
LayerSimulation simulate_layer(const SystemModel& sys, const ModelSpec& m, const Topology& topo,
                               std::span<const int32_t> experts, std::span<const int32_t> dest,
                               int top_k, int num_experts, const SimulateOptions& opt);

// The evaluator's options simulate_layer uses: dedup and row sizes from `opt` (0 = the
// system's), no per-rank byte totals (the cost input gives them).
TrafficOptions simulate_traffic_options(const SystemModel& sys, const ModelSpec& m,
                                        const SimulateOptions& opt);

// simulate_layer for flat dispatch from counts already taken, in two steps, so that the systems
// of a sweep that count alike price one layer's counts once. First its cost input: `lt` from
// the evaluator and `touched` = experts_touched of the same routing, read, not taken over, at
// this system's row sizes (simulate_traffic_options), not lt's; throws Error for hierarchical
// dispatch (it needs the routing). Then the simulation of any system with those row sizes from
// that input: the same result as simulate_layer on that routing, LayerSimulation::rows left
// empty (the counts hold them).
LayerCostInput counted_cost_input(const SystemModel& sys, const ModelSpec& m,
                                  const Topology& topo, const LayerTraffic& lt,
                                  std::span<const int64_t> touched, const SimulateOptions& opt);
LayerSimulation simulate_cost_input(const SystemModel& sys, const ModelSpec& m,
                                    const Topology& topo, const LayerCostInput& in,
                                    int64_t num_tokens, const SimulateOptions& opt);

// Counts and predicts every layer of a routed batch (core/batch_routing), exactly as the run
// routed it.
std::vector<LayerSimulation> simulate_routed(const SystemModel& sys, const ModelSpec& m,
                                             const Topology& topo, RoutedBatch& batch,
                                             const SimulateOptions& opt);

// Routes `batch` once under a placement (draws from opt.seed, opt.batch_index) and simulates
// it: RoutedBatch + simulate_routed.
std::vector<LayerSimulation> simulate_batch(const SystemModel& sys, const ModelSpec& m,
                                            const Topology& topo, const Placement& placement,
                                            ReplicaPolicyKind policy,
                                            const RouteTransform* transform, RoutingTrace batch,
                                            const SimulateOptions& opt);

// StrategyResult::predicted from per-(iteration, layer) predictions ([iteration][layer]): per
// layer, the median over iterations of t_dispatch, t_ffn, t_combine and t_layer.
std::map<std::string, std::vector<double>> predicted_phase_times(
    const std::vector<std::vector<LayerPrediction>>& per_iteration);

}  // namespace moeb
