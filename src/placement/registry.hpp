// The explicit table of strategies (registry.cpp). Adding a strategy = one file + one line there.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "placement/strategy.hpp"

namespace moeb {

// Every registered strategy, in table order.
const std::vector<std::unique_ptr<PlacementStrategy>>& strategies();
// Throws ConfigError listing the known names when `name` is not registered.
const PlacementStrategy& find_strategy(const std::string& name, const std::string& where);
std::vector<std::string> strategy_names();

}  // namespace moeb
