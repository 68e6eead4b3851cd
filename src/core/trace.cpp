#include "core/trace.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/limits.hpp"

namespace moeb {

RoutingTrace::RoutingTrace(int num_layers, int top_k, int num_experts, int64_t num_tokens)
    : num_layers_(num_layers), top_k_(top_k), num_experts_(num_experts) {
  // Checked before allocating: every caller sizes a trace from input.
  const auto entries = product_within(num_layers, num_tokens, top_k, limits::kMaxRoutingEntries);
  if (num_layers < 0 || top_k < 0 || num_experts < 0 || !entries)
    throw InputError("routing of " + std::to_string(num_tokens) + " tokens x " +
                     std::to_string(num_layers) + " layers x top-" + std::to_string(top_k) +
                     " exceeds the documented limit of " +
                     std::to_string(limits::kMaxRoutingEntries) + " entries held at once");
  tokens_.resize(static_cast<size_t>(num_tokens));
  const size_t n = static_cast<size_t>(*entries);
  experts_.assign(n, 0);
  weights_.assign(n, 0.0f);
}

RoutingTrace RoutingTrace::slice(int64_t begin, int64_t end) const {
  std::vector<int64_t> idx;
  idx.reserve(static_cast<size_t>(end - begin));
  for (int64_t t = begin; t < end; ++t) idx.push_back(t);
  return select(idx);
}

RoutingTrace RoutingTrace::select(std::span<const int64_t> tokens) const {
  RoutingTrace out(num_layers_, top_k_, num_experts_, static_cast<int64_t>(tokens.size()));
  out.family_names = family_names;
  out.source = source;
  out.sha256 = sha256;
  for (size_t i = 0; i < tokens.size(); ++i) {
    out.tokens_[i] = tokens_[tokens[i]];
    for (int l = 0; l < num_layers_; ++l) {
      auto src_e = experts(l, tokens[i]);
      auto src_w = weights(l, tokens[i]);
      auto dst_e = out.experts(l, static_cast<int64_t>(i));
      auto dst_w = out.weights(l, static_cast<int64_t>(i));
      for (int j = 0; j < top_k_; ++j) {
        dst_e[j] = src_e[j];
        dst_w[j] = src_w[j];
      }
    }
  }
  return out;
}

void RoutingTrace::validate(const std::string& where) const {
  for (int l = 0; l < num_layers_; ++l)
    for (int64_t t = 0; t < num_tokens(); ++t) {
      auto e = experts(l, t);
      auto w = weights(l, t);
      for (int j = 0; j < top_k_; ++j) {
        if (!std::isfinite(w[j]) || w[j] < 0)
          throw InputError(where + ": layer " + std::to_string(l) + " token " + std::to_string(t) +
                           ": gate weight " + std::to_string(w[j]) +
                           " (expected a finite number >= 0)");
        if (e[j] < 0 || e[j] >= num_experts_)
          throw InputError(where + ": layer " + std::to_string(l) + " token " + std::to_string(t) +
                           ": expert id " + std::to_string(e[j]) + " outside [0, " +
                           std::to_string(num_experts_) + ")");
        for (int i = 0; i < j; ++i)
          if (e[i] == e[j])
            throw InputError(where + ": layer " + std::to_string(l) + " token " +
                             std::to_string(t) + ": expert " + std::to_string(e[j]) +
                             " repeated in top-k");
      }
    }
  for (const auto& m : tokens_)
    if (m.family < 0 || m.family >= static_cast<int32_t>(family_names.size()))
      throw InputError(where + ": token family " + std::to_string(m.family) +
                       " has no entry in the family name table");
}

}  // namespace moeb
