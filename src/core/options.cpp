#include "core/options.hpp"

#include <cstdio>

#include "core/error.hpp"

namespace moeb {

const char* to_string(OptionType t) {
  switch (t) {
    case OptionType::kInt: return "int";
    case OptionType::kFloat: return "float";
    case OptionType::kBool: return "bool";
    case OptionType::kString: return "string";
  }
  return "?";
}

std::string format_option(const OptionValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", *d);
    return buf;
  }
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return "\"" + std::get<std::string>(v) + "\"";
}

namespace {
const OptionValue& lookup(const std::map<std::string, OptionValue>& m, const std::string& name) {
  auto it = m.find(name);
  if (it == m.end()) throw Error("option '" + name + "' not declared in the strategy's spec");
  return it->second;
}
}  // namespace

int64_t Options::get_int(const std::string& name) const {
  return std::get<int64_t>(lookup(values_, name));
}
double Options::get_float(const std::string& name) const {
  return std::get<double>(lookup(values_, name));
}
bool Options::get_bool(const std::string& name) const {
  return std::get<bool>(lookup(values_, name));
}
const std::string& Options::get_string(const std::string& name) const {
  return std::get<std::string>(lookup(values_, name));
}

std::string Options::describe() const {
  std::string s;
  for (const auto& [k, v] : values_) s += (s.empty() ? "" : ", ") + k + "=" + format_option(v);
  return s;
}

Options resolve_options(const std::vector<OptionSpec>& spec,
                        const std::map<std::string, OptionValue>& given, const std::string& where) {
  Options out;
  for (const auto& [name, value] : given) {
    const OptionSpec* s = nullptr;
    for (const auto& o : spec)
      if (o.name == name) s = &o;
    if (!s) {
      std::string known;
      for (const auto& o : spec) known += (known.empty() ? "" : ", ") + o.name;
      throw ConfigError(where + ": unknown option '" + name + "' (expected one of: " +
                        (known.empty() ? "none" : known) + ")");
    }
    OptionValue v = value;
    if (s->type == OptionType::kFloat && std::holds_alternative<int64_t>(v))
      v = static_cast<double>(std::get<int64_t>(v));
    const bool ok = (s->type == OptionType::kInt && std::holds_alternative<int64_t>(v)) ||
                    (s->type == OptionType::kFloat && std::holds_alternative<double>(v)) ||
                    (s->type == OptionType::kBool && std::holds_alternative<bool>(v)) ||
                    (s->type == OptionType::kString && std::holds_alternative<std::string>(v));
    if (!ok)
      throw ConfigError(where + ": option '" + name + "': expected " + to_string(s->type) +
                        ", got " + format_option(value));
    if (s->type == OptionType::kInt || s->type == OptionType::kFloat) {
      double x = s->type == OptionType::kInt ? static_cast<double>(std::get<int64_t>(v))
                                             : std::get<double>(v);
      if (x < s->min || x > s->max)
        throw ConfigError(where + ": option '" + name + "': expected a value in [" +
                          format_option(s->min) + ", " + format_option(s->max) + "], got " +
                          format_option(v));
    }
    if (s->type == OptionType::kString && !s->choices.empty()) {
      bool found = false;
      std::string list;
      for (const auto& c : s->choices) {
        found |= c == std::get<std::string>(v);
        list += (list.empty() ? "" : ", ") + c;
      }
      if (!found)
        throw ConfigError(where + ": option '" + name + "': expected one of " + list + ", got " +
                          format_option(v));
    }
    out.set(name, v);
  }
  for (const auto& o : spec)
    if (!out.has(o.name)) out.set(o.name, o.default_value);
  return out;
}

}  // namespace moeb
