#include "cpu/permute.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MOEB_X86_SIMD 1
#endif

#include <algorithm>
#include <cstring>

namespace moeb::cpu {

void token_major_order(const int32_t* send_token, int64_t rows, int64_t tokens,
                       std::vector<int32_t>& order, std::vector<int64_t>& count) {
  count.assign(static_cast<size_t>(tokens) + 1, 0);
  for (int64_t p = 0; p < rows; ++p) ++count[static_cast<size_t>(send_token[p]) + 1];
  for (size_t t = 1; t < count.size(); ++t) count[t] += count[t - 1];
  order.resize(static_cast<size_t>(rows));
  for (int64_t p = 0; p < rows; ++p)
    order[static_cast<size_t>(count[static_cast<size_t>(send_token[p])]++)] =
        static_cast<int32_t>(p);
}

namespace {
// A row copied with non-temporal stores where the architecture has them (x86 SSE), else memcpy.
void copy_row_stream(const float* s, float* d, int64_t len) {
#ifdef MOEB_X86_SIMD
  if (len % 4 == 0 && reinterpret_cast<uintptr_t>(d) % 16 == 0) {
    for (int64_t h = 0; h < len; h += 4) _mm_stream_ps(d + h, _mm_loadu_ps(s + h));
    return;
  }
#endif
  std::memcpy(d, s, static_cast<size_t>(len) * sizeof(float));
}

void store_fence() {
#ifdef MOEB_X86_SIMD
  _mm_sfence();
#endif
}
}  // namespace

namespace {
// Copies src row `token` to `dst` after prefetching src row `next` (the following copy's).
inline void copy_row_prefetch_next(const float* src, int64_t token, int64_t next, float* dst,
                                   int64_t len) {
  const float* s = src + token * len;
  if (next >= 0 && next != token) {
    const char* n = reinterpret_cast<const char*>(src + next * len);
    for (int64_t b = 0; b < std::min<int64_t>(len * 4, 512); b += 64) __builtin_prefetch(n + b, 0, 3);
  }
  copy_row_stream(s, dst, len);
}
}  // namespace

void permute_range(const float* src, const int32_t* send_token, int64_t begin, int64_t end,
                   const PermuteTarget& target) {
  for (int64_t pos = begin; pos < end; ++pos)
    copy_row_prefetch_next(src, send_token[pos], pos + 1 < end ? send_token[pos + 1] : -1,
                           target.row(pos), target.row_len);
  store_fence();
}

void permute_rows(const float* src, const int32_t* send_token, const int32_t* order, int64_t n,
                  const PermuteTarget& target) {
  // The next token's row is usually the next input row: started early.
  for (int64_t i = 0; i < n; ++i)
    copy_row_prefetch_next(src, send_token[order[i]], i + 1 < n ? send_token[order[i + 1]] : -1,
                           target.row(order[i]), target.row_len);
  store_fence();
}

}  // namespace moeb::cpu
