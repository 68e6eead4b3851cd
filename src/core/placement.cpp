#include "core/placement.hpp"

#include "core/batch_routing.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/evaluator.hpp"

namespace moeb {

std::vector<int> LayerPlacement::slots_used(int num_ranks) const {
  std::vector<int> used(num_ranks, 0);
  for (const auto& reps : replicas)
    for (int r : reps)
      if (r >= 0 && r < num_ranks) ++used[r];
  return used;
}

int Placement::max_replicas() const {
  size_t m = 0;
  for (const auto& l : layers)
    for (const auto& r : l.replicas) m = std::max(m, r.size());
  return static_cast<int>(m);
}

const char* to_string(ReplicaPolicyKind k) {
  switch (k) {
    case ReplicaPolicyKind::kPrimary: return "primary";
    case ReplicaPolicyKind::kUniform: return "uniform";
    case ReplicaPolicyKind::kLocality: return "locality";
    case ReplicaPolicyKind::kWeightedRR: return "wrr";
    case ReplicaPolicyKind::kLeastLoad: return "least_load";
  }
  return "?";
}

ReplicaPolicyKind parse_replica_policy(const std::string& s, const std::string& where) {
  for (auto k : {ReplicaPolicyKind::kPrimary, ReplicaPolicyKind::kUniform,
                 ReplicaPolicyKind::kLocality, ReplicaPolicyKind::kWeightedRR,
                 ReplicaPolicyKind::kLeastLoad})
    if (s == to_string(k)) return k;
  throw ConfigError(where + ": expected one of primary, uniform, locality, wrr, least_load; got '" +
                    s + "'");
}

void RouteTransform::apply(int layer, RoutingTrace& batch) const {
  if (batch.num_tokens() == 0) return;
  const size_t n = static_cast<size_t>(batch.num_tokens()) * batch.top_k();
  apply_layer(layer, batch.top_k(), {batch.experts(layer, 0).data(), n},
              {batch.weights(layer, 0).data(), n});
}

std::string check_placement(const Placement& p, int num_experts, int slots_per_rank) {
  for (int l = 0; l < p.num_layers(); ++l) {
    const auto& lp = p.layers[l];
    if (lp.num_experts() != num_experts)
      return "layer " + std::to_string(l) + ": " + std::to_string(lp.num_experts()) +
             " experts placed, expected " + std::to_string(num_experts);
    for (int e = 0; e < num_experts; ++e) {
      const auto& reps = lp.replicas[e];
      if (reps.empty())
        return "layer " + std::to_string(l) + ": expert " + std::to_string(e) + " has no replica";
      for (size_t i = 0; i < reps.size(); ++i) {
        if (reps[i] < 0 || reps[i] >= p.num_ranks)
          return "layer " + std::to_string(l) + ": expert " + std::to_string(e) +
                 " placed on invalid rank " + std::to_string(reps[i]);
        for (size_t j = 0; j < i; ++j)
          if (reps[j] == reps[i])
            return "layer " + std::to_string(l) + ": expert " + std::to_string(e) +
                   " has two replicas on rank " + std::to_string(reps[i]);
      }
      if (!lp.replica_weights.empty() && lp.replica_weights[e].size() != reps.size())
        return "layer " + std::to_string(l) + ": expert " + std::to_string(e) +
               " replica_weights size differs from replicas";
    }
    auto used = lp.slots_used(p.num_ranks);
    for (int r = 0; r < p.num_ranks; ++r)
      if (used[r] > slots_per_rank)
        return "layer " + std::to_string(l) + ": rank " + std::to_string(r) + " holds " +
               std::to_string(used[r]) + " experts, above its " + std::to_string(slots_per_rank) +
               " slots";
  }
  return {};
}

int64_t RouteTransform::count_layer(int layer, int top_k, std::span<const int32_t> experts,
                                    std::span<const float> weights, int num_ranks,
                                    int num_experts, ExpertCounts& out) const {
  std::vector<int32_t> ids(experts.begin(), experts.end());
  std::vector<float> ws(weights.begin(), weights.end());
  apply_layer(layer, top_k, ids, ws);
  count_experts(ids, top_k, num_ranks, num_experts, out);
  return count_changed_choices(experts, ids, top_k);
}

double routing_deviation(const RoutingTrace& original, const RoutingTrace& transformed) {
  if (original.num_layers() != transformed.num_layers() ||
      original.num_tokens() != transformed.num_tokens() || original.top_k() != transformed.top_k())
    throw Error("routing_deviation: traces differ in shape");
  int64_t changed = 0, total = 0;
  for (int l = 0; l < original.num_layers(); ++l) {
    changed += count_changed_choices(original.layer_experts(l), transformed.layer_experts(l),
                                     original.top_k());
    total += static_cast<int64_t>(transformed.layer_experts(l).size());
  }
  return total > 0 ? static_cast<double>(changed) / static_cast<double>(total) : 0.0;
}

namespace {

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

struct Reader {
  const std::string& in;
  size_t at = 0;
  template <class T>
  T get() {
    if (in.size() - at < sizeof(T))
      throw Error("placement bytes end early at byte " + std::to_string(at));
    T v;
    std::memcpy(&v, in.data() + at, sizeof v);
    at += sizeof v;
    return v;
  }
  size_t count() {  // an element count, bounded by the bytes left
    const auto n = get<uint64_t>();
    if (n > in.size() - at)
      throw Error("placement bytes: count " + std::to_string(n) + " too large");
    return static_cast<size_t>(n);
  }
};

template <class T>
void put_lists(std::string& out, const std::vector<std::vector<T>>& lists) {
  put<uint64_t>(out, lists.size());
  for (const auto& l : lists) {
    put<uint64_t>(out, l.size());
    for (T v : l) put<T>(out, v);
  }
}

template <class T>
std::vector<std::vector<T>> get_lists(Reader& r) {
  std::vector<std::vector<T>> lists(r.count());
  for (auto& l : lists) {
    l.resize(r.count());
    for (T& v : l) v = r.get<T>();
  }
  return lists;
}

}  // namespace

std::string encode_placement(const Placement& p) {
  std::string out;
  put<int32_t>(out, p.num_ranks);
  put<uint64_t>(out, p.layers.size());
  for (const auto& lp : p.layers) {
    put_lists<int>(out, lp.replicas);
    put_lists<double>(out, lp.replica_weights);
    put_lists<double>(out, {lp.predicted_rank_load});
  }
  return out;
}

Placement decode_placement(const std::string& bytes) {
  Reader r{bytes};
  Placement p;
  p.num_ranks = r.get<int32_t>();
  p.layers.resize(r.count());
  for (auto& lp : p.layers) {
    lp.replicas = get_lists<int>(r);
    lp.replica_weights = get_lists<double>(r);
    auto load = get_lists<double>(r);
    if (load.size() != 1) throw Error("placement bytes: bad predicted load");
    lp.predicted_rank_load = std::move(load[0]);
  }
  if (r.at != bytes.size())
    throw Error("placement bytes: " + std::to_string(bytes.size() - r.at) + " bytes left over");
  return p;
}

}  // namespace moeb
