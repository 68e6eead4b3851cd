// The root attributes of a results file (results_schema/README.md, version 1): names, types,
// and which are always present. The writer types numeric attributes from this table, the
// validator checks the required ones, and the run fills RunResult through set_root_attr.
#pragma once

#include <string>
#include <vector>

#include "core/results.hpp"

namespace moeb {

enum class AttrType { kString, kInt, kFloat };

struct RootAttributeSpec {
  const char* name;
  AttrType type;
  bool required;  // always present (validate rule 2)
  const char* meaning;
};

// Every root attribute of schema version 1, in schema order.
const std::vector<RootAttributeSpec>& root_attributes();
// The spec of `name`, or nullptr for an attribute the schema does not name (still stored).
const RootAttributeSpec* find_root_attribute(const std::string& name);

// Stores `value` under `name` in r.attrs_str or r.attrs_num according to the table (numeric
// attributes are parsed; a value that does not parse throws Error naming the attribute).
// Names outside the table are stored as strings.
void set_root_attr(RunResult& r, const std::string& name, const std::string& value);
void set_root_attr(RunResult& r, const std::string& name, double value);

}  // namespace moeb
