// The harness's correctness check: sampled owned tokens' layer outputs against the single-rank
// reference of core/reference, counted with |a - b| > atol + rtol * |b| as wrong.
#pragma once

#include <cstdint>

#include "core/reference.hpp"
#include "core/trace.hpp"

namespace moeb {

class Backend;

struct CheckTotals {
  int64_t checked_elements = 0, wrong_elements = 0;
  double max_abs_err = 0;
};

struct CheckParams {
  uint64_t seed = 0;
  int me = 0;
  int64_t batch_index = 0;
  int64_t token_begin = 0, token_end = 0;  // this rank's owned tokens
  int samples = 8;
  double rtol = 1e-3, atol = 1e-4;
};

// Checks this rank's output of `layer` (the backend's output after unpermute) on up to
// `samples` owned tokens, drawn deterministically, against the reference computed from
// `batch`'s routing (after any route transform). Adds to `totals` (local, not reduced).
void check_layer_output(Backend& backend, const RoutingTrace& batch, int layer,
                        const CheckParams& p, ReferenceExperts& ref, CheckTotals& totals);

}  // namespace moeb
