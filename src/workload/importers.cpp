#include "workload/importers.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include "core/error.hpp"
#include "core/model.hpp"
#include "workload/sha256.hpp"

namespace moeb {

namespace {

using nlohmann::json;

// One (token, layer) routing record as read from any per-token format.
struct Record {
  int64_t request = 0;  // index into the request table (first appearance)
  int64_t token = 0;    // position within the request
  int layer = 0;
  int32_t family = 0;
  Phase phase = Phase::kDecode;
  std::vector<int32_t> experts;
  std::vector<float> weights;  // empty: equal weights
  std::string where;           // "file:line" for messages
};

struct Tables {
  std::map<std::string, int64_t> requests;  // key -> index (key = family + '\x1f' + id)
  std::vector<std::string> families{"default"};
  std::map<std::string, int32_t> family_index{{"default", 0}};
  bool default_used = false;
  int32_t family(const std::string& name) {
    auto [it, fresh] = family_index.try_emplace(name, static_cast<int32_t>(families.size()));
    if (fresh) families.push_back(name);
    return it->second;
  }
  int64_t request(const std::string& key) {
    auto [it, fresh] = requests.try_emplace(key, static_cast<int64_t>(requests.size()));
    return it->second;
  }
};

std::string read_file(const std::string& path, Sha256& sha) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  sha.update(s.data(), s.size());
  return s;
}

// Calls fn(line_number, line) for every non-empty line.
template <class Fn>
void for_each_line(const std::string& text, Fn fn) {
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    std::string_view line(text.data() + pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) fn(line_no, line);
    pos = end + 1;
  }
}

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw InputError(where + ": " + what);
}

Phase parse_phase(const std::string& s, const std::string& where) {
  if (s == "prefill" || s == "0") return Phase::kPrefill;
  if (s == "decode" || s == "1") return Phase::kDecode;
  bad(where, "phase: expected prefill | decode | 0 | 1, got '" + s + "'");
}

// ---- jsonl-topk -------------------------------------------------------------------------------

std::string json_id(const json& v, const std::string& field, const std::string& where) {
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_string()) return v.get<std::string>();
  bad(where, "field '" + field + "': expected an integer or a string");
}

int64_t json_int(const json& obj, const std::string& field, const std::string& where) {
  auto it = obj.find(field);
  if (it == obj.end())
    bad(where, "field '" + field + "' missing (expected a non-negative integer)");
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    bad(where, "field '" + field + "': expected a non-negative integer");
  return it->get<int64_t>();
}

void parse_jsonl(const std::string& path, const std::string& text, const JsonlFields& f,
                 Tables& tables, std::vector<Record>& out) {
  for_each_line(text, [&](int64_t line_no, std::string_view line) {
    std::string where = path + ":" + std::to_string(line_no);
    json obj = json::parse(line, nullptr, false);
    if (obj.is_discarded() || !obj.is_object()) bad(where, "expected one JSON object per line");
    Record r;
    r.where = where;
    std::string family = "default";
    if (!f.family.empty()) {
      auto it = obj.find(f.family);
      if (it != obj.end()) {
        if (!it->is_string()) bad(where, "field '" + f.family + "': expected a string");
        family = it->get<std::string>();
      }
    }
    r.family = tables.family(family);
    auto rit = obj.find(f.request);
    if (rit == obj.end())
      bad(where,
          "field '" + f.request + "' missing (expected the request id; see --request-field)");
    r.request = tables.request(family + '\x1f' + json_id(*rit, f.request, where));
    r.token = json_int(obj, f.token, where);
    r.layer = static_cast<int>(json_int(obj, f.layer, where));
    auto eit = obj.find(f.experts);
    if (eit == obj.end() || !eit->is_array() || eit->empty())
      bad(where, "field '" + f.experts + "': expected a non-empty array of expert ids");
    for (const auto& v : *eit) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
        bad(where, "field '" + f.experts + "': expected non-negative integer expert ids");
      r.experts.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    if (!f.weights.empty()) {
      auto wit = obj.find(f.weights);
      if (wit == obj.end() || !wit->is_array() || wit->size() != r.experts.size())
        bad(where, "field '" + f.weights + "': expected an array of " +
                       std::to_string(r.experts.size()) + " gate weights (one per expert)");
      for (const auto& v : *wit) {
        if (!v.is_number() || !std::isfinite(v.get<double>()))
          bad(where, "field '" + f.weights + "': expected finite numbers");
        r.weights.push_back(static_cast<float>(v.get<double>()));
      }
    }
    if (!f.phase.empty()) {
      auto pit = obj.find(f.phase);
      if (pit == obj.end())
        bad(where, "field '" + f.phase + "' missing (expected prefill | decode)");
      r.phase = parse_phase(pit->is_string() ? pit->get<std::string>() : pit->dump(), where);
    }
    out.push_back(std::move(r));
  });
}

