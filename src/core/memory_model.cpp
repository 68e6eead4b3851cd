#include "core/memory_model.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/memory_budget.hpp"

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
  need("expert_layer_scale", spec.expert_layer_scale > 0, "> 0");
  MemoryFit fit;
  const std::vector<int64_t> slots = expert_slots_per_rank(p);
  const double per_seq =
      static_cast<double>(spec.kv_bytes_per_token) * static_cast<double>(spec.context_tokens);
  fit.weights_fit = true;
  int64_t seqs = -1;
  for (int r = 0; r < p.num_ranks; ++r) {
    const double ex = static_cast<double>(slots[r]) * static_cast<double>(spec.expert_bytes) *
                      spec.expert_layer_scale;
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

std::optional<MemorySpec> memory_spec(const ModelSpec& m, const SystemModel& sys,
                                      const MemoryConfig& c) {
  if (c.context_tokens <= 0 || sys.device.memory_bytes <= 0) return std::nullopt;
  const int64_t kv = kv_bytes_per_token(m, dtype_bytes(c.kv_dtype, "placement: key 'kv_dtype'"));
  if (kv <= 0) return std::nullopt;
  MemorySpec s;
  s.device_bytes = sys.device.memory_bytes;
  s.reserved_bytes = c.reserved_gib * 1024.0 * 1024.0 * 1024.0;
  s.expert_bytes = expert_bytes(m, c.expert_dtype, "placement: key 'expert_dtype'");
  s.kv_bytes_per_token = kv;
  s.context_tokens = c.context_tokens;
  if (c.full_layers > 0 && m.num_layers > 0)
    s.expert_layer_scale = static_cast<double>(c.full_layers) / m.num_layers;
  return s;
}

std::vector<std::pair<std::string, std::string>> memory_notes(const MemoryFit& fit,
                                                              double throughput_at_fit,
                                                              double throughput_simulated) {
  auto num = [](double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return std::string(buf);
  };
  const double gib = 1024.0 * 1024.0 * 1024.0;
  const double max_expert =
      fit.expert_bytes.empty() ? 0.0 : *std::max_element(fit.expert_bytes.begin(), fit.expert_bytes.end());
  return {{"memory_expert_gib_max", num(max_expert / gib)},
          {"memory_sequences_per_rank", std::to_string(fit.sequences_per_rank)},
          {"memory_batch_tokens", std::to_string(fit.batch_tokens)},
          {"memory_binding_rank", std::to_string(fit.binding_rank)},
          {"memory_weights_fit", fit.weights_fit ? "yes" : "no"},
          {"throughput_at_memory_batch_tok_s", num(throughput_at_fit)},
          {"throughput_simulated_batch_tok_s", num(throughput_simulated)}};
}

MemoryConfig memory_config(const RunConfig& cfg) {
  return {cfg.context_tokens, cfg.reserved_memory_gib, cfg.kv_dtype, cfg.expert_dtype,
          cfg.model_preset.empty() ? 0 : model_preset(cfg.model_preset).num_layers};
}

void MemoryThroughput::add(const MemoryFit& fit, int64_t batch_tokens,
                           const std::vector<LayerPrediction>& scaled,
                           const std::vector<LayerPrediction>& as_is) {
  at_fit.push_back(predicted_throughput(fit.batch_tokens, scaled));
  measured_batch.push_back(predicted_throughput(batch_tokens, as_is));
}

std::vector<std::pair<std::string, std::string>> memory_notes(const MemoryFit& fit,
                                                              const MemoryThroughput& t) {
  if (t.at_fit.empty() || t.measured_batch.empty()) return {};
  auto upper_median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  return memory_notes(fit, upper_median(t.at_fit), upper_median(t.measured_batch));
}

}  // namespace moeb
