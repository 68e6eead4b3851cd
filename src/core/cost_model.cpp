#include "core/cost_model.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/memory_model.hpp"
#include "core/metrics.hpp"
#include "core/routing.hpp"

namespace moeb {

double LinkModel::seconds(int64_t messages, int64_t bytes) const {
  double t = alpha_s * static_cast<double>(messages);
  if (bytes > 0) t += static_cast<double>(bytes) / bandwidth_Bps;
  return t;
}

LinkFit fit_link(std::span<const LatencySample> samples) {
  if (samples.size() < 2) throw Error("fit_link: need at least 2 samples");
  double sw = 0, sx = 0, sxx = 0, st = 0, sxt = 0;
  for (const auto& p : samples) {
    if (!(p.seconds > 0) || p.bytes < 0)
      throw Error("fit_link: sample with time <= 0 or bytes < 0");
    const double w = 1.0 / (p.seconds * p.seconds);
    sw += w;
    sx += w * p.bytes;
    sxx += w * p.bytes * p.bytes;
    st += w * p.seconds;
    sxt += w * p.bytes * p.seconds;
  }
  const double det = sw * sxx - sx * sx;
  double beta = det > 0 ? (sw * sxt - sx * st) / det : 0;
  double alpha = (st - beta * sx) / sw;
  if (alpha < 0) {  // refit through the origin
    alpha = 0;
    beta = sxx > 0 ? sxt / sxx : 0;
  }
  if (!(beta > 0)) {  // flat curve: bandwidth from the largest message alone
    const auto& big =
        *std::max_element(samples.begin(), samples.end(),
                          [](const auto& a, const auto& b) { return a.bytes < b.bytes; });
    beta = big.bytes > 0 ? big.seconds / big.bytes : 1e-30;
  }
  LinkFit f;
  f.link.alpha_s = alpha;
  f.link.bandwidth_Bps = 1.0 / beta;
  for (const auto& p : samples)
    f.max_rel_residual =
        std::max(f.max_rel_residual, std::abs(alpha + p.bytes * beta - p.seconds) / p.seconds);
  return f;
}

void validate_system(const SystemModel& s, const std::string& where) {
  auto positive = [&](double v, const char* key) {
    if (!(std::isfinite(v) && v > 0))
      throw ConfigError(where + ": key '" + key + "': expected a finite number > 0, got " +
                        std::to_string(v));
  };
  auto non_negative = [&](double v, const char* key) {
    if (!(std::isfinite(v) && v >= 0))
      throw ConfigError(where + ": key '" + key + "': expected a finite number >= 0, got " +
                        std::to_string(v));
  };
  non_negative(s.intra.alpha_s, "intra.alpha_s");
  positive(s.intra.bandwidth_Bps, "intra.bandwidth_Bps");
  non_negative(s.inter.alpha_s, "inter.alpha_s");
  non_negative(s.inter.node_bandwidth_Bps, "inter.node_bandwidth_Bps");
  positive(s.inter.bandwidth_Bps, "inter.bandwidth_Bps");
  positive(s.device.flops, "device.flops");
  positive(s.device.mem_bandwidth_Bps, "device.mem_bandwidth_Bps");
  positive(s.device.act_dtype_bytes, "device.act_dtype_bytes");
  positive(s.device.weight_dtype_bytes, "device.weight_dtype_bytes");
  non_negative(s.device.gate_s_per_token, "device.gate_s_per_token");
}

PhaseTraffic phase_traffic(std::span<const int64_t> rows, const Topology& topo, int64_t row_bytes,
                           bool transpose) {
  // Read as src -> dst; the transposed reading is the same traffic with sides swapped.
  const int R = topo.num_ranks();
  const int* node = topo.node_of_rank().data();
  PhaseTraffic out(R);
  for (int a = 0; a < R; ++a) {
    const int64_t* row = rows.data() + static_cast<size_t>(a) * R;
    const int na = node[a];
    RankPhaseTraffic& sa = out[a];
    for (int b = 0; b < R; ++b) {
      const int64_t n = row[b];
      if (n == 0 || a == b) continue;
      const int64_t bytes = n * row_bytes;
      RankPhaseTraffic& db = out[b];
      if (node[b] == na) {
        ++sa.msgs_sent_intra;
        ++db.msgs_recv_intra;
        sa.bytes.sent_intra += bytes;
        db.bytes.recv_intra += bytes;
      } else {
        ++sa.msgs_sent_inter;
        ++db.msgs_recv_inter;
        sa.bytes.sent_inter += bytes;
        db.bytes.recv_inter += bytes;
      }
    }
  }
  return transpose ? mirror(out) : out;
}

PhaseTraffic mirror(const PhaseTraffic& p) {
  PhaseTraffic out(p.size());
  for (size_t r = 0; r < p.size(); ++r) {
    const auto& a = p[r];
    auto& b = out[r];
    b.msgs_sent_intra = a.msgs_recv_intra;
    b.msgs_sent_inter = a.msgs_recv_inter;
    b.msgs_recv_intra = a.msgs_sent_intra;
    b.msgs_recv_inter = a.msgs_sent_inter;
    b.bytes.sent_intra = a.bytes.recv_intra;
    b.bytes.sent_inter = a.bytes.recv_inter;
    b.bytes.recv_intra = a.bytes.sent_intra;
    b.bytes.recv_inter = a.bytes.sent_inter;
  }
  return out;
}

HopMatrices hierarchical_hops(std::span<const int32_t> dest, int top_k, int64_t num_tokens,
                              const Topology& topo, bool dedup) {
  const int R = topo.num_ranks();
  HopMatrices h;
  h.stage1.assign(static_cast<size_t>(R) * R, 0);
  h.stage2.assign(static_cast<size_t>(R) * R, 0);
  std::vector<int32_t> ranks;  // destination ranks of one token (deduplicated when asked)
  std::vector<int32_t> nodes;  // remote destination nodes of one token
  int owner = 0;
  int64_t next_begin = token_begin(1, num_tokens, R);
  for (int64_t t = 0; t < num_tokens; ++t) {
    while (owner + 1 < R && t >= next_begin) {
      ++owner;
      next_begin = token_begin(owner + 1, num_tokens, R);
    }
    ranks.clear();
    for (int j = 0; j < top_k; ++j) {
      const int32_t d = dest[static_cast<size_t>(t) * top_k + j];
      if (dedup && std::find(ranks.begin(), ranks.end(), d) != ranks.end()) continue;
      ranks.push_back(d);
    }
    const int my_node = topo.node_of(owner);
    const int my_local = topo.local_rank(owner);
    nodes.clear();
    for (int32_t d : ranks) {
      const int n = topo.node_of(d);
      if (n == my_node) {
        ++h.stage2[static_cast<size_t>(owner) * R + d];  // direct, same node (hop 2)
        continue;
      }
      const auto& peers = topo.ranks_of_node(n);
      const int peer = peers[my_local % static_cast<int>(peers.size())];
      // Stage 1: once per (token, node) with dedup, else once per (token, expert) pair.
      const bool first_for_node = std::find(nodes.begin(), nodes.end(), n) == nodes.end();
      if (first_for_node) nodes.push_back(n);
      if (first_for_node || !dedup) ++h.stage1[static_cast<size_t>(owner) * R + peer];
      if (d != peer) ++h.stage2[static_cast<size_t>(peer) * R + d];  // forwarded in node n
    }
  }
  return h;
}

double rank_phase_seconds(const SystemModel& sys, const RankPhaseTraffic& t) {
  auto side = [&](int64_t mi, int64_t bi, int64_t mo, int64_t bo) {
    const double a = sys.intra.seconds(mi, bi), b = sys.inter.seconds(mo, bo);
    return sys.overlap_intra_inter ? std::max(a, b) : a + b;
  };
  const double send =
      side(t.msgs_sent_intra, t.bytes.sent_intra, t.msgs_sent_inter, t.bytes.sent_inter);
  const double recv =
      side(t.msgs_recv_intra, t.bytes.recv_intra, t.msgs_recv_inter, t.bytes.recv_inter);
  return std::max(send, recv);
}

double phase_seconds(const SystemModel& sys, const PhaseTraffic& p, const Topology& topo) {
  double m = 0;
  for (const auto& r : p) m = std::max(m, rank_phase_seconds(sys, r));
  if (sys.inter.node_bandwidth_Bps > 0) {
    std::vector<int64_t> sent(topo.num_nodes(), 0), recv(topo.num_nodes(), 0);
    for (size_t r = 0; r < p.size(); ++r) {
      sent[topo.node_of(static_cast<int>(r))] += p[r].bytes.sent_inter;
      recv[topo.node_of(static_cast<int>(r))] += p[r].bytes.recv_inter;
    }
    for (int n = 0; n < topo.num_nodes(); ++n)
      m = std::max(m,
                   static_cast<double>(std::max(sent[n], recv[n])) / sys.inter.node_bandwidth_Bps);
  }
  return m;
}

double ffn_seconds(const SystemModel& sys, const ModelSpec& m, int64_t rows,
                   int64_t experts_touched) {
  if (rows <= 0) return 0;
  const double flops = m.flops_per_row() * static_cast<double>(rows);
  const double weight_bytes = static_cast<double>(experts_touched) *
                              static_cast<double>(m.expert_params()) *
                              sys.device.weight_dtype_bytes;
  const double act_bytes = static_cast<double>(rows) * (2.0 * m.hidden + 2.0 * m.ffn_hidden) *
                           sys.device.act_dtype_bytes;
  return std::max(flops / sys.device.flops,
                  (weight_bytes + act_bytes) / sys.device.mem_bandwidth_Bps);
}

std::vector<int64_t> experts_touched(std::span<const int32_t> experts,
                                     std::span<const int32_t> dest, int num_ranks,
                                     int num_experts) {
  std::vector<uint8_t> seen(static_cast<size_t>(num_ranks) * num_experts, 0);
  std::vector<int64_t> out(num_ranks, 0);
  for (size_t i = 0; i < dest.size(); ++i) {
    uint8_t& s = seen[static_cast<size_t>(dest[i]) * num_experts + experts[i]];
    out[dest[i]] += 1 - s;  // without a branch: the first time (rank, expert) is seen
    s = 1;
  }
  return out;
}

namespace {

std::vector<RankBytes> sum_bytes(const std::vector<PhaseTraffic>& hops, size_t R) {
  std::vector<RankBytes> out(R);
  for (const auto& h : hops)
    for (size_t r = 0; r < R && r < h.size(); ++r) {
      out[r].sent_intra += h[r].bytes.sent_intra;
      out[r].sent_inter += h[r].bytes.sent_inter;
      out[r].recv_intra += h[r].bytes.recv_intra;
      out[r].recv_inter += h[r].bytes.recv_inter;
    }
  return out;
}

std::vector<int64_t> row_sums(const std::vector<int64_t>& rows, int R) {
  std::vector<int64_t> out(R, 0);
  for (int s = 0; s < R; ++s)
    for (int d = 0; d < R; ++d) out[s] += rows[static_cast<size_t>(s) * R + d];
  return out;
}

double max_of(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, x);
  return m;
}

}  // namespace

