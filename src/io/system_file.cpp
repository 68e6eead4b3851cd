#include "io/system_file.hpp"

#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "core/error.hpp"

namespace moeb {

namespace {

namespace fs = std::filesystem;

std::string at_line(const std::string& path, const toml::node& n) {
  const auto& src = n.source();
  if (src.begin.line > 0) return path + ":" + std::to_string(src.begin.line);
  return path;
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    default:
      return "a date/time";
  }
}

// Reads the keys of one table, rejecting any key not in `allowed`.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string path, std::string table_name,
              std::vector<std::string> allowed)
      : t_(t), path_(std::move(path)), name_(std::move(table_name)) {
    for (const auto& [k, v] : t_) {
      const std::string key(k.str());
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        throw ConfigError(at_line(path_, v) + ": unknown key '" + qualified(key) +
                          "' (expected one of: " + list + ")");
      }
    }
  }
  const toml::node* find(const std::string& key) const { return t_.get(key); }

  double number(const std::string& key, bool required, double fallback) const {
    const toml::node* n = find(key);
    if (!n) return missing(key, required, fallback);
    if (auto v = n->value_exact<double>()) return *v;
    if (auto v = n->value_exact<int64_t>()) return static_cast<double>(*v);
    throw ConfigError(at_line(path_, *n) + ": key '" + qualified(key) +
                      "': expected a number, got " + type_name(*n));
  }
  int64_t integer(const std::string& key, bool required, int64_t fallback) const {
    const toml::node* n = find(key);
    if (!n) return static_cast<int64_t>(missing(key, required, static_cast<double>(fallback)));
    if (auto v = n->value_exact<int64_t>()) return *v;
    throw ConfigError(at_line(path_, *n) + ": key '" + qualified(key) +
                      "': expected an integer, got " + type_name(*n));
  }
  bool boolean(const std::string& key, bool fallback) const {
    const toml::node* n = find(key);
    if (!n) return fallback;
    if (auto v = n->value_exact<bool>()) return *v;
    throw ConfigError(at_line(path_, *n) + ": key '" + qualified(key) +
                      "': expected true or false, got " + type_name(*n));
  }
  std::string string(const std::string& key, bool required, const std::string& fallback) const {
    const toml::node* n = find(key);
    if (!n) {
      if (required) throw ConfigError(path_ + ": missing key '" + qualified(key) + "'");
      return fallback;
    }
    if (auto v = n->value_exact<std::string>()) return *v;
    throw ConfigError(at_line(path_, *n) + ": key '" + qualified(key) +
                      "': expected a string, got " + type_name(*n));
  }
  // Checks a number read from `key` against a condition, naming the line.
  void require(const std::string& key, bool ok, const std::string& expected) const {
    if (ok) return;
    const toml::node* n = find(key);
    throw ConfigError((n ? at_line(path_, *n) : path_) + ": key '" + qualified(key) +
                      "': expected " + expected);
  }

 private:
  std::string qualified(const std::string& key) const {
    return name_.empty() ? key : name_ + "." + key;
  }
  double missing(const std::string& key, bool required, double fallback) const {
    if (required) throw ConfigError(path_ + ": missing key '" + qualified(key) + "'");
    return fallback;
  }
  const toml::table& t_;
  std::string path_, name_;
};

const toml::table& sub_table(const toml::table& root, const std::string& path,
                             const std::string& name) {
  const toml::node* n = root.get(name);
  if (!n) throw ConfigError(path + ": missing table [" + name + "]");
  if (!n->is_table())
    throw ConfigError(at_line(path, *n) + ": key '" + name + "': expected a table, got " +
                      type_name(*n));
  return *n->as_table();
}

