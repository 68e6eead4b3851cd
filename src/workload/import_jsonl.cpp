// jsonl-topk: one JSON object per line, in one of two layouts, told apart by the experts field:
//   per layer: {"problem_id": 0, "token_idx": 3, "layer": 5, "experts": [6, 5], ...}
//   per token: {"problem_id": 0, "token_idx": 3, "experts": [[6, 5], [1, 2], ...], ...}
//              (one array per layer; an optional "layer" array names the layer of each entry)
#include <cmath>
#include <nlohmann/json.hpp>

#include "workload/import_common.hpp"
#include "workload/trace_limits.hpp"

namespace moeb::import_detail {

namespace {

using nlohmann::json;

std::string field_name(const std::string& f) { return "field '" + f + "'"; }

int64_t json_int(const json& v, IdKind kind, const std::string& where, const std::string& f) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX))
      bad(where, field_name(f) + ": " + std::to_string(u) + " is too large");
    return check_id(static_cast<int64_t>(u), kind, where, field_name(f));
  }
  if (v.is_number_integer()) return check_id(v.get<int64_t>(), kind, where, field_name(f));
  bad(where, field_name(f) + ": expected a non-negative integer, got " + shown(v.dump()));
}

std::string request_key(const json& v, const std::string& where, const std::string& f) {
  if (v.is_number_integer()) return v.dump();
  if (v.is_string()) return v.get<std::string>();
  bad(where, field_name(f) + ": expected an integer or a string (the request id)");
}

bool is_per_token(const json& experts) {
  return experts.is_array() && !experts.empty() && experts.front().is_array();
}

std::string present_fields(const json& obj) {
  std::string s;
  int n = 0;
  for (auto it = obj.begin(); it != obj.end(); ++it, ++n) {
    if (n == 20) return s + ", ...";
    s += (s.empty() ? "" : ", ") + shown(it.key()).substr(1, std::string::npos);
    s.pop_back();
  }
  return s;
}

// Every required field absent from `obj`, reported together with the options that map them.
void check_fields(const json& obj, const ImportFields& f, const std::string& where) {
  std::vector<Missing> missing;
  auto need = [&](const std::string& name, const char* key, const char* meaning) {
    if (!name.empty() && !obj.contains(name)) missing.push_back({name, key, meaning});
  };
  need(f.request, "request", "request id");
  need(f.token, "token", "position of the token in its request");
  auto e = obj.find(f.experts);
  if (e == obj.end() || !is_per_token(*e))
    need(f.layer, "layer", "MoE layer id; or give experts as one array per layer");
  need(f.experts, "experts", "top-k expert ids");
  need(f.weights, "weights", "gate weights; or weights= for equal weights");
  need(f.phase, "phase", "prefill | decode; or phase= for all decode");
  if (!missing.empty()) bad(where, missing_message("field", missing, present_fields(obj)));
}

std::vector<int32_t> read_ids(const json& arr, const std::string& where, const std::string& f) {
  if (!arr.is_array() || arr.empty())
    bad(where, field_name(f) + ": expected a non-empty array of expert ids");
  if (static_cast<int64_t>(arr.size()) > TraceLimits::kMaxTopK)
    bad(where, field_name(f) + ": " + std::to_string(arr.size()) +
                   " experts in one top-k is too many (at most 1024; results_schema/TRACE.md)");
  std::vector<int32_t> ids;
  ids.reserve(arr.size());
  for (const auto& v : arr)
    ids.push_back(static_cast<int32_t>(json_int(v, IdKind::kExpert, where, f)));
  return ids;
}

std::vector<float> read_weights(const json& arr, size_t n, const std::string& where,
                                const std::string& f) {
  if (!arr.is_array() || arr.size() != n)
    bad(where, field_name(f) + ": expected an array of " + std::to_string(n) +
                   " gate weights (one per expert)");
  std::vector<float> w;
  w.reserve(n);
  for (const auto& v : arr) {
    const double x = v.is_number() ? v.get<double>() : -1.0;
    if (!std::isfinite(x) || x < 0 || !std::isfinite(static_cast<float>(x)))
      bad(where, field_name(f) + ": expected finite gate weights >= 0, got " + shown(v.dump()));
    w.push_back(static_cast<float>(x));
  }
  return w;
}