std::vector<RankBytes> LayerCostInput::dispatch_bytes() const {
  return sum_bytes(dispatch_hops, rows_computed.size());
}
std::vector<RankBytes> LayerCostInput::combine_bytes() const {
  return sum_bytes(combine_hops, rows_computed.size());
}

LayerCostInput flat_cost_input(const LayerTraffic& lt, const Topology& topo) {
  return flat_cost_input(lt, topo, lt.dispatch_row_bytes, lt.combine_row_bytes);
}

LayerCostInput flat_cost_input(const LayerTraffic& lt, const Topology& topo,
                               int64_t dispatch_row_bytes, int64_t combine_row_bytes) {
  LayerCostInput in;
  in.dispatch_row_bytes = dispatch_row_bytes;
  in.combine_row_bytes = combine_row_bytes;
  in.dispatch_hops.push_back(phase_traffic(lt.rows, topo, dispatch_row_bytes, false));
  // Combine is dispatch read backwards: with equal row sizes, the same traffic mirrored.
  in.combine_hops.push_back(combine_row_bytes == dispatch_row_bytes
                                ? mirror(in.dispatch_hops.back())
                                : phase_traffic(lt.rows, topo, combine_row_bytes, true));
  in.rows_computed = lt.rows_computed;
  in.tokens_owned = lt.tokens_owned;
  in.copies_sent = row_sums(lt.rows, lt.num_ranks);
  return in;
}