LinkModel read_link(const toml::table& root, const std::string& path, const std::string& name) {
  TableReader r(sub_table(root, path, name), path, name,
                {"alpha_s", "bandwidth_Bps", "node_bandwidth_Bps"});
  LinkModel l;
  l.alpha_s = r.number("alpha_s", true, 0);
  l.bandwidth_Bps = r.number("bandwidth_Bps", true, 0);
  l.node_bandwidth_Bps = r.number("node_bandwidth_Bps", false, 0);
  r.require("node_bandwidth_Bps", l.node_bandwidth_Bps >= 0,
            "a number >= 0 (0 = one link per rank)");
  r.require("alpha_s", l.alpha_s >= 0, "a number >= 0 (seconds per message)");
  r.require("bandwidth_Bps", l.bandwidth_Bps > 0, "a number > 0 (bytes per second)");
  return l;
}

std::string num(double v) {
  std::ostringstream os;
  os << std::setprecision(10) << v;
  std::string s = os.str();
  // TOML floats need a '.' or an exponent.
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

SystemModel parse_system_toml(const std::string& text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw ConfigError(path + ":" + std::to_string(e.source().begin.line) + ": " +
                      std::string(e.description()));
  }
  TableReader top(root, path, "", {"name", "description", "intra", "inter", "device", "model"});
  SystemModel s;
  s.source = path;
  s.name = top.string("name", true, "");
  top.require("name", !s.name.empty(), "a non-empty string");
  s.description = top.string("description", false, "");
  s.intra = read_link(root, path, "intra");
  s.inter = read_link(root, path, "inter");

  TableReader dev(sub_table(root, path, "device"), path, "device",
                  {"name", "flops", "flops_dtype", "mem_bandwidth_Bps", "act_dtype",
                   "act_dtype_bytes", "weight_dtype_bytes", "gate_s_per_token", "memory_bytes"});
  s.device.name = dev.string("name", false, "");
  s.device.flops = dev.number("flops", true, 0);
  dev.require("flops", s.device.flops > 0, "a number > 0 (FLOP/s)");
  s.device.flops_dtype = dev.string("flops_dtype", false, "bf16");
  s.device.mem_bandwidth_Bps = dev.number("mem_bandwidth_Bps", true, 0);
  dev.require("mem_bandwidth_Bps", s.device.mem_bandwidth_Bps > 0,
              "a number > 0 (bytes per second)");
  s.device.act_dtype = dev.string("act_dtype", false, "bf16");
  const int64_t act = dev.integer("act_dtype_bytes", true, 2);
  dev.require("act_dtype_bytes", act >= 1 && act <= 8, "an integer in 1..8");
  s.device.act_dtype_bytes = static_cast<int>(act);
  const int64_t wt = dev.integer("weight_dtype_bytes", false, 2);
  dev.require("weight_dtype_bytes", wt >= 1 && wt <= 8, "an integer in 1..8");
  s.device.weight_dtype_bytes = static_cast<int>(wt);
  s.device.gate_s_per_token = dev.number("gate_s_per_token", false, 0);
  dev.require("gate_s_per_token", s.device.gate_s_per_token >= 0, "a number >= 0 (seconds)");
  s.device.memory_bytes = dev.number("memory_bytes", false, 0);
  dev.require("memory_bytes", s.device.memory_bytes >= 0, "a number >= 0 (bytes; 0 = not given)");

  if (const toml::node* m = root.get("model")) {
    if (!m->is_table())
      throw ConfigError(at_line(path, *m) + ": key 'model': expected a table, got " +
                        type_name(*m));
    TableReader mr(*m->as_table(), path, "model", {"overlap_intra_inter", "model_permute"});
    s.overlap_intra_inter = mr.boolean("overlap_intra_inter", true);
    s.model_permute = mr.boolean("model_permute", true);
  }
  validate_system(s, path);
  return s;
}

SystemModel load_system_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read system file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_system_toml(ss.str(), path);
}

std::vector<std::string> system_search_dirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("MOEB_SYSTEMS_DIR"); env && *env) dirs.emplace_back(env);
  dirs.emplace_back("suites/systems");
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path dir = exe.parent_path();
    for (int up = 0; up < 6 && !dir.empty(); ++up) {
      const fs::path cand = dir / "suites" / "systems";
      if (fs::is_directory(cand, ec)) {
        dirs.push_back(cand.string());
        break;
      }
      if (dir == dir.parent_path()) break;
      dir = dir.parent_path();
    }
  }
  return dirs;
}

