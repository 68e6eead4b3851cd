#include "workload/synthetic_trace.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "workload/generator.hpp"
#include "workload/trace_file.hpp"

namespace moeb {

std::map<std::string, std::string> write_synthetic_trace(const RunConfig& cfg,
                                                         const std::string& out_path) {
  const ModelSpec& model = cfg.model;
  validate_model(model, "model");
  if (cfg.workload.tokens < 1) throw ConfigError("workload: key 'tokens': expected >= 1");
  std::map<std::string, std::string> prov;
  std::shared_ptr<const SyntheticGenerator> gen = make_generator(cfg.workload, model, cfg.seed, &prov);
  auto metas = gen->token_metas(cfg.workload.tokens);
  TraceHeader h;
  h.num_layers = model.num_layers;
  h.num_experts = model.num_experts;
  h.top_k = model.top_k;
  h.family_names = gen->family_names();
  h.source = gen->source() + " seed=" + std::to_string(cfg.seed);
  h.import_format = "synthetic";
  h.model = model.name;
  TraceWriter writer(out_path, h);
  constexpr int64_t kChunk = 16384;
  std::vector<int64_t> idx;
  for (int64_t b = 0; b < static_cast<int64_t>(metas.size()); b += kChunk) {
    idx.resize(static_cast<size_t>(std::min<int64_t>(kChunk, metas.size() - b)));
    std::iota(idx.begin(), idx.end(), b);
    writer.append(gen->fetch(metas, idx, model.num_layers));
  }
  writer.finish();
  return prov;
}

}  // namespace moeb
