#include "runtime/cpu_backend.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "cpu/expert_ffn.hpp"
#include "cpu/permute.hpp"

namespace moeb {

namespace {
// Grows `v` to at least n elements; contents are not preserved semantics-wise (scratch).
void ensure_size(std::vector<float>& v, size_t n) {
  if (v.size() < n) v.resize(n);
}
}  // namespace

CpuBackend::CpuBackend(const BackendOptions& opt)
    : hidden_(opt.hidden), ffn_hidden_(opt.ffn_hidden) {
  if (hidden_ <= 0 || ffn_hidden_ <= 0)
    throw ConfigError("cpu backend: hidden and ffn_hidden must be positive (got " +
                      std::to_string(hidden_) + ", " + std::to_string(ffn_hidden_) + ")");
  if (opt.threads_per_rank < 1)
    throw ConfigError("cpu backend: threads_per_rank must be >= 1 (got " +
                      std::to_string(opt.threads_per_rank) + ")");
  cpu::set_blas_threads(opt.threads_per_rank);
  try {
    ffn_ = cpu::make_ffn_library(opt.ffn_library, opt.threads_per_rank);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(std::string("cpu backend: ") + e.what());
  }
}

std::vector<std::pair<std::string, std::string>> CpuBackend::provenance() const {
  return {{"cpu_ffn_library", ffn_->name()},
          {"cpu_ffn_library_version", ffn_->version()},
          {"cpu_swiglu", cpu::swiglu_rows_vectorized() ? "avx2" : "scalar"}};
}

void CpuBackend::load_experts(uint64_t seed, int layer, std::span<const int32_t> experts) {
  for (int32_t e : experts) {
    auto key = std::make_pair(layer, static_cast<int>(e));
    if (weights_.count(key) != 0) continue;
    const ExpertWeights w = make_expert_weights(seed, layer, e, hidden_, ffn_hidden_);
    weights_.emplace(key, ffn_->pack(w.w1.data(), w.w3.data(), w.w2.data(), hidden_, ffn_hidden_));
  }
}

const cpu::ExpertFfn& CpuBackend::weights(int layer, int expert) const {
  auto it = weights_.find({layer, expert});
  if (it == weights_.end())
    throw Error("cpu backend: expert " + std::to_string(expert) + " of layer " +
                std::to_string(layer) + " received rows but is not hosted on this rank");
  return *it->second;
}

void CpuBackend::set_input(std::span<const float> x, int64_t num_tokens) {
  if (x.size() != static_cast<size_t>(num_tokens) * hidden_)
    throw Error("cpu backend: input size differs from num_tokens x hidden");
  input_.assign(x.begin(), x.end());
  input_.resize(x.size() + static_cast<size_t>(hidden_));  // spare row
  num_tokens_ = num_held_ = num_tokens;
}

void CpuBackend::prepare_relay(const HierPlan& plan) {
  if (plan.owned != num_tokens_)
    throw Error("cpu backend: relay plan owns " + std::to_string(plan.owned) +
                " tokens but the input holds " + std::to_string(num_tokens_));
  const size_t H = static_cast<size_t>(hidden_);
  num_held_ = plan.held();
  input_.resize(static_cast<size_t>(num_held_ + 1) * H);
  const int64_t sent = plan.relay_send_offsets.empty() ? 0 : plan.relay_send_offsets.back();
  ensure_size(relay_send_, static_cast<size_t>(sent + 1) * H);
  ensure_size(relay_combine_recv_, static_cast<size_t>(sent + 1) * H);
}

void CpuBackend::relay_permute(const HierPlan& plan) {
  cpu::gather_rows(input_.data(), plan.relay_send_token.data(),
                   static_cast<int64_t>(plan.relay_send_token.size()), hidden_, relay_send_.data());
}

void CpuBackend::relay_unpermute(const HierPlan& plan) {
  cpu::scatter_add_rows(relay_combine_recv_.data(), plan.relay_send_token.data(),
                        static_cast<int64_t>(plan.relay_send_token.size()), hidden_,
                        output_.data());
}

void CpuBackend::prepare(const DispatchPlan& plan) {
  const size_t H = static_cast<size_t>(hidden_);
  if (plan.token_end - plan.token_begin != num_tokens_)
    throw Error("cpu backend: plan owns " + std::to_string(plan.token_end - plan.token_begin) +
                " tokens but the input holds " + std::to_string(num_tokens_));
  for (int32_t t : plan.send_token)
    if (t < 0 || t >= num_held_)
      throw Error("cpu backend: plan sends a row this rank does not hold");
  // Buffers only grow, so steady-state iterations never allocate. At least one row each so
  // data() is never null for MPI.
  ensure_size(dispatch_send_, std::max<size_t>(1, plan.rows_sent()) * H);
  ensure_size(combine_recv_, std::max<size_t>(1, plan.rows_sent()) * H);
  ensure_size(dispatch_recv_, std::max<size_t>(1, plan.rows_received()) * H);
  ensure_size(combine_send_, std::max<size_t>(1, plan.rows_received()) * H);
  output_.resize(static_cast<size_t>(num_held_ + 1) * H);  // held rows + spare row
  int64_t max_rows = 0;
  for (size_t i = 0; i + 1 < plan.expert_offsets.size(); ++i)
    max_rows = std::max(max_rows, plan.expert_offsets[i + 1] - plan.expert_offsets[i]);
  ensure_size(x_, static_cast<size_t>(max_rows) * H);
  ensure_size(y_, static_cast<size_t>(max_rows) * H);
  ensure_size(h13_, static_cast<size_t>(max_rows) * 2 * ffn_hidden_);
  cpu::token_major_order(plan.send_token.data(), plan.rows_sent(), num_held_, send_order_,
                         order_scratch_);
}

cpu::PermuteTarget CpuBackend::permute_target(const DispatchPlan& plan) {
  const size_t me = static_cast<size_t>(plan.me);
  return {dispatch_send_.data(), dispatch_recv_.data() + plan.recv_offsets[me] * hidden_,
          plan.send_offsets[me], plan.send_offsets[me + 1], hidden_};
}

// Token-major: each held row is read once and streamed to every position that sends it; the
// rows sent to this rank itself go straight to their place in the receive buffer.
void CpuBackend::permute(const DispatchPlan& plan) {
  cpu::permute_rows(input_.data(), plan.send_token.data(), send_order_.data(), plan.rows_sent(),
                    permute_target(plan));
}

// In send order (a chunk of one destination's block: its tokens ascend).
void CpuBackend::permute_part(const DispatchPlan& plan, int64_t begin, int64_t end) {
  if (begin < 0 || end < begin || end > plan.rows_sent())
    throw Error("cpu backend: permute_part range outside the plan's send rows");
  cpu::permute_range(input_.data(), plan.send_token.data(), begin, end, permute_target(plan));
}

void CpuBackend::expert_ffn(int layer, const DispatchPlan& plan) {
  const size_t H = static_cast<size_t>(hidden_);
  std::fill_n(combine_send_.begin(), static_cast<size_t>(plan.rows_received()) * H, 0.0f);
  for (size_t i = 0; i < plan.experts.size(); ++i) {
    const int64_t begin = plan.expert_offsets[i];
    const int64_t n = plan.expert_offsets[i + 1] - begin;
    if (n == 0) continue;
    const cpu::ExpertFfn& w = weights(layer, plan.experts[i]);
    const int64_t* rows = plan.expert_row.data() + begin;
    const float* gate = plan.expert_weight.data() + begin;
    bool consecutive = true;
    for (int64_t r = 1; r < n && consecutive; ++r) consecutive = rows[r] == rows[r - 1] + 1;
    if (consecutive) {
      // Rows consecutive in the receive buffer are the GEMM operand as they lie, and the second
      // GEMM accumulates the gate-weighted outputs straight into the combine buffer's rows.
      float* out = combine_send_.data() + static_cast<size_t>(rows[0]) * H;
      w.run(dispatch_recv_.data() + static_cast<size_t>(rows[0]) * H, hidden_, n, gate,
            h13_.data(), out, hidden_, true);
      if (fault_delta_ != 0)
        for (int64_t r = 0; r < n; ++r) out[static_cast<size_t>(r) * H] += fault_delta_ * gate[r];
      continue;
    }
    // Scattered rows: the library reads and adds them by index (or gathers and scatter-adds).
    w.run_rows(dispatch_recv_.data(), rows, n, gate, hidden_, x_.data(), h13_.data(), y_.data(),
               combine_send_.data());
    if (fault_delta_ != 0)
      for (int64_t r = 0; r < n; ++r)
        combine_send_[static_cast<size_t>(rows[r]) * H] += fault_delta_ * gate[r];
  }
}

void CpuBackend::unpermute(const DispatchPlan& plan) {
  std::fill_n(output_.begin(), static_cast<size_t>(num_held_) * hidden_, 0.0f);
  // Block `me` never went through the transport: this rank's own partial results are in the
  // combine send buffer at its receive offset.
  const size_t me = static_cast<size_t>(plan.me);
  const int64_t s0 = plan.send_offsets[me], s1 = plan.send_offsets[me + 1];
  const int32_t* token = plan.send_token.data();
  const size_t H = static_cast<size_t>(hidden_);
  cpu::scatter_add_rows(combine_recv_.data(), token, s0, hidden_, output_.data());
  cpu::scatter_add_rows(combine_send_.data() + static_cast<size_t>(plan.recv_offsets[me]) * H,
                        token + s0, s1 - s0, hidden_, output_.data());
  cpu::scatter_add_rows(combine_recv_.data() + static_cast<size_t>(s1) * H, token + s1,
                        plan.rows_sent() - s1, hidden_, output_.data());
}

void CpuBackend::read_output(std::span<const int64_t> local_tokens, std::span<float> out) {
  const size_t H = static_cast<size_t>(hidden_);
  if (out.size() != local_tokens.size() * H)
    throw Error("cpu backend: read_output buffer size differs from tokens x hidden");
  for (size_t i = 0; i < local_tokens.size(); ++i) {
    const int64_t t = local_tokens[i];
    if (t < 0 || t >= num_tokens_) throw Error("cpu backend: read_output token out of range");
    std::copy_n(output_.begin() + static_cast<std::ptrdiff_t>(t * hidden_), H,
                out.begin() + static_cast<std::ptrdiff_t>(i * H));
  }
}

void CpuBackend::record_time(int slot) { stamps_.at(slot) = std::chrono::steady_clock::now(); }

double CpuBackend::elapsed_s(int from_slot, int to_slot) {
  return std::chrono::duration<double>(stamps_.at(to_slot) - stamps_.at(from_slot)).count();
}

}  // namespace moeb
