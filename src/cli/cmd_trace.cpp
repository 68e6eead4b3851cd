// moebench trace: import routing data into the HDF5 routing-trace format, inspect a trace's
// statistics, export it back, or generate a synthetic one (results_schema/TRACE.md).
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/model.hpp"
#include "workload/importers.hpp"
#include "workload/synthetic_trace.hpp"
#include "workload/trace_info.hpp"
#include "workload/trace_limits.hpp"

namespace moeb::cli {

namespace {

struct ImportArgs {
  std::vector<std::string> files;
  std::string out;
  ImportOptions opt;
};

struct GenerateArgs {
  std::string out, model = "mixtral-8x7b", distribution = "calibrated", preset;
  int64_t tokens = 65536, layers = 0;
  int families = 0;
  uint64_t seed = 42;
  double zipf_s = -1, skew = -1, pair_share = -1, spearman = -2, recurrence = -1;
};

// An integer that may be written 1e9; anything beyond int64 is "too large", not wrapped.
int64_t parse_count(const std::string& s, const std::string& option) {
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (!s.empty() && *end == '\0' && errno == 0) return v;
  const double d = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || std::isnan(d) || (std::isfinite(d) && d != std::floor(d)))
    throw InputError(option + ": expected an integer, got '" + s + "'");
  if (!(std::fabs(d) < 9.2e18)) throw InputError(option + " " + s + " is too large");
  return static_cast<int64_t>(d);
}

CLI::Option* count_option(CLI::App* sub, const std::string& name, int64_t& out,
                          const std::string& description) {
  return sub
      ->add_option_function<std::string>(
          name, [&out, name](const std::string& s) { out = parse_count(s, name); }, description)
      ->type_name("INT");
}

void check_limit(int64_t v, int64_t lo, int64_t hi, const std::string& what) {
  if (v < lo || v > hi)
    throw InputError("trace generate: " + what + " " + std::to_string(v) + " outside " +
                     std::to_string(lo) + ".." + std::to_string(hi) +
                     " (results_schema/TRACE.md, Limits)");
}

void add_import_options(CLI::App* sub, ImportArgs& a) {
  sub->add_option("--model", a.opt.model, "model preset: fixes experts, top-k and layers");
  count_option(sub, "--experts", a.opt.num_experts,
               "experts per layer (default: model or max id + 1)");
  count_option(sub, "--layers", a.opt.num_layers, "MoE layers (default: model or max layer + 1)");
  count_option(sub, "--top-k", a.opt.top_k,
               "coact-csv: top-k used to derive loads (default: model or 2)");
  auto& fields = a.opt.fields;
  sub->add_option_function<std::string>(
         "--fields",
         [&fields](const std::string& text) {
           for (const auto& [k, v] : parse_field_map(text)) fields[k] = v;
         },
         "field map KEY=NAME,... (keys: request, token, layer, experts, weights, family, "
         "phase; csv: experts/weights name column prefixes; weights= for equal weights)")
      ->type_name("MAP");
  // One option per field, kept for existing scripts: --request-field NAME = --fields request=NAME.
  for (const char* key : {"request", "token", "layer", "experts", "weights", "family", "phase"})
    sub->add_option_function<std::string>(
        std::string("--") + key + "-field",
        [&fields, key](const std::string& name) { fields[key] = name; },
        std::string("same as --fields ") + key + "=NAME");
}

void register_import(CLI::App& trace, int& exit_code) {
  auto args = std::make_shared<ImportArgs>();
  auto* sub = trace.add_subcommand("import", "convert routing data into a routing-trace file");
  sub->add_option(
         "--format", args->opt.format,
         "jsonl-topk (per-token JSON lines), csv (request,token,layer,expert_0.. rows), "
         "coact-csv (co-activation or load counts: statistics only); results_schema/TRACE.md")
      ->required()
      ->check(CLI::IsMember({"jsonl-topk", "csv", "coact-csv"}));
  sub->add_option("files", args->files, "input files")->required();
  sub->add_option("-o,--output", args->out, "routing-trace file to write (HDF5)")->required();
  add_import_options(sub, *args);
  sub->callback([args, &exit_code] {
    ImportSummary s = import_trace(args->files, args->out, args->opt);
    if (args->opt.format == "coact-csv") {
      std::printf("imported statistics (%lld rows): %d layers x %d experts, top-%d -> %s\n",
                  static_cast<long long>(s.records), s.num_layers, s.num_experts, s.top_k,
                  args->out.c_str());
    } else {
      std::string fam;
      for (size_t i = 0; i < s.family_names.size(); ++i)
        fam += (i ? ", " : "") + s.family_names[i] + " " + std::to_string(s.family_tokens[i]);
      std::printf(
          "imported %lld tokens (%lld requests; families: %s) from %lld records: "
          "%d layers x %d experts, top-%d -> %s\n",
          static_cast<long long>(s.tokens), static_cast<long long>(s.requests), fam.c_str(),
          static_cast<long long>(s.records), s.num_layers, s.num_experts, s.top_k,
          args->out.c_str());
      std::printf("dropped %lld tokens lacking a record at some layer (stored as dropped_tokens)\n",
                  static_cast<long long>(s.dropped_tokens));
    }
    std::printf("source sha256 %s\n", s.source_sha256.c_str());
    exit_code = 0;
  });
}

void register_info(CLI::App& trace, int& exit_code) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto* sub = trace.add_subcommand("info", "statistics of a routing trace");
  sub->add_option("trace", *path, "routing-trace file (HDF5)")->required();
  sub->add_flag("--json", *json, "print JSON instead of text");
  sub->callback([path, json, &exit_code] {
    TraceReader reader(*path);
    TraceInfo info = trace_info(reader);
    std::string out = *json ? trace_info_json(info) + "\n" : format_trace_info(info);
    std::fputs(out.c_str(), stdout);
    exit_code = 0;
  });
}

