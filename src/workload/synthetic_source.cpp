#include <algorithm>
#include <mutex>
#include <utility>

#include "workload/token_source.hpp"

namespace moeb {

namespace {
class SyntheticSource final : public TokenSource {
 public:
  SyntheticSource(std::shared_ptr<const SyntheticGenerator> gen, int num_layers, int num_experts,
                  int top_k, int64_t tokens)
      : gen_(std::move(gen)),
        num_layers_(num_layers),
        num_experts_(num_experts),
        top_k_(top_k),
        metas_(gen_->token_metas(tokens)),
        names_(gen_->family_names()) {}
  int num_layers() const override { return num_layers_; }
  int num_experts() const override { return num_experts_; }
  int top_k() const override { return top_k_; }
  const std::vector<TokenMeta>& metas() const override { return metas_; }
  const std::vector<std::string>& family_names() const override { return names_; }
  RoutingTrace fetch(std::span<const int64_t> tokens, int num_layers) const override {
    return gen_->fetch(metas_, tokens, num_layers);
  }
  bool fetch_layer(std::span<const int64_t> tokens, int layer, std::span<int32_t> experts,
                   std::span<float> weights) const override {
    const auto prev = previous_of(tokens);
    gen_->route_layer(metas_, tokens, layer, experts, weights, *prev);
    return true;
  }
  bool layers_alone() const override { return true; }
  bool ranked_weights() const override { return true; }
  std::string source() const override { return gen_->source(); }

 private:
  // previous_positions of a token list, kept for the last few lists asked for: every layer of a
  // batch asks for the same list (compared by content, so a reused buffer is not mistaken).
  std::shared_ptr<const std::vector<int32_t>> previous_of(std::span<const int64_t> tokens) const {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [list, prev] : previous_)
      if (std::equal(list.begin(), list.end(), tokens.begin(), tokens.end())) return prev;
    auto prev = std::make_shared<const std::vector<int32_t>>(previous_positions(metas_, tokens));
    if (previous_.size() >= 4) previous_.erase(previous_.begin());
    previous_.emplace_back(std::vector<int64_t>(tokens.begin(), tokens.end()), prev);
    return prev;
  }

  std::shared_ptr<const SyntheticGenerator> gen_;
  mutable std::mutex mutex_;
  mutable std::vector<std::pair<std::vector<int64_t>, std::shared_ptr<const std::vector<int32_t>>>>
      previous_;
  int num_layers_, num_experts_, top_k_;
  std::vector<TokenMeta> metas_;
  std::vector<std::string> names_;
};
}  // namespace

std::shared_ptr<TokenSource> make_synthetic_source(std::shared_ptr<const SyntheticGenerator> gen,
                                                   int num_layers, int num_experts, int top_k,
                                                   int64_t tokens) {
  return std::make_shared<SyntheticSource>(std::move(gen), num_layers, num_experts, top_k, tokens);
}

}  // namespace moeb
