#include "cpu/weight_buffer.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace moeb::cpu {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
std::atomic<bool> g_huge_pages{true};
}  // namespace

void set_weight_huge_pages(bool on) { g_huge_pages = on; }

WeightBuffer::WeightBuffer(size_t floats) : size_(floats) {
  if (floats == 0) return;
  // Buffers of at least one huge page take whole huge pages, so the advice covers the buffer and
  // nothing else shares its pages; smaller ones (test shapes) stay cache-line aligned.
  const size_t raw = floats * sizeof(float);
  const bool big = raw >= kHugePage;
  const size_t align = big ? kHugePage : 64;
  const size_t bytes = (raw + align - 1) / align * align;
  void* p = std::aligned_alloc(align, bytes);
  if (p == nullptr) throw std::bad_alloc();
#if defined(__linux__)
  if (big)
    huge_ = madvise(p, bytes, g_huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) == 0 && g_huge_pages;
#endif
  std::memset(p, 0, bytes);  // fault the pages in now (as huge pages where granted)
  data_.reset(static_cast<float*>(p));
}

void WeightBuffer::Free::operator()(float* p) const { std::free(p); }

}  // namespace moeb::cpu
