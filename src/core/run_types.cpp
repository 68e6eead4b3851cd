#include "core/run_types.hpp"

#include "core/error.hpp"

namespace moeb {

namespace {

template <class E>
E parse_or_throw(const std::vector<std::string>& names, const std::string& name,
                 const std::string& where) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<E>(i);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError(where + ": expected one of " + known + ", got '" + name + "'");
}

template <class E>
std::optional<E> parse_opt(const std::vector<std::string>& names, const std::string& name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<E>(i);
  return std::nullopt;
}

}  // namespace

const std::vector<std::string>& dispatch_mode_names() {
  static const std::vector<std::string> n = {"flat", "hierarchical"};
  return n;
}
const std::vector<std::string>& backend_names() {
  static const std::vector<std::string> n = {"cpu", "cuda"};
  return n;
}
const std::vector<std::string>& strategy_status_names() {
  static const std::vector<std::string> n = {"complete", "skipped", "interrupted", "failed"};
  return n;
}
const std::vector<std::string>& run_status_names() {
  static const std::vector<std::string> n = {"running", "complete", "interrupted", "failed"};
  return n;
}

std::string to_string(DispatchMode m) { return dispatch_mode_names()[static_cast<size_t>(m)]; }
std::string to_string(BackendKind b) { return backend_names()[static_cast<size_t>(b)]; }
std::string to_string(StrategyStatus s) { return strategy_status_names()[static_cast<size_t>(s)]; }
std::string to_string(RunStatus s) { return run_status_names()[static_cast<size_t>(s)]; }

DispatchMode parse_dispatch_mode(const std::string& name, const std::string& where) {
  return parse_or_throw<DispatchMode>(dispatch_mode_names(), name, where);
}
BackendKind parse_backend(const std::string& name, const std::string& where) {
  return parse_or_throw<BackendKind>(backend_names(), name, where);
}
std::optional<StrategyStatus> parse_strategy_status(const std::string& name, bool synonyms) {
  if (synonyms && (name == "done" || name == "completed" || name == "ok" || name.empty()))
    return StrategyStatus::kComplete;
  return parse_opt<StrategyStatus>(strategy_status_names(), name);
}
std::optional<RunStatus> parse_run_status(const std::string& name) {
  return parse_opt<RunStatus>(run_status_names(), name);
}

}  // namespace moeb
