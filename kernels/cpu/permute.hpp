// Row copies of the CPU backend's permute and unpermute in token-major order: each owned token's
// row is read once (it stays in L1 for every copy of it) and written to every position that
// sends it, with streaming stores since another process (MPI) or a later phase reads them.
#pragma once

#include <cstdint>
#include <vector>

namespace moeb::cpu {

// The send positions of a plan in token-major order: positions sorted by (send_token, position),
// from send_token[0..rows) whose values are in [0, tokens). A counting sort into `order`
// (resized; capacity reused), with `count` as scratch.
void token_major_order(const int32_t* send_token, int64_t rows, int64_t tokens,
                       std::vector<int32_t>& order, std::vector<int64_t>& count);

// Where each send position goes: positions in [self_begin, self_end) to self_dst (row
// position - self_begin), every other position p to send_dst row p.
struct PermuteTarget {
  float* send_dst;
  float* self_dst;
  int64_t self_begin, self_end;
  float* row(int64_t pos) const {
    return pos >= self_begin && pos < self_end ? self_dst + (pos - self_begin) * row_len
                                               : send_dst + pos * row_len;
  }
  int64_t row_len;
};

// For i in order: copies src row send_token[order[i]] to target.row(order[i]).
void permute_rows(const float* src, const int32_t* send_token, const int32_t* order, int64_t n,
                  const PermuteTarget& target);

// For pos in [begin, end): copies src row send_token[pos] to target.row(pos), in send order (a
// part of one destination's block: its tokens ascend, so the input is read forward).
void permute_range(const float* src, const int32_t* send_token, int64_t begin, int64_t end,
                   const PermuteTarget& target);

}  // namespace moeb::cpu
