#include "workload/token_source.hpp"

#include <algorithm>

namespace moeb {

RoutingStats stats_of_tokens(const TokenSource& src, std::span<const int64_t> ordered,
                             int num_layers, int64_t batch_tokens) {
  RoutingStats stats(num_layers, src.num_experts(), src.family_names());
  for (size_t b = 0; b < ordered.size(); b += static_cast<size_t>(batch_tokens)) {
    size_t n = std::min(static_cast<size_t>(batch_tokens), ordered.size() - b);
    stats.add_batch(src.fetch(ordered.subspan(b, n), num_layers));
  }
  return stats;
}

}  // namespace moeb
