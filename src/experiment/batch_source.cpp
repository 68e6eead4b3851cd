#include "experiment/batch_source.hpp"

namespace moeb {

RoutingTrace BatchSource::get(int64_t index) {
  if (auto it = kept_.find(index); it != kept_.end()) return it->second;
  RoutingTrace t = workload_->batch(index);
  const size_t bytes = static_cast<size_t>(t.num_tokens()) * t.num_layers() * t.top_k() *
                       (sizeof(int32_t) + sizeof(float));
  if (kept_bytes_ + bytes <= max_bytes_) {
    kept_bytes_ += bytes;
    kept_.emplace(index, t);
  }
  return t;
}

}  // namespace moeb
