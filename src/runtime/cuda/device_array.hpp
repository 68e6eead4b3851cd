// Grow-only device and pinned-host arrays (RAII). Steady-state iterations never allocate:
// ensure() reallocates only when a plan needs more than any plan before it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>
#include <utility>

#include "kernels/cuda/cuda_check.hpp"

namespace moeb::cuda {

template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  ~DeviceArray() { release(); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  DeviceArray(DeviceArray&& o) noexcept { swap(o); }
  DeviceArray& operator=(DeviceArray&& o) noexcept {
    swap(o);
    return *this;
  }

  // Capacity >= n elements (at least 1, so data() is never null). Returns true when the
  // storage moved (contents are lost then; pointers taken earlier are stale).
  bool ensure(size_t n) {
    if (n == 0) n = 1;
    if (n <= capacity_) return false;
    release();
    const size_t grown = n + n / 4;
    void* p = nullptr;
    const cudaError_t rc = cudaMalloc(&p, grown * sizeof(T));
    if (rc != cudaSuccess) {
      (void)cudaGetLastError();  // reset so later launch checks do not report it
      throw_cuda_error(rc, DeviceErrorSite{"cudaMalloc", __FILE__, __LINE__});
    }
    ptr_ = static_cast<T*>(p);
    capacity_ = grown;
    return true;
  }
  // Copies n host elements in (async on `stream`; the host memory must stay valid until then
  // or be pageable, in which case the copy is synchronous w.r.t. the host).
  void upload(const T* host, size_t n, cudaStream_t stream) {
    ensure(n);
    if (n > 0)
      MOEB_CUDA_CHECK(cudaMemcpyAsync(ptr_, host, n * sizeof(T), cudaMemcpyHostToDevice, stream));
  }
  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  size_t capacity() const { return capacity_; }

 private:
  void release() {
    if (ptr_ != nullptr) cudaFree(ptr_);  // no check: runs in destructors
    ptr_ = nullptr;
    capacity_ = 0;
  }
  void swap(DeviceArray& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(capacity_, o.capacity_);
  }
  T* ptr_ = nullptr;
  size_t capacity_ = 0;
};

// Page-locked host staging for async uploads.
template <typename T>
class PinnedArray {
 public:
  PinnedArray() = default;
  ~PinnedArray() {
    if (ptr_ != nullptr) cudaFreeHost(ptr_);
  }
  PinnedArray(const PinnedArray&) = delete;
  PinnedArray& operator=(const PinnedArray&) = delete;
  void ensure(size_t n) {
    if (n == 0) n = 1;
    if (n <= capacity_) return;
    if (ptr_ != nullptr) cudaFreeHost(ptr_);
    ptr_ = nullptr;
    capacity_ = 0;
    void* p = nullptr;
    MOEB_CUDA_CHECK(cudaMallocHost(&p, (n + n / 4) * sizeof(T)));
    ptr_ = static_cast<T*>(p);
    capacity_ = n + n / 4;
  }
  T* data() { return ptr_; }
  T& operator[](size_t i) { return ptr_[i]; }

 private:
  T* ptr_ = nullptr;
  size_t capacity_ = 0;
};

}  // namespace moeb::cuda
