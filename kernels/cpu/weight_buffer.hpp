// Storage for weights packed once and streamed by every FFN call: 2 MiB aligned and, on Linux,
// marked for transparent huge pages (madvise MADV_HUGEPAGE; effective when the system's THP mode
// is `always` or `madvise`). One 2 MiB page per TLB entry instead of 512 4 KiB pages: a grouped
// FFN streams every hosted expert's weights per call (16 experts x 6 MiB in the benchmark), and
// with 4 KiB pages the page walks cost a measurable share of that (bench/README.md).
#pragma once

#include <cstddef>
#include <memory>

namespace moeb::cpu {

// Whether buffers made from now on ask for huge pages (default true). For A/B measurements only
// (bench_cpu_ffn packs a second set of experts with it off); no run-time option uses it.
void set_weight_huge_pages(bool on);

class WeightBuffer {
 public:
  WeightBuffer() = default;
  explicit WeightBuffer(size_t floats);  // zero-filled; huge-page backed from 2 MiB up
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  size_t size() const { return size_; }
  // True when the kernel accepted the huge-page advice for this buffer.
  bool huge_pages() const { return huge_; }

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::unique_ptr<float, Free> data_;
  size_t size_ = 0;
  bool huge_ = false;
};

}  // namespace moeb::cpu
