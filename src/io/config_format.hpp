// TOML value formatting shared by the suite loader (messages) and writer (config_to_toml).
#pragma once

#include <string>

#include "core/options.hpp"
#include "io/config_keys.hpp"

namespace moeb {

// A TOML basic string: quoted, with \\, \" and control characters escaped.
std::string quote_toml(const std::string& s);
// The shortest text that reads back as the same double, always a TOML float ("1.0", "1e-05",
// "inf", "nan").
std::string format_toml_float(double x);
// An option value as a TOML value.
std::string format_toml_option(const OptionValue& v);
// A config field's value as a TOML value, and its type name ("int", "float", "[string]", ...).
std::string format_config_field(const ConfigField& f);
const char* config_field_type(const ConfigField& f);

}  // namespace moeb