// The fields shared by every layer of one line: request, token, family, phase.
Record line_base(const json& obj, const ImportFields& f, Tables& tables, const std::string& where) {
  Record r;
  std::string family = "default";
  if (!f.family.empty()) {
    auto it = obj.find(f.family);
    if (it != obj.end()) {
      if (!it->is_string()) bad(where, field_name(f.family) + ": expected a string");
      family = it->get<std::string>();
    }
  }
  r.family = tables.family(family);
  r.request = tables.request(family + '\x1f' + request_key(obj.at(f.request), where, f.request));
  r.token = json_int(obj.at(f.token), IdKind::kPosition, where, f.token);
  if (!f.phase.empty()) {
    const json& p = obj.at(f.phase);
    r.phase = parse_phase(p.is_string() ? p.get<std::string>() : p.dump(), where);
  }
  return r;
}

void add_record(Record r, const json& ids, const json* weights, const ImportFields& f,
                const Tables& tables, std::vector<Record>& out) {
  const std::string where = tables.where(r);
  r.experts = read_ids(ids, where, f.experts);
  if (weights) r.weights = read_weights(*weights, r.experts.size(), where, f.weights);
  check_distinct(r, tables);
  sort_by_weight(r);
  out.push_back(std::move(r));
}

// One line holding every layer of a token: experts [[...], ...], weights likewise.
void add_per_token(const Record& base, const json& obj, const ImportFields& f, const Tables& tables,
                   std::vector<Record>& out) {
  const std::string where = tables.where(base);
  const json& e = obj.at(f.experts);
  if (static_cast<int64_t>(e.size()) > TraceLimits::kMaxLayers)
    bad(where, field_name(f.experts) + ": " + std::to_string(e.size()) +
                   " layers is too many (at most 4096; results_schema/TRACE.md)");
  const json* w = f.weights.empty() ? nullptr : &obj.at(f.weights);
  if (w && (!w->is_array() || w->size() != e.size() || !w->front().is_array()))
    bad(where, field_name(f.weights) + ": expected one array of gate weights per layer (" +
                   std::to_string(e.size()) + " arrays, as in '" + f.experts + "')");
  const json* layers = nullptr;
  if (!f.layer.empty() && obj.contains(f.layer)) {
    layers = &obj.at(f.layer);
    if (!layers->is_array() || layers->size() != e.size())
      bad(where, field_name(f.layer) + ": with one expert array per layer, expected an array of " +
                     std::to_string(e.size()) + " layer ids (or no '" + f.layer + "' field)");
  }
  for (size_t l = 0; l < e.size(); ++l) {
    Record r = base;
    r.layer = layers ? static_cast<int32_t>(json_int((*layers)[l], IdKind::kLayer, where, f.layer))
                     : static_cast<int32_t>(l);
    add_record(std::move(r), e[l], w ? &(*w)[l] : nullptr, f, tables, out);
  }
}

}  // namespace

void parse_jsonl(const ImportText& in, int32_t input, const ImportFields& f, Tables& tables,
                 std::vector<Record>& out) {
  for_each_line(in.text, [&](int64_t line_no, std::string_view line) {
    const std::string where = tables.where(input, line_no);
    json obj = json::parse(line, nullptr, false);
    if (obj.is_discarded() || !obj.is_object()) bad(where, "expected one JSON object per line");
    check_fields(obj, f, where);
    Record base = line_base(obj, f, tables, where);
    base.input = input;
    base.line = line_no;
    const json& e = obj.at(f.experts);
    if (is_per_token(e)) return add_per_token(base, obj, f, tables, out);
    base.layer = static_cast<int32_t>(json_int(obj.at(f.layer), IdKind::kLayer, where, f.layer));
    add_record(std::move(base), e, f.weights.empty() ? nullptr : &obj.at(f.weights), f, tables,
               out);
  });
}

}  // namespace moeb::import_detail