std::vector<std::string> system_preset_names() {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& d : system_search_dirs()) {
    if (!fs::is_directory(d, ec)) continue;
    for (const auto& e : fs::directory_iterator(d, ec))
      if (e.path().extension() == ".toml") names.insert(e.path().stem().string());
  }
  return {names.begin(), names.end()};
}

std::string resolve_system_path(const std::string& name_or_path) {
  std::error_code ec;
  const bool looks_like_path =
      name_or_path.find('/') != std::string::npos ||
      (name_or_path.size() > 5 && name_or_path.compare(name_or_path.size() - 5, 5, ".toml") == 0);
  if (looks_like_path) {
    if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
    throw ConfigError(name_or_path + ": system file not found");
  }
  for (const auto& d : system_search_dirs()) {
    const fs::path p = fs::path(d) / (name_or_path + ".toml");
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  std::string known;
  for (const auto& n : system_preset_names()) known += (known.empty() ? "" : ", ") + n;
  throw ConfigError(
      "unknown system '" + name_or_path + "' (expected a system file path or one of: " +
      (known.empty() ? std::string("<no presets found; set MOEB_SYSTEMS_DIR>") : known) + ")");
}

SystemModel find_system(const std::string& name_or_path) {
  return load_system_file(resolve_system_path(name_or_path));
}

std::string format_system_toml(const SystemModel& s, const std::vector<std::string>& header,
                               const std::map<std::string, std::string>& notes) {
  std::ostringstream o;
  auto note = [&](const std::string& key) {
    auto it = notes.find(key);
    return it == notes.end() ? std::string() : "  # " + it->second;
  };
  for (const auto& h : header) o << "# " << h << "\n";
  o << "name = " << quoted(s.name) << "\n";
  o << "description = " << quoted(s.description) << "\n";
  for (const auto& [tname, link] :
       {std::pair<std::string, LinkModel>{"intra", s.intra}, {"inter", s.inter}}) {
    o << "\n[" << tname << "]\n";
    o << "alpha_s = " << num(link.alpha_s) << note(tname + ".alpha_s") << "\n";
    o << "bandwidth_Bps = " << num(link.bandwidth_Bps) << note(tname + ".bandwidth_Bps") << "\n";
    if (link.node_bandwidth_Bps > 0)
      o << "node_bandwidth_Bps = " << num(link.node_bandwidth_Bps)
        << note(tname + ".node_bandwidth_Bps") << "\n";
  }
  o << "\n[device]\n";
  o << "name = " << quoted(s.device.name) << "\n";
  o << "flops = " << num(s.device.flops) << note("device.flops") << "\n";
  o << "flops_dtype = " << quoted(s.device.flops_dtype) << "\n";
  o << "mem_bandwidth_Bps = " << num(s.device.mem_bandwidth_Bps) << note("device.mem_bandwidth_Bps")
    << "\n";
  o << "act_dtype = " << quoted(s.device.act_dtype) << "\n";
  o << "act_dtype_bytes = " << s.device.act_dtype_bytes << "\n";
  o << "weight_dtype_bytes = " << s.device.weight_dtype_bytes << "\n";
  o << "gate_s_per_token = " << num(s.device.gate_s_per_token) << note("device.gate_s_per_token")
    << "\n";
  if (s.device.memory_bytes > 0)
    o << "memory_bytes = " << num(s.device.memory_bytes) << note("device.memory_bytes") << "\n";
  o << "\n[model]\n";
  o << "overlap_intra_inter = " << (s.overlap_intra_inter ? "true" : "false")
    << note("model.overlap_intra_inter") << "\n";
  o << "model_permute = " << (s.model_permute ? "true" : "false") << "\n";
  return o.str();
}

}  // namespace moeb
