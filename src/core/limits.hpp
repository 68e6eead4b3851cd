// Documented limits on every size read from input (suites, traces, imports, results files) and
// checked arithmetic on the sizes computed from them. A value past a limit is refused with one
// line naming the key; nothing is allocated first. The limits are far above any published MoE
// model (DeepSeek-V3: 256 experts, top-8, hidden 7168, 58 layers) and are listed, with the
// reason for each, in suites/README.md ("Limits") and results_schema/README.md.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>

namespace moeb::limits {

inline constexpr int kMaxExperts = 1 << 16;                    // routed experts per layer
inline constexpr int kMaxTopK = 1 << 10;                       // experts per token
inline constexpr int kMaxLayers = 1 << 12;                     // MoE layers
inline constexpr int kMaxHidden = 1 << 17;                     // hidden and ffn_hidden
inline constexpr int kMaxSharedExperts = 1 << 10;              // always-active experts
inline constexpr int64_t kMaxExpertParams = int64_t{1} << 32;  // 3 * hidden * ffn_hidden
inline constexpr int kMaxRanks = 1 << 16;               // nodes, ranks per node, and their product
inline constexpr int kMaxSlotsPerRank = 1 << 16;        // experts one rank holds, replicas included
inline constexpr int64_t kMaxSlots = int64_t{1} << 24;  // slots of all ranks together (per layer)
inline constexpr int64_t kMaxTokens = int64_t{1} << 28;  // tokens of a workload or trace
// Routing entries held at once (tokens x layers x top-k of one batch or one trace read):
// 8 bytes each (int32 id + float weight), so 2^31 entries are 16 GiB (the same bound as an
// import assembled in memory, workload/trace_limits.hpp).
inline constexpr int64_t kMaxRoutingEntries = int64_t{1} << 31;
inline constexpr int kMaxCheckSamples = 1 << 16;                // [check] samples_per_rank
inline constexpr int kMaxIterations = 1 << 20;                  // warmup + iterations
inline constexpr int64_t kMaxRequestTokens = int64_t{1} << 24;  // mean tokens per request
// Results files: measured iterations per strategy, elements of one dataset read (2 GiB of
// int64), and strings of /provenance/env.
inline constexpr int64_t kMaxResultIterations = int64_t{1} << 24;
inline constexpr int64_t kMaxDatasetElements = int64_t{1} << 28;
inline constexpr int64_t kMaxEnvEntries = int64_t{1} << 16;

}  // namespace moeb::limits

namespace moeb {

// a * b when it is representable and <= limit, else nullopt (a, b >= 0).
inline std::optional<int64_t> product_within(int64_t a, int64_t b,
                                             int64_t limit = std::numeric_limits<int64_t>::max()) {
  int64_t r = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r) || r > limit) return std::nullopt;
  return r;
}

// a * b * c likewise.
inline std::optional<int64_t> product_within(int64_t a, int64_t b, int64_t c, int64_t limit) {
  const auto ab = product_within(a, b);
  return ab ? product_within(*ab, c, limit) : std::nullopt;
}

}  // namespace moeb
