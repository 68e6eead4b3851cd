#include "core/memory_model.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace moeb {

int64_t kv_bytes_per_token(const ModelSpec& m, int kv_dtype_bytes) {
  const int64_t per_layer = m.kv_lora_rank > 0
                                ? int64_t{m.kv_lora_rank} + m.qk_rope_head_dim
                                : int64_t{2} * m.num_kv_heads * m.head_dim;
  return per_layer * m.attention_layers * kv_dtype_bytes;
}

std::vector<int64_t> expert_slots_per_rank(const Placement& p) {
  std::vector<int64_t> out(p.num_ranks, 0);
  for (const auto& lp : p.layers)
    for (const auto& reps : lp.replicas)
      for (int r : reps)
        if (r >= 0 && r < p.num_ranks) ++out[r];
  return out;
}

MemoryFit fit_batch(const Placement& p, const MemorySpec& spec, const std::string& where) {
  auto need = [&](const char* key, bool ok, const char* what) {
    if (!ok) throw ConfigError(where + ": " + key + ": expected " + what);
  };
  need("device memory_bytes", spec.device_bytes > 0 && std::isfinite(spec.device_bytes),
       "a number > 0 (bytes per device)");
  need("reserved_bytes", spec.reserved_bytes >= 0 && std::isfinite(spec.reserved_bytes),
       "a number >= 0");
  need("expert bytes", spec.expert_bytes > 0, "> 0");
  need("kv_bytes_per_token", spec.kv_bytes_per_token > 0,
       "> 0 (the model preset needs attention dimensions)");
  need("context_tokens", spec.context_tokens > 0, "an integer > 0");
  MemoryFit fit;
  const std::vector<int64_t> slots = expert_slots_per_rank(p);
  const double per_seq =
      static_cast<double>(spec.kv_bytes_per_token) * static_cast<double>(spec.context_tokens);
  fit.weights_fit = true;
  int64_t seqs = -1;
  for (int r = 0; r < p.num_ranks; ++r) {
    const double ex = static_cast<double>(slots[r]) * static_cast<double>(spec.expert_bytes);
    const double kv = spec.device_bytes - spec.reserved_bytes - ex;
    fit.expert_bytes.push_back(ex);
    fit.kv_bytes.push_back(kv);
    if (kv < 0) fit.weights_fit = false;
    const int64_t s = kv > 0 ? static_cast<int64_t>(std::floor(kv / per_seq)) : 0;
    if (seqs < 0 || s < seqs) {
      seqs = s;
      fit.binding_rank = r;
    }
  }
  fit.sequences_per_rank = std::max<int64_t>(seqs, 0);
  fit.batch_tokens = fit.sequences_per_rank * p.num_ranks;
  return fit;
}

namespace {
void scale_phase(PhaseTraffic& ph, double f) {
  auto sc = [f](int64_t& x) { x = static_cast<int64_t>(std::llround(static_cast<double>(x) * f)); };
  for (auto& t : ph) {
    sc(t.bytes.sent_intra);
    sc(t.bytes.sent_inter);
    sc(t.bytes.recv_intra);
    sc(t.bytes.recv_inter);
  }
}
void scale_vec(std::vector<int64_t>& v, double f) {
  for (auto& x : v) x = static_cast<int64_t>(std::llround(static_cast<double>(x) * f));
}
}  // namespace

LayerPrediction predict_layer_scaled(const SystemModel& sys, const ModelSpec& m,
                                     const Topology& topo, LayerCostInput in, double factor) {
  for (auto& h : in.dispatch_hops) scale_phase(h, factor);
  for (auto& h : in.combine_hops) scale_phase(h, factor);
  if (in.experts_touched.empty()) {  // keep the simulated batch's fallback
    in.experts_touched.resize(in.rows_computed.size());
    for (size_t r = 0; r < in.rows_computed.size(); ++r)
      in.experts_touched[r] = std::min(in.rows_computed[r], r < in.experts_hosted.size()
                                                                ? in.experts_hosted[r]
                                                                : in.rows_computed[r]);
  }
  scale_vec(in.rows_computed, factor);
  scale_vec(in.tokens_owned, factor);
  scale_vec(in.copies_sent, factor);
  return predict_layer(sys, m, topo, in);
}

double predicted_throughput(int64_t batch_tokens, const std::vector<LayerPrediction>& layers) {
  double t = 0;
  for (const auto& l : layers) t += l.t_layer;
  return t > 0 ? static_cast<double>(batch_tokens) / t : 0.0;
}

}  // namespace moeb
