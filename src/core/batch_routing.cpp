#include "core/batch_routing.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"

namespace moeb {

int64_t count_changed_choices(std::span<const int32_t> before, std::span<const int32_t> after,
                              int top_k) {
  int64_t changed = 0;
  const size_t k = static_cast<size_t>(top_k);
  for (size_t t = 0; t + k <= after.size(); t += k) {
    const int32_t* orig = before.data() + t;
    for (size_t j = 0; j < k; ++j) {  // without branches: whether any original choice matches
      bool found = false;
      for (size_t i = 0; i < k; ++i) found |= orig[i] == after[t + j];
      changed += !found;
    }
  }
  return changed;
}

RoutedBatch::RoutedBatch(RoutingTrace batch, int64_t index, const RoutingRule& rule,
                         const Topology& topo, uint64_t seed, int num_layers)
    : trace_(std::move(batch)),
      index_(index),
      rule_(rule),
      topo_(&topo),
      seed_(seed),
      num_layers_(num_layers) {
  const std::string where = "workload batch " + std::to_string(index);
  // Routing indexes the placement by expert id: a mismatch would read out of bounds.
  if (trace_.num_layers() < num_layers || trace_.top_k() < 1)
    throw InputError(where + ": " + std::to_string(trace_.num_layers()) +
                     " layers, the run needs " + std::to_string(num_layers));
  if (!rule.placement || rule.placement->num_layers() < num_layers)
    throw Error(where + ": the placement covers fewer layers than the run");
  for (int l = 0; l < num_layers; ++l)
    if (trace_.num_experts() != rule.placement->layers[l].num_experts())
      throw InputError(where + ": " + std::to_string(trace_.num_experts()) +
                       " experts, the placement of layer " + std::to_string(l) + " has " +
                       std::to_string(rule.placement->layers[l].num_experts()));
  choices_ = trace_.num_tokens() * trace_.top_k() * num_layers;
  if (rule.transform) {
    std::vector<int32_t> before;
    for (int l = 0; l < num_layers; ++l) {
      const auto ids = trace_.layer_experts(l);
      before.assign(ids.begin(), ids.end());
      rule.transform->apply(l, trace_);
      changed_ += count_changed_choices(before, trace_.layer_experts(l), trace_.top_k());
    }
  }
  dest_.resize(num_layers);
}

std::span<const int32_t> RoutedBatch::dest(int layer) {
  auto& d = dest_.at(static_cast<size_t>(layer));
  const auto experts = trace_.layer_experts(layer);
  if (d.size() != experts.size()) {
    d.resize(experts.size());
    route_layer(rule_.placement->layers[layer], rule_.policy, *topo_, experts, trace_.top_k(),
                RouteContext{seed_, layer, index_}, d);
  }
  return d;
}

void RoutedBatch::clear_routes() {
  for (auto& d : dest_) d.clear();
}

size_t RoutedBatch::bytes() const {
  size_t b = static_cast<size_t>(trace_.num_tokens()) * trace_.num_layers() * trace_.top_k() *
             (sizeof(int32_t) + sizeof(float));
  for (const auto& d : dest_) b += d.capacity() * sizeof(int32_t);
  return b;
}

BatchRouter::BatchRouter(Source source, RoutingRule rule, const Topology& topo, uint64_t seed,
                         int num_layers, size_t max_bytes)
    : source_(std::move(source)),
      rule_(rule),
      topo_(&topo),
      seed_(seed),
      num_layers_(num_layers),
      max_bytes_(max_bytes) {}

RoutedBatch& BatchRouter::get(int64_t index) {
  if (auto it = kept_.find(index); it != kept_.end()) return it->second;
  if (scratch_.index() == index) return scratch_;
  RoutedBatch b(source_(index), index, rule_, *topo_, seed_, num_layers_);
  changed_[index] = {b.changed_choices(), b.choices()};
  // Destinations double a batch's size once routed: budget for both.
  const size_t need = 2 * b.bytes();
  if (kept_bytes_ + need <= max_bytes_) {
    kept_bytes_ += need;
    return kept_.emplace(index, std::move(b)).first->second;
  }
  scratch_ = std::move(b);
  return scratch_;
}

double BatchRouter::deviation(const std::vector<int64_t>& batch_index) {
  if (!rule_.transform) return -1.0;
  double changed = 0, total = 0;
  for (int64_t b : batch_index) {
    if (!changed_.count(b)) get(b);
    changed += static_cast<double>(changed_[b].first);
    total += static_cast<double>(changed_[b].second);
  }
  return total > 0 ? changed / total : 0.0;
}

}  // namespace moeb
