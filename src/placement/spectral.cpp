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

// Seeded k-means++ then Lloyd iterations; returns labels and inertia.
std::pair<std::vector<int>, double> kmeans(const Eigen::MatrixXd& x, int k, Rng& rng) {
  const int n = static_cast<int>(x.rows());
  Eigen::MatrixXd c(k, x.cols());
  std::vector<double> d2(n, std::numeric_limits<double>::infinity());
  int first = static_cast<int>(rng.below(n));
  c.row(0) = x.row(first);
  for (int j = 1; j < k; ++j) {
    double total = 0;
    for (int i = 0; i < n; ++i) {
      d2[i] = std::min(d2[i], (x.row(i) - c.row(j - 1)).squaredNorm());
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
    c.row(j) = x.row(pick);
  }
  std::vector<int> label(n, -1);
  double inertia = 0;
  for (int it = 0; it < 100; ++it) {
    bool changed = false;
    inertia = 0;
    for (int i = 0; i < n; ++i) {
      int best = 0;
      double bd = std::numeric_limits<double>::infinity();
      for (int j = 0; j < k; ++j) {
        const double d = (x.row(i) - c.row(j)).squaredNorm();
        if (d < bd) {
          bd = d;
          best = j;
        }
      }
      inertia += bd;
      if (label[i] != best) {
        label[i] = best;
        changed = true;
      }
    }
    if (!changed) break;
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(k, x.cols());
    std::vector<int> cnt(k, 0);
    for (int i = 0; i < n; ++i) {
      sum.row(label[i]) += x.row(i);
      ++cnt[label[i]];
    }
    for (int j = 0; j < k; ++j)
      if (cnt[j] > 0) c.row(j) = sum.row(j) / cnt[j];
  }
  return {label, inertia};
}

}  // namespace

std::vector<int> spectral_clusters(const std::vector<double>& affinity, int n, int k,
                                   uint64_t seed, int restarts) {
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
  Rng rng(hash_counters(seed, 0x5BEC7A1ULL));
  std::vector<int> best;
  double best_inertia = std::numeric_limits<double>::infinity();
  for (int t = 0; t < std::max(1, restarts); ++t) {
    auto [label, inertia] = kmeans(emb, k, rng);
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
  std::stable_sort(pool.begin(), pool.end(), [&](int a, int b) { return strength[a] > strength[b]; });
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
