#include "runtime/check.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/expert_weights.hpp"
#include "core/rng.hpp"
#include "runtime/backend.hpp"
#include "runtime/layer_engine.hpp"

namespace moeb {

namespace {
constexpr uint64_t kCheckTag = 0x434845434B53414DULL;  // "CHECKSAM"

// Up to `samples` distinct local token indices in [0, n), ascending.
std::vector<int64_t> sample_tokens(int64_t n, const CheckParams& p, int layer) {
  std::vector<int64_t> picked;
  if (n <= p.samples) {
    for (int64_t t = 0; t < n; ++t) picked.push_back(t);
    return picked;
  }
  for (uint64_t draw = 0; static_cast<int>(picked.size()) < p.samples; ++draw) {
    const uint64_t h = hash_counters(p.seed, kCheckTag, static_cast<uint64_t>(layer),
                                     static_cast<uint64_t>(p.me), draw);
    const auto t = static_cast<int64_t>(bounded(h, static_cast<uint64_t>(n)));
    if (std::find(picked.begin(), picked.end(), t) == picked.end()) picked.push_back(t);
  }
  std::sort(picked.begin(), picked.end());
  return picked;
}
}  // namespace

void check_layer_output(Backend& backend, const RoutingTrace& batch, int layer,
                        const CheckParams& p, ReferenceExperts& ref, CheckTotals& totals) {
  const int H = ref.hidden();
  const std::vector<int64_t> local = sample_tokens(p.token_end - p.token_begin, p, layer);
  std::vector<float> got(local.size() * static_cast<size_t>(H));
  backend.read_output(local, got);
  std::vector<float> x(static_cast<size_t>(H));
  std::vector<double> want(static_cast<size_t>(H));
  for (size_t i = 0; i < local.size(); ++i) {
    const int64_t t = p.token_begin + local[i];
    fill_token_input(p.seed, layer, input_token_id(p.batch_index, t), x);
    reference_token_output(ref, layer, batch.experts(layer, t), batch.weights(layer, t), x, want);
    for (int h = 0; h < H; ++h) {
      const double a = got[i * H + h], b = want[h];
      const double err = std::abs(a - b);
      // NaN compares false everywhere: count it wrong explicitly.
      if (!(err <= p.atol + p.rtol * std::abs(b))) ++totals.wrong_elements;
      if (std::isnan(err) || err > totals.max_abs_err)
        totals.max_abs_err = std::isnan(err) ? INFINITY : err;
      ++totals.checked_elements;
    }
  }
}

}  // namespace moeb
