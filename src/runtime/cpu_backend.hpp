// The CPU backend: fp32 activations in host vectors, the grouped expert FFN through the GEMM
// library of kernels/cpu/ffn_library.hpp (libxsmm over weights packed once at load_experts, or
// OpenBLAS; two GEMMs per hosted expert, the gate weight folded into the SwiGLU), a steady clock
// for timers. Scratch buffers only grow, so steady-state layers do not allocate.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/expert_weights.hpp"
#include "cpu/ffn_library.hpp"
#include "cpu/permute.hpp"
#include "runtime/backend.hpp"

namespace moeb {

class CpuBackend final : public Backend {
 public:
  // Throws ConfigError when hidden or ffn_hidden is not positive, or the FFN library is unknown.
  explicit CpuBackend(const BackendOptions& opt);

  // The expert FFN's library ("libxsmm", "openblas") and its version, for the results file.
  std::string ffn_library() const { return ffn_->name(); }
  std::vector<std::pair<std::string, std::string>> provenance() const override;

  std::string name() const override { return "cpu"; }
  int64_t dispatch_row_bytes() const override { return row_bytes(); }
  int64_t combine_row_bytes() const override { return row_bytes(); }
  void load_experts(uint64_t seed, int layer, std::span<const int32_t> experts) override;
  void set_input(std::span<const float> x, int64_t num_tokens) override;
  void prepare(const DispatchPlan& plan) override;
  void permute(const DispatchPlan& plan) override;
  const void* dispatch_source() const override { return input_.data(); }
  void permute_part(const DispatchPlan& plan, int64_t begin, int64_t end) override;
  void expert_ffn(int layer, const DispatchPlan& plan) override;
  void unpermute(const DispatchPlan& plan) override;
  void* dispatch_send() override { return dispatch_send_.data(); }
  void* dispatch_recv() override { return dispatch_recv_.data(); }
  void* combine_send() override { return combine_send_.data(); }
  void* combine_recv() override { return combine_recv_.data(); }
  void read_output(std::span<const int64_t> local_tokens, std::span<float> out) override;
  void synchronize() override {}
  void record_time(int slot) override;
  double elapsed_s(int from_slot, int to_slot) override;

  bool keeps_self_rows() const override { return true; }
  bool supports_hierarchical() const override { return true; }
  void prepare_relay(const HierPlan& plan) override;
  void relay_permute(const HierPlan& plan) override;
  void relay_unpermute(const HierPlan& plan) override;
  void* relay_send() override { return relay_send_.data(); }
  void* relay_recv() override { return input_.data() + static_cast<size_t>(num_tokens_) * hidden_; }
  void* relay_combine_send() override {
    return output_.data() + static_cast<size_t>(num_tokens_) * hidden_;
  }
  void* relay_combine_recv() override { return relay_combine_recv_.data(); }

  // Test-only fault: adds `delta` to the first element of every expert output row, so the
  // layer output is wrong while every count stays right. 0 (default) = no fault.
  void inject_fault_for_testing(float delta) { fault_delta_ = delta; }

 private:
  int64_t row_bytes() const { return static_cast<int64_t>(hidden_) * sizeof(float); }
  // Where permute writes send position p: the send buffer, or for block `me` the receive buffer.
  cpu::PermuteTarget permute_target(const DispatchPlan& plan);
  // One hosted expert packed for the FFN library. Values are core/expert_weights' (seed, layer,
  // expert).
  const cpu::ExpertFfn& weights(int layer, int expert) const;

  int hidden_, ffn_hidden_;
  std::unique_ptr<cpu::FfnLibrary> ffn_;
  std::map<std::pair<int, int>, std::unique_ptr<cpu::ExpertFfn>> weights_;  // hosted here
  // Held rows: owned tokens [0, num_tokens_), then relayed rows up to num_held_ (hierarchical).
  // Both vectors keep one spare row so relay pointers stay inside them.
  std::vector<float> input_, output_;
  int64_t num_tokens_ = 0, num_held_ = 0;
  std::vector<float> relay_send_, relay_combine_recv_;
  std::vector<float> dispatch_send_, dispatch_recv_, combine_send_, combine_recv_;
  std::vector<float> x_, y_, h13_;  // per-expert scratch of the grouped FFN
  // Send positions in token-major order (cpu::token_major_order) and its counting scratch.
  std::vector<int32_t> send_order_;
  std::vector<int64_t> order_scratch_;
  std::array<std::chrono::steady_clock::time_point, kMaxTimeSlots> stamps_{};
  float fault_delta_ = 0;
};

}  // namespace moeb