// ---- csv ---------------------------------------------------------------------------------------

std::vector<std::string_view> split_csv(std::string_view line) {
  std::vector<std::string_view> cells;
  size_t pos = 0;
  while (true) {
    size_t c = line.find(',', pos);
    std::string_view cell =
        line.substr(pos, c == std::string_view::npos ? std::string_view::npos : c - pos);
    while (!cell.empty() && cell.front() == ' ') cell.remove_prefix(1);
    while (!cell.empty() && cell.back() == ' ') cell.remove_suffix(1);
    cells.push_back(cell);
    if (c == std::string_view::npos) break;
    pos = c + 1;
  }
  return cells;
}

int64_t parse_int(std::string_view s, const std::string& where, const std::string& column) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0)
    bad(where,
        "column '" + column + "': expected a non-negative integer, got '" + std::string(s) + "'");
  return v;
}

double parse_double(std::string_view s, const std::string& where, const std::string& column) {
  std::string tmp(s);
  char* end = nullptr;
  double v = std::strtod(tmp.c_str(), &end);
  if (tmp.empty() || end != tmp.c_str() + tmp.size() || !std::isfinite(v))
    bad(where, "column '" + column + "': expected a number, got '" + tmp + "'");
  return v;
}

struct CsvHeader {
  std::map<std::string, size_t> col;
  size_t cells = 0;
  int k = 0;
  bool weights = false;
};

CsvHeader read_header(std::string_view line, const std::string& where,
                      const std::vector<std::string>& required) {
  CsvHeader h;
  auto cells = split_csv(line);
  h.cells = cells.size();
  for (size_t i = 0; i < cells.size(); ++i) h.col[std::string(cells[i])] = i;
  for (const auto& r : required)
    if (!h.col.count(r)) {
      std::string expected;
      for (const auto& x : required) expected += (expected.empty() ? "" : ",") + x;
      bad(where, "header: column '" + r + "' missing (expected a header with " + expected + ")");
    }
  while (h.col.count("expert_" + std::to_string(h.k))) ++h.k;
  return h;
}

void parse_csv(const std::string& path, const std::string& text, Tables& tables,
               std::vector<Record>& out) {
  CsvHeader h;
  bool have_header = false;
  for_each_line(text, [&](int64_t line_no, std::string_view line) {
    std::string where = path + ":" + std::to_string(line_no);
    if (!have_header) {
      h = read_header(line, where, {"request", "token", "layer", "expert_0"});
      h.weights = h.col.count("weight_0") > 0;
      for (int j = 0; h.weights && j < h.k; ++j)
        if (!h.col.count("weight_" + std::to_string(j)))
          bad(where,
              "header: column 'weight_" + std::to_string(j) + "' missing (one per expert_ column)");
      have_header = true;
      return;
    }
    auto cells = split_csv(line);
    if (cells.size() != h.cells)
      bad(where, "expected " + std::to_string(h.cells) + " comma-separated cells, got " +
                     std::to_string(cells.size()));
    Record r;
    r.where = where;
    std::string family = h.col.count("family") ? std::string(cells[h.col["family"]]) : "default";
    if (family.empty()) family = "default";
    r.family = tables.family(family);
    std::string req(cells[h.col["request"]]);
    if (req.empty()) bad(where, "column 'request': expected a request id, got an empty cell");
    r.request = tables.request(family + '\x1f' + req);
    r.token = parse_int(cells[h.col["token"]], where, "token");
    r.layer = static_cast<int>(parse_int(cells[h.col["layer"]], where, "layer"));
    if (h.col.count("phase")) r.phase = parse_phase(std::string(cells[h.col["phase"]]), where);
    for (int j = 0; j < h.k; ++j) {
      std::string c = "expert_" + std::to_string(j);
      r.experts.push_back(static_cast<int32_t>(parse_int(cells[h.col[c]], where, c)));
      if (h.weights) {
        std::string w = "weight_" + std::to_string(j);
        r.weights.push_back(static_cast<float>(parse_double(cells[h.col[w]], where, w)));
      }
    }
    out.push_back(std::move(r));
  });
  if (!have_header)
    bad(path + ":1", "expected a CSV header line (request,token,layer,expert_0,...)");
}

