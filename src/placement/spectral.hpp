// Spectral clustering (Ng-Jordan-Weiss) of an affinity graph: the k leading eigenvectors of
// D^-1/2 A D^-1/2 (Eigen's SelfAdjointEigenSolver), rows normalized, then seeded k-means++
// with restarts. And GRACE-MoE's group-size repair (their Algorithm 2). Used by grace.
#pragma once

#include <cstdint>
#include <vector>

namespace moeb::placement {

// Labels 0..k-1 for n items (n = sqrt(affinity.size())); some clusters may be empty.
// Deterministic for a given seed.
std::vector<int> spectral_clusters(const std::vector<double>& affinity, int n, int k,
                                   uint64_t seed, int restarts = 8);

// Repairs group sizes to lo[g] <= |g| <= hi[g] (requires sum lo <= n <= sum hi):
// an oversized group keeps its members with the highest intra-group affinity and pools the
// rest; each pooled item joins the group with room that maximizes its affinity to the group;
// then undersized groups take the weakest-affinity members of groups above their minimum.
void repair_group_sizes(std::vector<int>& label, const std::vector<double>& affinity,
                        const std::vector<int>& lo, const std::vector<int>& hi);

}  // namespace moeb::placement
