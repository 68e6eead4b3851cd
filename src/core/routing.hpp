// Token ownership and replica routing: which rank owns a token, and which replica rank serves
// each (token, expert) pair. Shared by the runtime (both backends) and the pure evaluator, so a
// measured run and a prediction route identically. Every rank computes the whole batch's routing
// in global token order, so load-aware policies are deterministic on any rank count.
#pragma once

#include <cstdint>
#include <span>

#include "core/placement.hpp"
#include "core/topology.hpp"

namespace moeb {

// Rank r owns tokens [token_begin(r), token_begin(r + 1)) of a T-token batch.
inline int64_t token_begin(int rank, int64_t num_tokens, int num_ranks) {
  return static_cast<int64_t>((static_cast<__int128>(rank) * num_tokens) / num_ranks);
}
// Owner rank of token t (inverse of token_begin).
int owner_of_token(int64_t t, int64_t num_tokens, int num_ranks);

struct RouteContext {
  uint64_t seed = 0;
  int layer = 0;
  int64_t batch_index = 0;
};

// Fills dest[t * top_k + j] with the rank serving expert experts[t * top_k + j] of token t.
// `experts` holds num_tokens * top_k ids of one layer.
void route_layer(const LayerPlacement& lp, ReplicaPolicyKind policy, const Topology& topo,
                 std::span<const int32_t> experts, int top_k, const RouteContext& ctx,
                 std::span<int32_t> dest);

}  // namespace moeb
