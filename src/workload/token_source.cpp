#include "workload/token_source.hpp"

#include <algorithm>

#include "core/parallel.hpp"

namespace moeb {

RoutingStats stats_of_tokens(const TokenSource& src, std::span<const int64_t> ordered,
                             int num_layers, int64_t batch_tokens) {
  RoutingStats stats(num_layers, src.num_experts(), src.family_names());
  std::vector<TokenMeta> metas;
  for (size_t b = 0; b < ordered.size(); b += static_cast<size_t>(batch_tokens)) {
    size_t n = std::min(static_cast<size_t>(batch_tokens), ordered.size() - b);
    const auto tokens = ordered.subspan(b, n);
    if (!src.layers_alone()) {
      stats.add_batch(src.fetch(tokens, num_layers));
      continue;
    }
    // One layer at a time (layers in parallel): the batch is never held whole.
    metas.clear();
    for (int64_t t : tokens) metas.push_back(src.metas()[t]);
    stats.add_batch_layers(
        metas, src.top_k(),
        [&](int l, std::span<int32_t> ids) { src.fetch_layer(tokens, l, ids, {}); },
        default_threads());
  }
  return stats;
}

}  // namespace moeb
