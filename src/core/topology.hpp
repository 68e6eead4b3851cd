// Ranks grouped into nodes. A node is a shared-memory domain of the MPI library, or a virtual
// node declared by the suite so that inter-node accounting works on one machine.
#pragma once

#include <string>
#include <vector>

namespace moeb {

class Topology {
 public:
  Topology() = default;
  // nodes x ranks_per_node, rank r on node r / ranks_per_node.
  static Topology uniform(int num_nodes, int ranks_per_node);
  // Arbitrary rank -> node map (node ids 0..N-1, each used).
  static Topology from_node_map(std::vector<int> node_of_rank);

  int num_ranks() const { return static_cast<int>(node_of_rank_.size()); }
  int num_nodes() const { return num_nodes_; }
  int node_of(int rank) const { return node_of_rank_[rank]; }
  bool same_node(int a, int b) const { return node_of_rank_[a] == node_of_rank_[b]; }
  // Ranks of one node, ascending.
  const std::vector<int>& ranks_of_node(int node) const { return ranks_of_node_[node]; }
  // Local index of a rank within its node.
  int local_rank(int rank) const { return local_rank_[rank]; }
  // True when every node holds the same number of ranks.
  bool is_uniform() const;
  // Ranks per node when uniform, else the maximum.
  int ranks_per_node() const;
  const std::vector<int>& node_of_rank() const { return node_of_rank_; }
  std::string describe() const;  // "2x2" or "3 nodes: [2,1,1]"

 private:
  void build();
  int num_nodes_ = 0;
  std::vector<int> node_of_rank_;
  std::vector<std::vector<int>> ranks_of_node_;
  std::vector<int> local_rank_;
};

// Parses "NxG" (e.g. "32x8"); throws ConfigError naming `where` on bad input.
Topology parse_topology(const std::string& text, const std::string& where);

}  // namespace moeb
