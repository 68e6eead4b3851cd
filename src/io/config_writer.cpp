// RunConfig -> suite TOML (the resolved config stored in every results file).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "io/config_format.hpp"
#include "io/config_keys.hpp"
#include "io/config_loader.hpp"
#include "placement/strategy.hpp"

namespace moeb {

std::string quote_toml(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string format_toml_float(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  // TOML wants a digit on both sides of '.', which to_chars always gives; "1e+20" is valid.
  return s;
}

std::string format_toml_option(const OptionValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) return format_toml_float(*d);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return quote_toml(std::get<std::string>(v));
}

std::string format_config_field(const ConfigField& f) {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, int> || std::is_same_v<T, int64_t> ||
                      std::is_same_v<T, uint64_t>) {
          return std::to_string(*p);
        } else if constexpr (std::is_same_v<T, double>) {
          return format_toml_float(*p);
        } else if constexpr (std::is_same_v<T, bool>) {
          return *p ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return quote_toml(*p);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string s = "[";
          for (size_t i = 0; i < p->size(); ++i) s += (i ? ", " : "") + quote_toml((*p)[i]);
          return s + "]";
        } else {
          std::string s = "[";
          for (size_t i = 0; i < p->size(); ++i) s += (i ? ", " : "") + format_toml_float((*p)[i]);
          return s + "]";
        }
      },
      f);
}

const char* config_field_type(const ConfigField& f) {
  static const char* names[] = {"int",  "int",    "int",      "float",
                                "bool", "string", "[string]", "[float]"};
  return names[f.index()];
}

std::string config_to_toml(const RunConfig& cfg_in) {
  RunConfig cfg = cfg_in;  // ConfigKey hands out pointers into a mutable config
  const auto resolved = resolve_strategy_options(cfg);
  std::ostringstream out;
  out << "# moebench resolved configuration: every key with the value used.\n";
  std::string current;
  for (const auto& k : config_keys()) {
    if (k.table != current) {
      out << (current.empty() ? "\n[" : "\n[") << k.table << "]\n";
      current = k.table;
      if (k.table == "model" && !cfg.model_preset.empty())
        out << "preset = " << quote_toml(cfg.model_preset) << "\n";
      if (k.table == "placement") {
        out << "strategies = [";
        for (size_t i = 0; i < resolved.size(); ++i)
          out << (i ? ", " : "") << quote_toml(resolved[i].name);
        out << "]\n";
      }
    }
    out << k.key << " = " << format_config_field(k.field(cfg)) << "\n";
  }
  for (const auto& r : resolved) {
    if (r.name != r.strategy->name()) {  // a variant: its strategy and run overrides first
      out << "\n[variant." << r.name << "]\nstrategy = " << quote_toml(r.strategy->name()) << "\n";
      if (!r.dispatch.empty()) out << "dispatch = " << quote_toml(r.dispatch) << "\n";
      if (r.dedup >= 0) out << "dedup = " << (r.dedup ? "true" : "false") << "\n";
    } else {
      out << "\n[strategy." << r.name << "]\n";
    }
    for (const auto& [name, value] : r.options.values())
      out << name << " = " << format_toml_option(value) << "\n";
  }
  if (!cfg.sweep.empty()) out << "\n[sweep]\n";
  for (const auto& a : cfg.sweep) {
    const bool bare = a.key == "dedup" || a.key == "batch_tokens";  // booleans, integers
    out << a.key << " = [";
    for (size_t i = 0; i < a.values.size(); ++i)
      out << (i ? ", " : "") << (bare ? a.values[i] : quote_toml(a.values[i]));
    out << "]\n";
  }
  return out.str();
}

}  // namespace moeb
