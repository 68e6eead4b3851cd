// Typed options with defaults: strategies (and other plugins) describe their options once;
// the description drives `moebench list`, config checking, and the values stored in results.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace moeb {

enum class OptionType { kInt, kFloat, kBool, kString };
const char* to_string(OptionType t);

using OptionValue = std::variant<int64_t, double, bool, std::string>;
std::string format_option(const OptionValue& v);

struct OptionSpec {
  std::string name;
  OptionType type = OptionType::kString;
  OptionValue default_value;
  std::string description;
  std::vector<std::string> choices;  // kString only; empty = free text
  double min = -1e300, max = 1e300;  // kInt / kFloat bounds, inclusive
};

// Resolved values: every option of the spec present, typed as declared.
class Options {
 public:
  int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  const std::map<std::string, OptionValue>& values() const { return values_; }
  void set(const std::string& name, OptionValue v) { values_[name] = std::move(v); }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  // "a=1, b=true" in name order.
  std::string describe() const;

 private:
  std::map<std::string, OptionValue> values_;
};

// Checks `given` against `spec` and fills defaults. Unknown names, wrong types, values outside
// bounds or choices throw ConfigError naming `where` (e.g. "suite.toml: [strategy.eplb]").
// An int is accepted where a float is expected.
Options resolve_options(const std::vector<OptionSpec>& spec,
                        const std::map<std::string, OptionValue>& given, const std::string& where);

}  // namespace moeb
