// A block of rows cut into chunks of at most `chunk_rows` rows, in order (the last one may be
// shorter). A transport that sends a block chunk by chunk computes the same cut on both sides
// from the block's row count alone, so the receiver can post one receive per chunk.
#pragma once

#include <algorithm>
#include <cstdint>

namespace moeb {

struct RowChunks {
  int64_t rows = 0;        // rows in the block
  int64_t chunk_rows = 1;  // at most this many per chunk (>= 1)

  int64_t count() const { return (rows + chunk_rows - 1) / chunk_rows; }
  int64_t begin(int64_t i) const { return i * chunk_rows; }
  int64_t end(int64_t i) const { return std::min(rows, (i + 1) * chunk_rows); }
};

// Rows per chunk for a target chunk size: as many whole rows of `row_bytes` as fit in
// `chunk_bytes`, at least one.
inline int64_t chunk_rows_for(int64_t row_bytes, int64_t chunk_bytes) {
  return std::max<int64_t>(1, chunk_bytes / std::max<int64_t>(1, row_bytes));
}

}  // namespace moeb