LayerCostInput hierarchical_cost_input(const LayerTraffic& lt, std::span<const int32_t> dest,
                                       int top_k, const Topology& topo, bool dedup) {
  LayerCostInput in;
  in.dispatch_row_bytes = lt.dispatch_row_bytes;
  in.combine_row_bytes = lt.combine_row_bytes;
  const HopMatrices h =
      hierarchical_hops(dest, top_k, static_cast<int64_t>(dest.size()) / top_k, topo, dedup);
  in.dispatch_hops.push_back(phase_traffic(h.stage1, topo, lt.dispatch_row_bytes, false));
  in.dispatch_hops.push_back(phase_traffic(h.stage2, topo, lt.dispatch_row_bytes, false));
  // Combine mirrors: forwarded partial results return to the peer first, then cross once.
  in.combine_hops.push_back(phase_traffic(h.stage2, topo, lt.combine_row_bytes, true));
  in.combine_hops.push_back(phase_traffic(h.stage1, topo, lt.combine_row_bytes, true));
  in.rows_computed = lt.rows_computed;
  in.tokens_owned = lt.tokens_owned;
  // Every row a rank packs: its relays (hop 1) and its hop-2 sends (direct and forwarded).
  in.copies_sent = row_sums(h.stage1, lt.num_ranks);
  const std::vector<int64_t> hop2 = row_sums(h.stage2, lt.num_ranks);
  for (int r = 0; r < lt.num_ranks; ++r) in.copies_sent[r] += hop2[r];
  return in;
}

