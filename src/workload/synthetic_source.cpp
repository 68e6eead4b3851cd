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
    gen_->route_layer(metas_, tokens, layer, experts, weights);
    return true;
  }
  bool layers_alone() const override { return true; }
  std::string source() const override { return gen_->source(); }

 private:
  std::shared_ptr<const SyntheticGenerator> gen_;
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
