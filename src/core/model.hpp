// Model specifications and the presets with their published dimensions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace moeb {

struct ModelSpec {
  std::string name;
  int num_experts = 0;         // routed experts per MoE layer
  int top_k = 0;               // routed experts per token
  int hidden = 0;              // model (hidden) dimension
  int ffn_hidden = 0;          // expert FFN intermediate width
  int num_layers = 0;          // MoE layers
  int num_shared_experts = 0;  // always-active experts (computed locally, never dispatched)
  int num_expert_groups = 1;   // DeepSeek-style expert groups (1 = no grouping)
  int topk_groups = 1;         // groups a token may route into
  std::string source;          // where the dimensions come from
  // Attention dimensions for the KV cache (core/memory_model); 0 = not known.
  int attention_layers = 0;    // all transformer layers (each holds KV cache)
  int num_kv_heads = 0;        // K/V heads (GQA/MHA)
  int head_dim = 0;            // per head
  int kv_lora_rank = 0;        // MLA compressed KV width (DeepSeek-V3, Kimi K2); 0 = not MLA
  int qk_rope_head_dim = 0;    // MLA decoupled RoPE key width, cached next to the latent

  // Parameters of one routed expert's SwiGLU FFN: W1, W3 (hidden x ffn) and W2 (ffn x hidden).
  long long expert_params() const { return 3LL * hidden * ffn_hidden; }
  // FLOPs to push one token through one expert (2 per multiply-add, three GEMMs).
  double flops_per_row() const { return 6.0 * hidden * ffn_hidden; }
};

// All presets, in a stable order.
const std::vector<ModelSpec>& model_presets();

// Looks up a preset by name; throws ConfigError listing the known names if absent.
const ModelSpec& model_preset(std::string_view name);

// Throws ConfigError (prefixed by `where`) when the spec is inconsistent (top-k > experts, ...).
// Also applies check_model_limits.
void validate_model(const ModelSpec& m, const std::string& where);
// Throws ConfigError when a dimension exceeds the documented limits of core/limits.hpp.
void check_model_limits(const ModelSpec& m, const std::string& where);

}  // namespace moeb
