#include "workload/generator.hpp"

#include "workload/calibrated.hpp"

namespace moeb {

SyntheticSpec synthetic_spec_of(const WorkloadConfig& w) {
  SyntheticSpec s;
  s.distribution = w.distribution;
  s.zipf_s = w.zipf_s;
  s.num_families = w.num_families;
  s.family_hot_share = w.family_hot_share;
  s.block_experts = w.block_experts;
  s.recurrence = w.recurrence;
  s.phase_mix = w.phase_mix;
  s.request_tokens = w.request_tokens;
  s.prefill_share = w.prefill_share;
  s.generator_version = w.generator_version;
  return s;
}

std::shared_ptr<const SyntheticGenerator> make_generator(const WorkloadConfig& w,
                                                         const ModelSpec& model, uint64_t seed,
                                                         std::map<std::string, std::string>* prov) {
  if (w.distribution == "calibrated")
    return make_calibrated_generator(w, synthetic_spec_of(w), model, seed, prov);
  return std::make_shared<SyntheticGenerator>(synthetic_spec_of(w), model, seed);
}

}  // namespace moeb
