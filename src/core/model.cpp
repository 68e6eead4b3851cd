#include "core/model.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/limits.hpp"

namespace moeb {

const std::vector<ModelSpec>& model_presets() {
  // name, experts, k, hidden, ffn, layers, shared, groups, topk_groups, source, then the
  // attention dimensions from the same HF configs (num_hidden_layers, num_key_value_heads,
  // head_dim; MLA: kv_lora_rank, qk_rope_head_dim). gpt-oss alternates sliding-window layers;
  // the memory model counts every layer at full context (an upper bound).
  static const std::vector<ModelSpec> presets = {
      {"mixtral-8x7b", 8, 2, 4096, 14336, 32, 0, 1, 1,
       "Mixtral of Experts, arXiv 2401.04088; HF config mistralai/Mixtral-8x7B-v0.1", 32, 8, 128},
      {"deepseek-v3", 256, 8, 7168, 2048, 58, 1, 8, 4,
       "DeepSeek-V3 Technical Report, arXiv 2412.19437; HF config deepseek-ai/DeepSeek-V3", 61, 0, 0,
       512, 64},
      {"qwen3-235b-a22b", 128, 8, 4096, 1536, 94, 0, 1, 1,
       "Qwen3 Technical Report, arXiv 2505.09388; HF config Qwen/Qwen3-235B-A22B", 94, 4, 128},
      {"qwen1.5-moe-a2.7b", 60, 4, 2048, 1408, 24, 4, 1, 1,
       "HF config Qwen/Qwen1.5-MoE-A2.7B", 24, 16, 128},
      {"olmoe-1b-7b", 64, 8, 2048, 1024, 16, 0, 1, 1,
       "OLMoE, arXiv 2409.02060; HF config allenai/OLMoE-1B-7B-0924", 16, 16, 128},
      {"llama-moe-3.5b", 8, 2, 4096, 1376, 32, 0, 1, 1,
       "LLaMA-MoE, arXiv 2406.16554; HF config llama-moe/LLaMA-MoE-v1-3_5B-2_8", 32, 32, 128},
      {"kimi-k2", 384, 8, 7168, 2048, 60, 1, 1, 1,
       "Kimi K2, arXiv 2507.20534; HF config moonshotai/Kimi-K2-Instruct", 61, 0, 0, 512, 64},
      {"dbrx", 16, 4, 6144, 10752, 40, 0, 1, 1, "HF config databricks/dbrx-base", 40, 8, 128},
      {"gpt-oss-120b", 128, 4, 2880, 2880, 36, 0, 1, 1,
       "gpt-oss model card, arXiv 2508.10925; HF config openai/gpt-oss-120b", 36, 8, 64},
  };
  return presets;
}

const ModelSpec& model_preset(std::string_view name) {
  for (const auto& m : model_presets())
    if (m.name == name) return m;
  std::string known;
  for (const auto& m : model_presets()) known += (known.empty() ? "" : ", ") + m.name;
  throw ConfigError("unknown model preset '" + std::string(name) + "' (expected one of: " + known +
                    ")");
}

void validate_model(const ModelSpec& m, const std::string& where) {
  auto fail = [&](const std::string& key, const std::string& what) {
    throw ConfigError(where + ": key '" + key + "': " + what);
  };
  if (m.num_experts < 1) fail("num_experts", "expected >= 1, got " + std::to_string(m.num_experts));
  if (m.top_k < 1) fail("top_k", "expected >= 1, got " + std::to_string(m.top_k));
  if (m.top_k > m.num_experts)
    fail("top_k", "expected <= num_experts (" + std::to_string(m.num_experts) + "), got " +
                      std::to_string(m.top_k));
  if (m.hidden < 1) fail("hidden", "expected >= 1, got " + std::to_string(m.hidden));
  if (m.ffn_hidden < 1) fail("ffn_hidden", "expected >= 1, got " + std::to_string(m.ffn_hidden));
  if (m.num_layers < 1) fail("layers", "expected >= 1, got " + std::to_string(m.num_layers));
  if (m.num_expert_groups < 1 || m.num_experts % m.num_expert_groups != 0)
    fail("expert_groups", "expected a divisor of num_experts (" + std::to_string(m.num_experts) +
                              "), got " + std::to_string(m.num_expert_groups));
  if (m.topk_groups < 1 || m.topk_groups > m.num_expert_groups)
    fail("topk_groups", "expected 1..expert_groups, got " + std::to_string(m.topk_groups));
  check_model_limits(m, where);
}

void check_model_limits(const ModelSpec& m, const std::string& where) {
  auto at_most = [&](const char* key, long long v, long long max) {
    if (v > max)
      throw ConfigError(where + ": key '" + key + "': expected at most " + std::to_string(max) +
                        " (documented limit), got " + std::to_string(v));
  };
  at_most("num_experts", m.num_experts, limits::kMaxExperts);
  at_most("top_k", m.top_k, limits::kMaxTopK);
  at_most("hidden", m.hidden, limits::kMaxHidden);
  at_most("ffn_hidden", m.ffn_hidden, limits::kMaxHidden);
  at_most("layers", m.num_layers, limits::kMaxLayers);
  at_most("shared_experts", m.num_shared_experts, limits::kMaxSharedExperts);
  if (!product_within(3LL * std::max(m.hidden, 0), std::max(m.ffn_hidden, 0),
                      limits::kMaxExpertParams))
    throw ConfigError(where + ": keys 'hidden' x 'ffn_hidden': an expert of 3 x " +
                      std::to_string(m.hidden) + " x " + std::to_string(m.ffn_hidden) +
                      " parameters exceeds the documented limit of " +
                      std::to_string(limits::kMaxExpertParams));
}

}  // namespace moeb
