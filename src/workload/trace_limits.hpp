// Documented limits of routing traces and imports (results_schema/TRACE.md, "Limits"). Every
// size read from a trace file or an import is checked against them before anything is
// allocated, so a hostile or damaged file gives one clear line instead of an allocation failure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace moeb {

struct TraceLimits {
  static constexpr int64_t kMaxLayers = 4096;       // MoE layers (largest public model: 94)
  static constexpr int64_t kMaxExperts = 65536;     // experts per layer (ids 0..65535)
  static constexpr int64_t kMaxTopK = 1024;         // experts per token and layer
  static constexpr int64_t kMaxFamilies = 1 << 20;  // task-family name table entries
  static constexpr int64_t kMaxTokens = (int64_t{1} << 31) - 1;  // tokens of one trace
  static constexpr int64_t kMaxPosition = (int64_t{1} << 31) - 1;
  // layers x tokens x top-k of one trace (the routing datasets' element count).
  static constexpr int64_t kMaxRoutingEntries = int64_t{1} << 40;
  // layers x tokens x top-k an import assembles in memory (8 bytes an entry: 16 GiB).
  static constexpr int64_t kMaxImportEntries = int64_t{1} << 31;
  // layers x experts x experts of a statistics-only trace (8 bytes a cell: 2 GiB).
  static constexpr int64_t kMaxCoactCells = int64_t{1} << 28;
  // Bytes of one HDF5 chunk a reader accepts (decompressed).
  static constexpr int64_t kMaxChunkBytes = int64_t{64} << 20;
};

// a * b * c for non-negative operands, or nullopt when it exceeds INT64_MAX.
inline std::optional<int64_t> checked_product(int64_t a, int64_t b, int64_t c = 1) {
  int64_t ab = 0, abc = 0;
  if (a < 0 || b < 0 || c < 0 || __builtin_mul_overflow(a, b, &ab) ||
      __builtin_mul_overflow(ab, c, &abc))
    return std::nullopt;
  return abc;
}

// "L layers x T tokens x k" style description used in limit messages.
inline std::string product_text(int64_t a, const char* an, int64_t b, const char* bn, int64_t c,
                                const char* cn) {
  return std::to_string(a) + " " + an + " x " + std::to_string(b) + " " + bn + " x " +
         std::to_string(c) + " " + cn;
}

}  // namespace moeb
