// In-memory routing of a set of tokens through every MoE layer: per (layer, token) the top-k
// expert ids and gate weights, plus token metadata. Large traces are streamed batch by batch
// (workload layer); each batch is one RoutingTrace.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace moeb {

enum class Phase : uint8_t { kPrefill = 0, kDecode = 1 };

struct TokenMeta {
  int64_t request_id = 0;
  int32_t family = 0;    // index into RoutingTrace::family_names
  Phase phase = Phase::kDecode;
  int32_t position = 0;  // position within its request
};

class RoutingTrace {
 public:
  RoutingTrace() = default;
  RoutingTrace(int num_layers, int top_k, int num_experts, int64_t num_tokens);

  int num_layers() const { return num_layers_; }
  int top_k() const { return top_k_; }
  int num_experts() const { return num_experts_; }
  int64_t num_tokens() const { return static_cast<int64_t>(tokens_.size()); }

  // Expert ids of token t at layer l: top_k entries, distinct, in gate order (best first).
  std::span<const int32_t> experts(int layer, int64_t t) const {
    return {&experts_[index(layer, t)], static_cast<size_t>(top_k_)};
  }
  std::span<int32_t> experts(int layer, int64_t t) {
    return {&experts_[index(layer, t)], static_cast<size_t>(top_k_)};
  }
  std::span<const float> weights(int layer, int64_t t) const {
    return {&weights_[index(layer, t)], static_cast<size_t>(top_k_)};
  }
  std::span<float> weights(int layer, int64_t t) {
    return {&weights_[index(layer, t)], static_cast<size_t>(top_k_)};
  }
  // All ids of one layer: num_tokens * top_k, token-major.
  std::span<const int32_t> layer_experts(int layer) const {
    return {&experts_[index(layer, 0)], static_cast<size_t>(num_tokens() * top_k_)};
  }
  std::span<const float> layer_weights(int layer) const {
    return {&weights_[index(layer, 0)], static_cast<size_t>(num_tokens() * top_k_)};
  }

  const TokenMeta& meta(int64_t t) const { return tokens_[t]; }
  TokenMeta& meta(int64_t t) { return tokens_[t]; }
  const std::vector<TokenMeta>& metas() const { return tokens_; }

  std::vector<std::string> family_names{"default"};
  std::string source;  // where the routing came from ("synthetic:zipf", a file path, ...)
  std::string sha256;  // checksum of the source data, empty for synthetic traces

  // Tokens [begin, end) as a new trace (same layers, metadata, names).
  RoutingTrace slice(int64_t begin, int64_t end) const;
  // The listed tokens, in that order.
  RoutingTrace select(std::span<const int64_t> tokens) const;
  // Throws InputError when an id is out of range or repeated within a token's top-k.
  void validate(const std::string& where) const;

 private:
  size_t index(int layer, int64_t t) const {
    return (static_cast<size_t>(layer) * tokens_.size() + static_cast<size_t>(t)) * top_k_;
  }
  int num_layers_ = 0, top_k_ = 0, num_experts_ = 0;
  std::vector<int32_t> experts_;  // [layer][token][k]
  std::vector<float> weights_;    // [layer][token][k]
  std::vector<TokenMeta> tokens_;
};

}  // namespace moeb
