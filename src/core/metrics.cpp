#include "core/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace moeb {

double jain_index(std::span<const double> x) {
  double s = 0, s2 = 0;
  for (double v : x) {
    s += v;
    s2 += v * v;
  }
  if (x.empty() || s2 == 0) return 1.0;
  return s * s / (static_cast<double>(x.size()) * s2);
}

double balancedness(std::span<const double> x) {
  if (x.empty()) return 1.0;
  double s = 0, m = 0;
  for (double v : x) {
    s += v;
    m = std::max(m, v);
  }
  if (m == 0) return 1.0;
  return s / static_cast<double>(x.size()) / m;
}

double percentile(std::vector<double> x, double q) {
  if (x.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(x.begin(), x.end());
  const double pos = q / 100.0 * static_cast<double>(x.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, x.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return x[lo] + (x[hi] - x[lo]) * frac;
}

double median(std::vector<double> x) { return percentile(std::move(x), 50.0); }

std::vector<double> to_double(std::span<const int64_t> x) {
  return std::vector<double>(x.begin(), x.end());
}

}  // namespace moeb
