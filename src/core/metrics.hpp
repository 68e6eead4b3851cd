// The metrics math of METRICS.md, as named functions.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace moeb {

// (sum x)^2 / (n * sum x^2); 1 when all equal; 1 for an all-zero vector (nothing to balance).
double jain_index(std::span<const double> x);
// mean(x) / max(x); 1 = perfect; 1 for an all-zero vector.
double balancedness(std::span<const double> x);
// Linear-interpolated percentile (q in [0, 100]) of a copy of x; NaN when empty.
double percentile(std::vector<double> x, double q);
double median(std::vector<double> x);

std::vector<double> to_double(std::span<const int64_t> x);

}  // namespace moeb
