// export_trace: a routing-trace file back to jsonl-topk (default field names), csv, or its
// co-activation counts as coact-csv. Tokens are streamed; the output appears by rename.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "platform/atomic_file.hpp"
#include "workload/importers.hpp"

namespace moeb {

namespace {

using nlohmann::json;

void check_write(int rc, const std::string& path) {
  if (rc < 0) throw InputError(path + ": write failed (disk full?)");
}

void write_coact(const TraceReader& reader, std::FILE* f, const std::string& path) {
  const auto& h = reader.header();
  RoutingStats st = reader.statistics(h.num_layers);
  check_write(std::fprintf(f, "layer,expert_i,expert_j,count\n"), path);
  for (int l = 0; l < h.num_layers; ++l)
    for (int i = 0; i < h.num_experts; ++i)
      for (int j = 0; j < h.num_experts; ++j)
        if (i != j)
          check_write(std::fprintf(f, "%d,%d,%d,%.17g\n", l, i, j,
                                   st.layer(l).coact_at(i, j, h.num_experts)),
                      path);
}

// One (token, layer) record as a csv row or a JSON line (default field names).
std::string record_line(const RoutingTrace& t, int64_t i, int l, const TraceHeader& h, bool csv) {
  const auto& m = t.meta(i);
  const std::string& fam = h.family_names[static_cast<size_t>(m.family)];
  const char* phase = m.phase == Phase::kPrefill ? "prefill" : "decode";
  auto e = t.experts(l, i);
  auto w = t.weights(l, i);
  if (!csv)
    return json({{"dataset", fam},
                 {"problem_id", m.request_id},
                 {"layer", l},
                 {"experts", std::vector<int32_t>(e.begin(), e.end())},
                 {"gating_probs", std::vector<float>(w.begin(), w.end())},
                 {"token_idx", m.position},
                 {"phase", phase}})
        .dump();
  std::string line = std::to_string(m.request_id) + "," + std::to_string(m.position) + "," +
                     std::to_string(l) + "," + fam + "," + phase;
  for (int j = 0; j < h.top_k; ++j) line += "," + std::to_string(e[j]);
  char buf[32];
  for (int j = 0; j < h.top_k; ++j) {
    std::snprintf(buf, sizeof buf, ",%.9g", static_cast<double>(w[j]));
    line += buf;
  }
  return line;
}

void write_tokens(const TraceReader& reader, const std::string& format, std::FILE* f,
                  const std::string& path) {
  const auto& h = reader.header();
  if (h.statistics_only)
    throw InputError(reader.path() + ": statistics-only trace has no tokens to export");
  if (format == "csv") {
    std::string head = "request,token,layer,family,phase";
    for (int j = 0; j < h.top_k; ++j) head += ",expert_" + std::to_string(j);
    for (int j = 0; j < h.top_k; ++j) head += ",weight_" + std::to_string(j);
    check_write(std::fprintf(f, "%s\n", head.c_str()), path);
  }
  constexpr int64_t kBlock = 16384;
  for (int64_t b = 0; b < reader.num_tokens(); b += kBlock) {
    RoutingTrace t = reader.read_range(b, std::min(reader.num_tokens(), b + kBlock));
    for (int64_t i = 0; i < t.num_tokens(); ++i)
      for (int l = 0; l < h.num_layers; ++l)
        check_write(std::fprintf(f, "%s\n", record_line(t, i, l, h, format == "csv").c_str()),
                    path);
  }
}

}  // namespace

void export_trace(const std::string& trace_path, const std::string& format,
                  const std::string& out_path) {
  if (format != "jsonl-topk" && format != "csv" && format != "coact-csv")
    throw InputError("trace export: --format: expected jsonl-topk | csv | coact-csv, got '" +
                     format + "'");
  TraceReader reader(trace_path);
  AtomicFile out(out_path);  // removes the temporary unless committed
  const std::string& tmp = out.temp_path();
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) throw InputError(tmp + ": cannot create file");
  try {
    if (format == "coact-csv")
      write_coact(reader, f, tmp);
    else
      write_tokens(reader, format, f, tmp);
    if (std::fflush(f) != 0) throw InputError(tmp + ": write failed (disk full?)");
  } catch (...) {
    std::fclose(f);
    throw;
  }
  if (std::fclose(f) != 0) throw InputError(out_path + ": write failed (disk full?)");
  out.commit();
}

}  // namespace moeb