// ---- records -> tokens -------------------------------------------------------------------------

ImportSummary write_tokens(std::vector<Record>& records, Tables& tables, const ImportOptions& opt,
                           const std::string& out_path, const std::string& source,
                           const std::string& sha) {
  ImportSummary s;
  s.records = static_cast<int64_t>(records.size());
  if (records.empty()) throw InputError(source + ": no routing records found");
  int k = static_cast<int>(records[0].experts.size());
  int max_layer = 0, max_expert = 0;
  for (const auto& r : records) {
    if (static_cast<int>(r.experts.size()) != k)
      bad(r.where, "expected top-" + std::to_string(k) + " (as the first record), got " +
                       std::to_string(r.experts.size()) + " experts");
    max_layer = std::max(max_layer, r.layer);
    for (int32_t e : r.experts) max_expert = std::max(max_expert, e);
  }
  int num_layers = max_layer + 1, num_experts = max_expert + 1;
  if (!opt.model.empty()) {
    const ModelSpec& m = model_preset(opt.model);
    num_layers = m.num_layers;
    num_experts = m.num_experts;
    if (m.top_k != k)
      bad(records[0].where, "records are top-" + std::to_string(k) + ", model " + opt.model +
                                " is top-" + std::to_string(m.top_k));
  }
  if (opt.num_layers > 0) num_layers = opt.num_layers;
  if (opt.num_experts > 0) num_experts = opt.num_experts;
  for (const auto& r : records) {
    if (r.layer >= num_layers)
      bad(r.where,
          "layer " + std::to_string(r.layer) + " outside [0, " + std::to_string(num_layers) + ")");
    for (size_t j = 0; j < r.experts.size(); ++j) {
      if (r.experts[j] >= num_experts)
        bad(r.where, "expert id " + std::to_string(r.experts[j]) + " outside [0, " +
                         std::to_string(num_experts) + ")");
      for (size_t i = 0; i < j; ++i)
        if (r.experts[i] == r.experts[j])
          bad(r.where, "expert " + std::to_string(r.experts[j]) + " repeated in one top-k");
    }
  }
  // Group records by token; a token is kept when every layer has exactly one record.
  struct Tok {
    int64_t request, token;
    int32_t family;
    Phase phase;
    std::vector<int32_t> rec;  // record index per layer, -1 = missing
  };
  std::map<std::pair<int64_t, int64_t>, Tok> toks;
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    auto [it, fresh] = toks.try_emplace(
        {r.request, r.token},
        Tok{r.request, r.token, r.family, r.phase, std::vector<int32_t>(num_layers, -1)});
    if (it->second.rec[r.layer] >= 0)
      bad(r.where, "second record for the same (request, token, layer); first at " +
                       records[it->second.rec[r.layer]].where);
    it->second.rec[r.layer] = static_cast<int32_t>(i);
  }
  std::vector<const Tok*> keep;
  for (const auto& [key, t] : toks) {
    if (std::all_of(t.rec.begin(), t.rec.end(), [](int32_t x) { return x >= 0; }))
      keep.push_back(&t);
    else
      ++s.dropped_tokens;
  }
  if (keep.empty()) throw InputError(source + ": every token lacks a record at some layer");
  // Requests renumbered densely in order of first appearance among kept tokens.
  std::map<int64_t, int64_t> req_index;
  for (const Tok* t : keep)
    req_index.try_emplace(t->request, static_cast<int64_t>(req_index.size()));

  // Drop the "default" family when no token uses it and other names exist.
  std::vector<int64_t> fam_count(tables.families.size(), 0);
  for (const Tok* t : keep) ++fam_count[t->family];
  std::vector<int32_t> fam_map(tables.families.size(), -1);
  std::vector<std::string> names;
  for (size_t f = 0; f < tables.families.size(); ++f)
    if (fam_count[f] > 0 || (f == 0 && tables.families.size() == 1)) {
      fam_map[f] = static_cast<int32_t>(names.size());
      names.push_back(tables.families[f]);
    }

  TraceHeader h;
  h.num_layers = num_layers;
  h.num_experts = num_experts;
  h.top_k = k;
  h.family_names = names;
  h.source = source;
  h.source_sha256 = sha;
  h.import_format = opt.format;
  h.model = opt.model;
  h.dropped_tokens = s.dropped_tokens;
  TraceWriter writer(out_path, h);
  constexpr size_t kChunk = 65536;
  for (size_t b = 0; b < keep.size(); b += kChunk) {
    size_t n = std::min(kChunk, keep.size() - b);
    RoutingTrace chunk(num_layers, k, num_experts, static_cast<int64_t>(n));
    chunk.family_names = names;
    for (size_t i = 0; i < n; ++i) {
      const Tok& t = *keep[b + i];
      chunk.meta(static_cast<int64_t>(i)) = {req_index[t.request], fam_map[t.family], t.phase,
                                             static_cast<int32_t>(t.token)};
      for (int l = 0; l < num_layers; ++l) {
        const Record& r = records[t.rec[l]];
        auto e = chunk.experts(l, static_cast<int64_t>(i));
        auto w = chunk.weights(l, static_cast<int64_t>(i));
        for (int j = 0; j < k; ++j) {
          e[j] = r.experts[j];
          w[j] = r.weights.empty() ? 1.0f / static_cast<float>(k) : r.weights[j];
        }
      }
    }
    writer.append(chunk);
  }
  writer.finish();
  s.tokens = static_cast<int64_t>(keep.size());
  s.requests = static_cast<int64_t>(req_index.size());
  s.num_layers = num_layers;
  s.num_experts = num_experts;
  s.top_k = k;
  s.family_names = names;
  s.family_tokens.assign(names.size(), 0);
  for (const Tok* t : keep) ++s.family_tokens[fam_map[t->family]];
  s.source_sha256 = sha;
  return s;
}

