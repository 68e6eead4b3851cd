#include "report/oracle_column.hpp"

#include <limits>
#include <map>
#include <optional>

#include "core/oracle_figure.hpp"

namespace moeb::report {

namespace {

// One cell's samples (a file without a sweep has one cell, "").
std::string add_cell_of_oracle(std::vector<Sample*>& samples, const std::string& reference) {
  const StrategyResult* base = nullptr;
  const StrategyResult* oracle = nullptr;
  std::string objective;
  for (const Sample* s : samples) {
    if (s->result->name == reference) base = s->result;
    if (const std::string o = oracle_objective_of(*s->result); !o.empty() && !oracle) {
      oracle = s->result;
      objective = o;
    }
  }
  if (!oracle) return "";
  const std::optional<double> b = base ? measured_objective(*base, objective) : std::nullopt;
  const std::optional<double> o = measured_objective(*oracle, objective);
  for (Sample* s : samples) {
    if (!s->figures.has_data) continue;
    const std::optional<double> v = measured_objective(*s->result, objective);
    std::optional<double> pct;
    if (b && o && v) pct = of_oracle_pct(*b, *v, *o);
    s->figures.whole["of_oracle"] = pct.value_or(std::numeric_limits<double>::quiet_NaN());
  }
  return objective;
}

}  // namespace

std::string add_of_oracle(std::vector<Sample>& samples, const std::string& reference) {
  std::map<std::string, std::vector<Sample*>> cells;
  for (auto& s : samples) cells[s.result->cell].push_back(&s);
  std::string objective;
  for (auto& [cell, list] : cells)
    if (const std::string o = add_cell_of_oracle(list, reference); objective.empty())
      objective = o;
  return objective;
}

}  // namespace moeb::report