LayerPrediction predict_layer(const SystemModel& sys, const ModelSpec& m, const Topology& topo,
                              const LayerCostInput& in) {
  const size_t R = in.rows_computed.size();
  LayerPrediction p;
  p.rank_gate.assign(R, 0.0);
  p.rank_permute.assign(R, 0.0);
  p.rank_ffn.assign(R, 0.0);
  p.rank_unpermute.assign(R, 0.0);
  const int64_t default_hosted =
      R ? (m.num_experts + static_cast<int64_t>(R) - 1) / static_cast<int64_t>(R) : 0;
  double before_dispatch = 0;
  for (size_t r = 0; r < R; ++r) {
    if (r < in.tokens_owned.size())
      p.rank_gate[r] = sys.device.gate_s_per_token * static_cast<double>(in.tokens_owned[r]);
    if (sys.model_permute && r < in.copies_sent.size()) {
      const double copies = static_cast<double>(in.copies_sent[r]);
      p.rank_permute[r] = 2.0 * copies * in.dispatch_row_bytes / sys.device.mem_bandwidth_Bps;
      p.rank_unpermute[r] = 2.0 * copies * in.combine_row_bytes / sys.device.mem_bandwidth_Bps;
    }
    const int64_t rows = in.rows_computed[r];
    int64_t touched;
    if (r < in.experts_touched.size())
      touched = in.experts_touched[r];
    else
      touched =
          std::min(rows, r < in.experts_hosted.size() ? in.experts_hosted[r] : default_hosted);
    p.rank_ffn[r] = ffn_seconds(sys, m, rows, touched);
    before_dispatch = std::max(before_dispatch, p.rank_gate[r] + p.rank_permute[r]);
  }
  p.t_gate = max_of(p.rank_gate);
  p.t_permute = max_of(p.rank_permute);
  p.t_ffn = max_of(p.rank_ffn);
  p.t_unpermute = max_of(p.rank_unpermute);
  for (const auto& hop : in.dispatch_hops) p.t_dispatch += phase_seconds(sys, hop, topo);
  for (const auto& hop : in.combine_hops) p.t_combine += phase_seconds(sys, hop, topo);
  double mean_ffn = 0;
  for (double x : p.rank_ffn) mean_ffn += x;
  if (R) mean_ffn /= static_cast<double>(R);
  p.t_idle_ffn = p.t_ffn - mean_ffn;
  p.t_layer = before_dispatch + p.t_dispatch + p.t_ffn + p.t_combine + p.t_unpermute;
  return p;
}

