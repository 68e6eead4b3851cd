#include "placement/spectral.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace moeb::placement {

namespace {

// Squared distance of two d-vectors, summed in index order from 0 (Eigen's squaredNorm of a
// row of a column-major matrix: the same sum, bit for bit).
inline double squared_distance(const double* a, const double* b, int d) {
  double s = 0;
  for (int t = 0; t < d; ++t) {
    const double x = a[t] - b[t];
    s += x * x;
  }
  return s;
}

// squared_distance of `a` to each of the m <= 4 consecutive rows at `b` (d apart), the sums
// interleaved (each in its own order, so the same bits) so that they do not wait on each other.
inline void squared_distances(const double* a, const double* b, int d, int m, double* out) {
  if (m < 4) {
    for (int q = 0; q < m; ++q) out[q] = squared_distance(a, b + static_cast<size_t>(q) * d, d);
    return;
  }
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  const double *b0 = b, *b1 = b + d, *b2 = b + 2 * d, *b3 = b + 3 * d;
  for (int t = 0; t < d; ++t) {
    const double x0 = a[t] - b0[t], x1 = a[t] - b1[t], x2 = a[t] - b2[t], x3 = a[t] - b3[t];
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

// Seeded k-means++ then Lloyd iterations on the rows of `x` (n x d, row-major); returns labels
// and inertia.
std::pair<std::vector<int>, double> kmeans(const std::vector<double>& x, int n, int d, int k,
                                           Rng& rng) {
  const auto row = [d](const std::vector<double>& m, int i) {
    return m.data() + static_cast<size_t>(i) * d;
  };
  std::vector<double> c(static_cast<size_t>(k) * d);
  const auto set_center = [&](int j, int i) {
    std::copy_n(row(x, i), d, c.begin() + size_t(j) * d);
  };
  std::vector<double> d2(n, std::numeric_limits<double>::infinity());
  set_center(0, static_cast<int>(rng.below(n)));
  for (int j = 1; j < k; ++j) {
    double total = 0;
    for (int i = 0; i < n; ++i) {
      d2[i] = std::min(d2[i], squared_distance(row(x, i), row(c, j - 1), d));
      total += d2[i];
    }
    int pick = 0;
    if (total > 0) {
      double u = rng.uniform() * total;
      for (pick = 0; pick < n - 1; ++pick) {
        u -= d2[pick];
        if (u < 0) break;
      }
    } else {
      pick = static_cast<int>(rng.below(n));
    }
    set_center(j, pick);
  }
  std::vector<int> label(n, -1), cnt(k);
  std::vector<double> sum(static_cast<size_t>(k) * d);
  double inertia = 0;
  for (int it = 0; it < 100; ++it) {
    bool changed = false;
    inertia = 0;
    for (int i = 0; i < n; ++i) {
      int best = 0;
      double bd = std::numeric_limits<double>::infinity();
      double dist[4];
      for (int j0 = 0; j0 < k; j0 += 4) {  // four centres at a time: independent sums
        const int m = std::min(4, k - j0);
        squared_distances(row(x, i), row(c, j0), d, m, dist);
        for (int q = 0; q < m; ++q)
          if (dist[q] < bd) {
            bd = dist[q];
            best = j0 + q;
          }
      }
      inertia += bd;
      changed |= label[i] != best;
      label[i] = best;
    }
    if (!changed) break;
    std::fill(sum.begin(), sum.end(), 0.0);
    std::fill(cnt.begin(), cnt.end(), 0);
    for (int i = 0; i < n; ++i) {
      double* s = sum.data() + static_cast<size_t>(label[i]) * d;
      const double* xi = row(x, i);
      for (int t = 0; t < d; ++t) s[t] += xi[t];
      ++cnt[label[i]];
    }
    for (int j = 0; j < k; ++j)
      if (cnt[j] > 0)
        for (int t = 0; t < d; ++t)
          c[static_cast<size_t>(j) * d + t] = sum[static_cast<size_t>(j) * d + t] / cnt[j];
  }
  return {label, inertia};
}

}  // namespace

std::vector<int> spectral_clusters(const std::vector<double>& affinity, int n, int k, uint64_t seed,
                                   int restarts) {
  if (static_cast<size_t>(n) * n != affinity.size()) throw Error("spectral: affinity not n x n");
  if (k <= 1 || n == 0) return std::vector<int>(n, 0);
  if (k >= n) {
    std::vector<int> l(n);
    std::iota(l.begin(), l.end(), 0);
    return l;
  }
  Eigen::MatrixXd m(n, n);
  Eigen::VectorXd dinv(n);
  for (int i = 0; i < n; ++i) {
    double d = 0;
    for (int j = 0; j < n; ++j) d += i == j ? 0.0 : affinity[static_cast<size_t>(i) * n + j];
    dinv[i] = d > 0 ? 1.0 / std::sqrt(d) : 0.0;
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      m(i, j) = i == j ? 0.0 : dinv[i] * affinity[static_cast<size_t>(i) * n + j] * dinv[j];
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(m);
  if (es.info() != Eigen::Success) throw Error("spectral: eigensolver did not converge");
  // Largest eigenvalues of D^-1/2 A D^-1/2 = smallest of the normalized Laplacian.
  Eigen::MatrixXd emb = es.eigenvectors().rightCols(k);
  for (int i = 0; i < n; ++i) {
    const double norm = emb.row(i).norm();
    if (norm > 0) emb.row(i) /= norm;
  }
  std::vector<double> rows(static_cast<size_t>(n) * k);  // the embedding, row-major
  for (int i = 0; i < n; ++i)
    for (int t = 0; t < k; ++t) rows[static_cast<size_t>(i) * k + t] = emb(i, t);
  Rng rng(hash_counters(seed, 0x5BEC7A1ULL));
  std::vector<int> best;
  double best_inertia = std::numeric_limits<double>::infinity();
  for (int t = 0; t < std::max(1, restarts); ++t) {
    auto [label, inertia] = kmeans(rows, n, k, k, rng);
    if (inertia < best_inertia - 1e-12) {
      best_inertia = inertia;
      best = std::move(label);
    }
  }
  return best;
}

void repair_group_sizes(std::vector<int>& label, const std::vector<double>& affinity,
                        const std::vector<int>& lo, const std::vector<int>& hi) {
  const int n = static_cast<int>(label.size());
  const int k = static_cast<int>(lo.size());
  auto A = [&](int i, int j) { return affinity[static_cast<size_t>(i) * n + j]; };
  auto intra = [&](int i, int g) {
    double s = 0;
    for (int j = 0; j < n; ++j)
      if (j != i && label[j] == g) s += A(i, j);
    return s;
  };
  std::vector<int> size(k, 0);
  for (int g : label) ++size[g];
  // 1. Oversized groups keep their most attached members; the rest go to the pool.
  std::vector<int> pool;
  for (int g = 0; g < k; ++g) {
    if (size[g] <= hi[g]) continue;
    std::vector<std::pair<double, int>> members;
    for (int i = 0; i < n; ++i)
      if (label[i] == g) members.push_back({intra(i, g), i});
    std::stable_sort(members.begin(), members.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t m = hi[g]; m < members.size(); ++m) {
      pool.push_back(members[m].second);
      label[members[m].second] = -1;
    }
    size[g] = hi[g];
  }
  // 2. Each pooled item joins the group with room where its affinity is largest.
  std::vector<double> strength(n, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) strength[i] += A(i, j);
  std::stable_sort(pool.begin(), pool.end(),
                   [&](int a, int b) { return strength[a] > strength[b]; });
  for (int i : pool) {
    int best = -1;
    double best_a = -1;
    for (int g = 0; g < k; ++g) {
      if (size[g] >= hi[g]) continue;
      const double a = intra(i, g);
      if (best < 0 || a > best_a || (a == best_a && size[g] < size[best])) {
        best = g;
        best_a = a;
      }
    }
    if (best < 0) throw Error("repair_group_sizes: group bounds hold fewer items than exist");
    label[i] = best;
    ++size[best];
  }
  // 3. Undersized groups take the weakest-attached members of groups above their minimum.
  for (int g = 0; g < k; ++g) {
    while (size[g] < lo[g]) {
      int donor = -1;
      for (int h = 0; h < k; ++h)
        if (h != g && size[h] > lo[h] && (donor < 0 || size[h] - lo[h] > size[donor] - lo[donor]))
          donor = h;
      if (donor < 0) throw Error("repair_group_sizes: group bounds need more items than exist");
      int weakest = -1;
      double wa = 0;
      for (int i = 0; i < n; ++i) {
        if (label[i] != donor) continue;
        const double a = intra(i, donor) - intra(i, g);
        if (weakest < 0 || a < wa) {
          weakest = i;
          wa = a;
        }
      }
      label[weakest] = g;
      --size[donor];
      ++size[g];
    }
  }
}

}  // namespace moeb::placement
