#include "core/topology.hpp"

#include <algorithm>
#include <charconv>

#include "core/error.hpp"

namespace moeb {

Topology Topology::uniform(int num_nodes, int ranks_per_node) {
  if (num_nodes < 1 || ranks_per_node < 1)
    throw ConfigError("topology: expected nodes >= 1 and ranks_per_node >= 1");
  Topology t;
  t.node_of_rank_.resize(static_cast<size_t>(num_nodes) * ranks_per_node);
  for (size_t r = 0; r < t.node_of_rank_.size(); ++r)
    t.node_of_rank_[r] = static_cast<int>(r) / ranks_per_node;
  t.build();
  return t;
}

Topology Topology::from_node_map(std::vector<int> node_of_rank) {
  Topology t;
  t.node_of_rank_ = std::move(node_of_rank);
  t.build();
  return t;
}

void Topology::build() {
  num_nodes_ = 0;
  for (int n : node_of_rank_) {
    if (n < 0) throw ConfigError("topology: negative node id");
    num_nodes_ = std::max(num_nodes_, n + 1);
  }
  ranks_of_node_.assign(num_nodes_, {});
  local_rank_.assign(node_of_rank_.size(), 0);
  for (int r = 0; r < num_ranks(); ++r) {
    local_rank_[r] = static_cast<int>(ranks_of_node_[node_of_rank_[r]].size());
    ranks_of_node_[node_of_rank_[r]].push_back(r);
  }
  for (int n = 0; n < num_nodes_; ++n)
    if (ranks_of_node_[n].empty())
      throw ConfigError("topology: node " + std::to_string(n) + " has no ranks");
}

bool Topology::is_uniform() const {
  for (const auto& v : ranks_of_node_)
    if (v.size() != ranks_of_node_[0].size()) return false;
  return true;
}

int Topology::ranks_per_node() const {
  size_t m = 0;
  for (const auto& v : ranks_of_node_) m = std::max(m, v.size());
  return static_cast<int>(m);
}

std::string Topology::describe() const {
  if (is_uniform()) return std::to_string(num_nodes_) + "x" + std::to_string(ranks_per_node());
  std::string s = std::to_string(num_nodes_);
  s.append(" nodes: [");
  for (int n = 0; n < num_nodes_; ++n) {
    if (n) s.push_back(',');
    s.append(std::to_string(ranks_of_node_[n].size()));
  }
  s.push_back(']');
  return s;
}

Topology parse_topology(const std::string& text, const std::string& where) {
  auto x = text.find('x');
  int n = 0, g = 0;
  bool ok = x != std::string::npos;
  if (ok) {
    auto r1 = std::from_chars(text.data(), text.data() + x, n);
    auto r2 = std::from_chars(text.data() + x + 1, text.data() + text.size(), g);
    ok = r1.ec == std::errc() && r1.ptr == text.data() + x && r2.ec == std::errc() &&
         r2.ptr == text.data() + text.size() && n >= 1 && g >= 1;
  }
  if (!ok)
    throw ConfigError(where + ": expected a topology NODESxRANKS_PER_NODE such as 32x8, got '" +
                      text + "'");
  return Topology::uniform(n, g);
}

}  // namespace moeb
