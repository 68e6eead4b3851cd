// The synthetic generator a workload config asks for: its knobs, and the plain or calibrated
// generator built from them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/config.hpp"
#include "core/model.hpp"
#include "workload/synthetic.hpp"

namespace moeb {

// The generator knobs a workload config names (distribution uniform | zipf | families | ...).
SyntheticSpec synthetic_spec_of(const WorkloadConfig& w);

// The generator for `w`: calibrated (distribution = "calibrated", targets and knobs recorded in
// `prov` when given) or plain with the knobs `w` names.
std::shared_ptr<const SyntheticGenerator> make_generator(const WorkloadConfig& w,
                                                         const ModelSpec& model, uint64_t seed,
                                                         std::map<std::string, std::string>* prov);

}  // namespace moeb