TrafficOptions simulate_traffic_options(const SystemModel& sys, const ModelSpec& m,
                                        const SimulateOptions& opt) {
  TrafficOptions topt;
  topt.dedup = opt.dedup;
  topt.dispatch_row_bytes = opt.dispatch_row_bytes > 0 ? opt.dispatch_row_bytes : sys.row_bytes(m);
  topt.combine_row_bytes = opt.combine_row_bytes > 0 ? opt.combine_row_bytes : sys.row_bytes(m);
  topt.byte_totals = false;  // the cost input's hops give them
  return topt;
}

// The prediction and the stored counts of a layer from its cost input (rows computed and tokens
// owned from the input; the rows matrix is the caller's to add).
LayerSimulation simulate_cost_input(const SystemModel& sys, const ModelSpec& m,
                                    const Topology& topo, const LayerCostInput& in,
                                    int64_t num_tokens, const SimulateOptions& opt) {
  LayerSimulation s;
  s.pred = predict_layer(sys, m, topo, in);
  if (opt.scale_to_tokens > 0 && num_tokens > 0)
    s.pred_scaled = predict_layer_scaled(sys, m, topo, in,
                                         static_cast<double>(opt.scale_to_tokens) / num_tokens);
  s.dispatch = in.dispatch_bytes();
  s.combine = in.combine_bytes();
  s.rows_computed = in.rows_computed;
  s.tokens_owned = in.tokens_owned;
  return s;
}

LayerSimulation simulate_layer(const SystemModel& sys, const ModelSpec& m, const Topology& topo,
                               std::span<const int32_t> experts, std::span<const int32_t> dest,
                               int top_k, int num_experts, const SimulateOptions& opt) {
  const int R = topo.num_ranks();
  LayerTraffic lt = evaluate_routed_layer(dest, top_k, topo, simulate_traffic_options(sys, m, opt));
  LayerCostInput in = opt.dispatch == DispatchMode::kFlat
                          ? flat_cost_input(lt, topo)
                          : hierarchical_cost_input(lt, dest, top_k, topo, opt.dedup);
  in.experts_touched = experts_touched(experts, dest, R, num_experts);
  LayerSimulation s =
      simulate_cost_input(sys, m, topo, in, static_cast<int64_t>(dest.size()) / top_k, opt);
  if (opt.keep_rows) s.rows = std::move(lt.rows);
  return s;
}

LayerCostInput counted_cost_input(const SystemModel& sys, const ModelSpec& m,
                                  const Topology& topo, const LayerTraffic& lt,
                                  std::span<const int64_t> touched, const SimulateOptions& opt) {
  if (opt.dispatch != DispatchMode::kFlat)
    throw Error("counted_cost_input: hierarchical dispatch needs the routing");
  const TrafficOptions t = simulate_traffic_options(sys, m, opt);
  LayerCostInput in = flat_cost_input(lt, topo, t.dispatch_row_bytes, t.combine_row_bytes);
  in.experts_touched.assign(touched.begin(), touched.end());
  return in;
}

