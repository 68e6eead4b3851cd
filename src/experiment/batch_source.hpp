// The workload's evaluation batches as the experiment hands them to every strategy instance:
// each fetched (generated or read) once and kept while the kept ones fit a byte budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>

#include "core/trace.hpp"
#include "workload/workload.hpp"

namespace moeb {

class BatchSource {
 public:
  BatchSource(const Workload& workload, size_t max_bytes)
      : workload_(&workload), max_bytes_(max_bytes) {}
  int64_t num_batches() const { return workload_->num_batches(); }
  // A copy of batch `index` (strategies transform their copy).
  RoutingTrace get(int64_t index);

 private:
  const Workload* workload_;
  size_t max_bytes_, kept_bytes_ = 0;
  std::map<int64_t, RoutingTrace> kept_;
};

}  // namespace moeb