// ---- coact-csv (statistics only) ---------------------------------------------------------------

ImportSummary import_coact(const std::vector<std::string>& files, const std::string& out_path,
                           const ImportOptions& opt) {
  struct Cell {
    int layer, i, j;
    double count;
    std::string where;
  };
  std::vector<Cell> pairs, loads;
  Sha256 sha;
  ImportSummary s;
  for (const auto& path : files) {
    std::string text = read_file(path, sha);
    CsvHeader h;
    bool have_header = false, is_load = false;
    for_each_line(text, [&](int64_t line_no, std::string_view line) {
      std::string where = path + ":" + std::to_string(line_no);
      if (!have_header) {
        auto cells = split_csv(line);
        is_load = std::find(cells.begin(), cells.end(), "expert") != cells.end();
        h = read_header(line, where,
                        is_load
                            ? std::vector<std::string>{"layer", "expert", "count"}
                            : std::vector<std::string>{"layer", "expert_i", "expert_j", "count"});
        have_header = true;
        return;
      }
      auto cells = split_csv(line);
      if (cells.size() != h.cells)
        bad(where, "expected " + std::to_string(h.cells) + " comma-separated cells, got " +
                       std::to_string(cells.size()));
      ++s.records;
      Cell c;
      c.where = where;
      c.layer = static_cast<int>(parse_int(cells[h.col["layer"]], where, "layer"));
      c.count = parse_double(cells[h.col["count"]], where, "count");
      if (c.count < 0) bad(where, "column 'count': expected a count >= 0");
      if (is_load) {
        c.i = static_cast<int>(parse_int(cells[h.col["expert"]], where, "expert"));
        c.j = -1;
        loads.push_back(c);
      } else {
        c.i = static_cast<int>(parse_int(cells[h.col["expert_i"]], where, "expert_i"));
        c.j = static_cast<int>(parse_int(cells[h.col["expert_j"]], where, "expert_j"));
        if (c.i == c.j) bad(where, "expert_i == expert_j: the diagonal is not a co-activation");
        pairs.push_back(c);
      }
    });
    if (!have_header)
      bad(path + ":1",
          "expected a CSV header (layer,expert_i,expert_j,count or layer,expert,count)");
  }
  if (pairs.empty())
    throw InputError(files.front() + ": no co-activation rows (layer,expert_i,expert_j,count)");
  int max_layer = 0, max_expert = 0;
  for (const auto* v : {&pairs, &loads})
    for (const auto& c : *v) {
      max_layer = std::max(max_layer, c.layer);
      max_expert = std::max({max_expert, c.i, c.j});
    }
  int num_layers = max_layer + 1, num_experts = max_expert + 1, k = 2;
  if (!opt.model.empty()) {
    const ModelSpec& m = model_preset(opt.model);
    num_layers = m.num_layers;
    num_experts = m.num_experts;
    k = m.top_k;
  }
  if (opt.num_layers > 0) num_layers = opt.num_layers;
  if (opt.num_experts > 0) num_experts = opt.num_experts;
  if (opt.top_k > 0) k = opt.top_k;
  const size_t e = static_cast<size_t>(num_experts);
  std::vector<std::vector<double>> coact(num_layers, std::vector<double>(e * e, 0.0));
  std::vector<std::vector<char>> given(num_layers, std::vector<char>(e * e, 0));
  for (const auto& c : pairs) {
    if (c.layer >= num_layers || c.i >= num_experts || c.j >= num_experts)
      bad(c.where, "layer or expert outside [0, " + std::to_string(num_layers) + ") x [0, " +
                       std::to_string(num_experts) + ")");
    size_t a = c.i * e + c.j, b = c.j * e + c.i;
    if (given[c.layer][a]) bad(c.where, "second row for the same (layer, expert_i, expert_j)");
    if (given[c.layer][b] && coact[c.layer][b] != c.count)
      bad(c.where, "count differs from the mirrored pair (expected a symmetric matrix)");
    given[c.layer][a] = 1;
    coact[c.layer][a] = c.count;
    coact[c.layer][b] = c.count;
  }
  std::vector<std::vector<double>> load(num_layers, std::vector<double>(e, 0.0));
  if (!loads.empty()) {
    for (const auto& c : loads) {
      if (c.layer >= num_layers || c.i >= num_experts)
        bad(c.where, "layer or expert outside the trace shape");
      load[c.layer][c.i] += c.count;
    }
  } else {
    // Every token with expert i in its top-k co-activates i with k-1 others.
    for (int l = 0; l < num_layers; ++l)
      for (size_t i = 0; i < e; ++i) {
        double sum = 0;
        for (size_t j = 0; j < e; ++j) sum += coact[l][i * e + j];
        load[l][i] = k > 1 ? sum / (k - 1) : 0.0;
      }
  }
  TraceHeader h;
  h.num_layers = num_layers;
  h.num_experts = num_experts;
  h.top_k = k;
  h.statistics_only = true;
  std::string source;
  for (const auto& f : files) source += (source.empty() ? "" : ",") + f;
  h.source = source;
  h.source_sha256 = sha.hex_digest();
  h.import_format = "coact-csv";
  h.model = opt.model;
  TraceWriter writer(out_path, h);
  writer.write_statistics(load, coact);
  writer.finish();
  s.num_layers = num_layers;
  s.num_experts = num_experts;
  s.top_k = k;
  s.family_names = {"default"};
  s.source_sha256 = h.source_sha256;
  return s;
}

}  // namespace