std::vector<LayerSimulation> simulate_routed(const SystemModel& sys, const ModelSpec& m,
                                             const Topology& topo, RoutedBatch& batch,
                                             const SimulateOptions& opt) {
  const int L = batch.num_layers();
  const RoutingTrace& trace = batch.trace();
  std::vector<LayerSimulation> out(L);
  for (int l = 0; l < L; ++l)
    out[l] = simulate_layer(sys, m, topo, trace.layer_experts(l), batch.dest(l), trace.top_k(),
                            trace.num_experts(), opt);
  return out;
}

std::vector<LayerSimulation> simulate_batch(const SystemModel& sys, const ModelSpec& m,
                                            const Topology& topo, const Placement& placement,
                                            ReplicaPolicyKind policy,
                                            const RouteTransform* transform, RoutingTrace batch,
                                            const SimulateOptions& opt) {
  const int L = std::min(batch.num_layers(), placement.num_layers());
  RoutedBatch routed(std::move(batch), opt.batch_index, RoutingRule{&placement, policy, transform},
                     topo, opt.seed, L);
  return simulate_routed(sys, m, topo, routed, opt);
}

CountRow LayerSimulation::count_row(int r) const {
  CountRow c{};
  c[kTokensOwned] = tokens_owned[r];
  c[kRowsComputed] = rows_computed[r];
  for (const bool inter : {false, true})
    for (const bool combine : {false, true}) {
      const RankBytes& b = combine ? this->combine[r] : dispatch[r];
      c[bytes_metric(combine, false, inter)] = inter ? b.sent_inter : b.sent_intra;
      c[bytes_metric(combine, true, inter)] = inter ? b.recv_inter : b.recv_intra;
    }
  return c;
}

TimeRow LayerSimulation::time_row(int r) const {
  const LayerPrediction& p = pred;
  double before = 0;
  for (size_t k = 0; k < p.rank_gate.size(); ++k)
    before = std::max(before, p.rank_gate[k] + p.rank_permute[k]);
  TimeRow t{};
  t[kTGate] = p.rank_gate[r];
  t[kTPermute] = p.rank_permute[r];
  t[kTWaitDispatch] = before - p.rank_gate[r] - p.rank_permute[r];
  t[kTDispatch] = p.t_dispatch;
  t[kTFfn] = p.rank_ffn[r];
  t[kTWaitCombine] = p.t_ffn - p.rank_ffn[r];
  t[kTCombine] = p.t_combine;
  t[kTUnpermute] = p.rank_unpermute[r];
  t[kTLayer] = before + p.t_dispatch + p.t_ffn + p.t_combine + p.rank_unpermute[r];
  return t;
}

std::map<std::string, std::vector<double>> predicted_phase_times(
    const std::vector<std::vector<LayerPrediction>>& per_iteration) {
  std::map<std::string, std::vector<double>> out;
  if (per_iteration.empty()) return out;
  const size_t L = per_iteration.front().size();
  const std::pair<const char*, double LayerPrediction::*> fields[] = {
      {"t_dispatch", &LayerPrediction::t_dispatch},
      {"t_ffn", &LayerPrediction::t_ffn},
      {"t_combine", &LayerPrediction::t_combine},
      {"t_layer", &LayerPrediction::t_layer}};
  for (const auto& [name, field] : fields) {
    auto& v = out[name];
    v.assign(L, 0.0);
    for (size_t l = 0; l < L; ++l) {
      std::vector<double> xs;
      for (const auto& it : per_iteration)
        if (l < it.size()) xs.push_back(it[l].*field);
      v[l] = median(xs);
    }
  }
  return out;
}

}  // namespace moeb
