// The calibration/evaluation split (always by request: no request has tokens in both parts)
// and the replay order of tokens (interleaved as a serving batch, or request by request).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/trace.hpp"

namespace moeb {

struct SplitResult {
  std::vector<int64_t> calibration;  // token indices, in trace order
  std::vector<int64_t> evaluation;   // token indices, in trace order
  int64_t calibration_requests = 0, evaluation_requests = 0;
};

// Requests are shuffled by a counter-based hash of (seed, request id) and the first
// round(fraction * requests) of them (at least 1, and at least 1 left) go to calibration.
// Throws ConfigError when there are fewer than 2 requests or fraction is outside (0, 1).
SplitResult split_by_request(const std::vector<TokenMeta>& metas, double fraction, uint64_t seed);

// The honest split whose evaluation tokens split = "oracle" evaluates (and calibrates on):
// "trace" when the workload names a calibration trace (the whole trace is evaluated), else
// "fraction" (the evaluation part of the split by request).
std::string honest_split(const WorkloadConfig& w);

// Number of distinct request ids among `tokens`.
int64_t count_requests(const std::vector<TokenMeta>& metas, std::span<const int64_t> tokens);

// Replay order of `tokens` (indices into `metas`):
//  - "by_request": request after request (order of first appearance), positions ascending.
//  - "interleaved": continuous batching. Requests are admitted in order of first appearance
//    into `concurrency` slots; each step emits, for every active request, its whole remaining
//    prefill (one prefill chunk) or one decode token; a finished request frees its slot for the
//    next one. The stream is then cut into batches by the caller.
// Throws ConfigError on another order name.
std::vector<int64_t> order_tokens(const std::vector<TokenMeta>& metas,
                                  std::span<const int64_t> tokens, const std::string& order,
                                  int64_t concurrency);

// Default concurrency for a batch size: about 16 tokens per active request per batch.
inline int64_t default_concurrency(int64_t batch_tokens) {
  return batch_tokens / 16 > 1 ? batch_tokens / 16 : 1;
}

// The tokens of `tokens` whose phase matches `phase` ("all" keeps every token, "prefill",
// "decode"), in order. Throws ConfigError naming `where` on another phase name.
std::vector<int64_t> filter_phase(const std::vector<TokenMeta>& metas,
                                  std::span<const int64_t> tokens, const std::string& phase,
                                  const std::string& where);

}  // namespace moeb