ImportSummary import_trace(const std::vector<std::string>& files, const std::string& out_path,
                           const ImportOptions& opt) {
  if (files.empty()) throw InputError("trace import: no input files");
  if (opt.format == "coact-csv") return import_coact(files, out_path, opt);
  if (opt.format != "jsonl-topk" && opt.format != "csv")
    throw InputError("trace import: --format: expected jsonl-topk | csv | coact-csv, got '" +
                     opt.format + "'");
  Tables tables;
  std::vector<Record> records;
  Sha256 sha;
  std::string source;
  for (const auto& path : files) {
    std::string text = read_file(path, sha);
    if (opt.format == "jsonl-topk")
      parse_jsonl(path, text, opt.jsonl, tables, records);
    else
      parse_csv(path, text, tables, records);
    source += (source.empty() ? "" : ",") + path;
  }
  return write_tokens(records, tables, opt, out_path, source, sha.hex_digest());
}

// ---- export ------------------------------------------------------------------------------------

void export_trace(const std::string& trace_path, const std::string& format,
                  const std::string& out_path) {
  TraceReader reader(trace_path);
  const auto& h = reader.header();
  std::string tmp = out_path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) throw InputError(tmp + ": cannot create file");
  auto fail = [&](const std::string& what) { throw InputError(what); };
  try {
    if (format == "coact-csv") {
      RoutingStats st = reader.statistics(h.num_layers);
      std::fprintf(f, "layer,expert_i,expert_j,count\n");
      for (int l = 0; l < h.num_layers; ++l)
        for (int i = 0; i < h.num_experts; ++i)
          for (int j = 0; j < h.num_experts; ++j)
            if (i != j)
              std::fprintf(f, "%d,%d,%d,%.17g\n", l, i, j,
                           st.layer(l).coact_at(i, j, h.num_experts));
    } else if (format == "jsonl-topk" || format == "csv") {
      if (h.statistics_only) fail(trace_path + ": statistics-only trace has no tokens to export");
      if (format == "csv") {
        std::fprintf(f, "request,token,layer,family,phase");
        for (int j = 0; j < h.top_k; ++j) std::fprintf(f, ",expert_%d", j);
        for (int j = 0; j < h.top_k; ++j) std::fprintf(f, ",weight_%d", j);
        std::fprintf(f, "\n");
      }
      constexpr int64_t kBlock = 16384;
      for (int64_t b = 0; b < reader.num_tokens(); b += kBlock) {
        RoutingTrace t = reader.read_range(b, std::min(reader.num_tokens(), b + kBlock));
        for (int64_t i = 0; i < t.num_tokens(); ++i) {
          const auto& m = t.meta(i);
          const std::string& fam = h.family_names[m.family];
          const char* phase = m.phase == Phase::kPrefill ? "prefill" : "decode";
          for (int l = 0; l < h.num_layers; ++l) {
            auto e = t.experts(l, i);
            auto w = t.weights(l, i);
            if (format == "csv") {
              std::fprintf(f, "%lld,%d,%d,%s,%s", static_cast<long long>(m.request_id), m.position,
                           l, fam.c_str(), phase);
              for (int j = 0; j < h.top_k; ++j) std::fprintf(f, ",%d", e[j]);
              for (int j = 0; j < h.top_k; ++j) std::fprintf(f, ",%.9g", static_cast<double>(w[j]));
              std::fprintf(f, "\n");
            } else {
              json obj = {{"dataset", fam},
                          {"problem_id", m.request_id},
                          {"layer", l},
                          {"experts", std::vector<int32_t>(e.begin(), e.end())},
                          {"gating_probs", std::vector<float>(w.begin(), w.end())},
                          {"token_idx", m.position},
                          {"phase", phase}};
              std::fprintf(f, "%s\n", obj.dump().c_str());
            }
          }
        }
      }
    } else {
      fail("trace export: --format: expected jsonl-topk | csv | coact-csv, got '" + format + "'");
    }
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  if (std::fclose(f) != 0) {
    std::remove(tmp.c_str());
    throw InputError(out_path + ": write failed");
  }
  if (std::rename(tmp.c_str(), out_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw InputError(out_path + ": cannot rename " + tmp);
  }
}

}  // namespace moeb