void register_export(CLI::App& trace, int& exit_code) {
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  auto format = std::make_shared<std::string>();
  auto* sub =
      trace.add_subcommand("export", "write a routing trace as jsonl-topk, csv or coact-csv");
  sub->add_option("--format", *format, "jsonl-topk | csv | coact-csv")
      ->required()
      ->check(CLI::IsMember({"jsonl-topk", "csv", "coact-csv"}));
  sub->add_option("trace", args->first, "routing-trace file (HDF5)")->required();
  sub->add_option("-o,--output", args->second, "file to write")->required();
  sub->callback([args, format, &exit_code] {
    export_trace(args->first, *format, args->second);
    std::printf("exported %s as %s -> %s\n", args->first.c_str(), format->c_str(),
                args->second.c_str());
    exit_code = 0;
  });
}

void register_generate(CLI::App& trace, int& exit_code) {
  auto a = std::make_shared<GenerateArgs>();
  auto* sub = trace.add_subcommand("generate", "write a synthetic routing trace (HDF5)");
  sub->add_option("-o,--output", a->out, "routing-trace file to write")->required();
  sub->add_option("--model", a->model, "model preset")->capture_default_str();
  count_option(sub, "--layers", a->layers, "MoE layers (default: the preset's)");
  count_option(sub, "--tokens", a->tokens, "tokens (default 65536)");
  sub->add_option("--seed", a->seed, "seed")->capture_default_str();
  sub->add_option("--distribution", a->distribution, "uniform | zipf | families | calibrated")
      ->capture_default_str()
      ->check(CLI::IsMember({"uniform", "zipf", "families", "calibrated"}));
  sub->add_option("--preset", a->preset,
                  "calibrated: workload preset (deepseek-v3, qwen3-235b-a22b, kimi-k2)");
  sub->add_option("--families", a->families, "task families");
  sub->add_option("--zipf-s", a->zipf_s, "Zipf exponent (zipf, families)");
  sub->add_option("--skew", a->skew, "calibrated: hottest / mean load target");
  sub->add_option("--pair-share", a->pair_share, "calibrated: top-10% pairs share target");
  sub->add_option("--spearman", a->spearman, "calibrated: prefill/decode Spearman target");
  sub->add_option("--recurrence", a->recurrence, "calibrated: adjacent-token recurrence target");
  sub->callback([a, &exit_code] {
    RunConfig cfg;
    cfg.seed = a->seed;
    cfg.model = model_preset(a->model);
    check_limit(a->layers, 0, TraceLimits::kMaxLayers, "--layers");
    check_limit(a->tokens, 1, TraceLimits::kMaxTokens, "--tokens");
    if (a->layers > 0) cfg.model.num_layers = static_cast<int>(a->layers);
    auto& w = cfg.workload;
    w.distribution = a->distribution;
    w.tokens = a->tokens;
    w.preset = a->preset;
    if (a->families > 0) w.num_families = a->families;
    if (a->zipf_s >= 0) w.zipf_s = a->zipf_s;
    if (a->skew >= 0) w.target_skew = a->skew;
    if (a->pair_share >= 0) w.target_pair_share = a->pair_share;
    if (a->spearman >= -1) w.target_phase_spearman = a->spearman;
    if (a->recurrence >= 0) w.target_recurrence = a->recurrence;
    auto prov = write_synthetic_trace(cfg, a->out);
    std::printf("generated %lld tokens (%s) -> %s\n", static_cast<long long>(a->tokens),
                a->distribution.c_str(), a->out.c_str());
    for (const auto& [k, v] : prov) std::printf("  %s = %s\n", k.c_str(), v.c_str());
    exit_code = 0;
  });
}

}  // namespace

void register_trace(CLI::App& app, int& exit_code) {
  auto* sub = app.add_subcommand("trace", "routing traces: import, info, export, generate");
  sub->require_subcommand(1);
  register_import(*sub, exit_code);
  register_info(*sub, exit_code);
  register_export(*sub, exit_code);
  register_generate(*sub, exit_code);
}

}  // namespace moeb::cli
