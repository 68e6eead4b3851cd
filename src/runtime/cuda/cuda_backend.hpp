// The CUDA backend: one rank per GPU; bf16 activations in device memory, the grouped SwiGLU
// expert FFN through cuBLAS grouped GEMM (fp32 accumulation), permute/combine kernels from
// kernels/cuda, CUDA events for the phase timestamps. All work is queued on one stream; the
// NCCL transport queues the all-to-alls on the same stream (stream_ordered), so the engine's
// sync probe (synchronize + barrier) separates waiting from transfer.
#pragma once

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime_api.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/device_binding.hpp"
#include "runtime/backend.hpp"
#include "runtime/cuda/cuda_options.hpp"
#include "runtime/cuda/device_array.hpp"
#include "runtime/cuda/ffn_plan.hpp"
#include "runtime/cuda/grouped_gemm.hpp"

namespace moeb::cuda {

class CudaBackend final : public Backend {
 public:
  // Opens `device` (from choose_device) and creates the stream, cuBLAS handle and events.
  CudaBackend(const BackendOptions& opt, const CudaBackendOptions& cuda_opt, int device);
  ~CudaBackend() override;
  CudaBackend(const CudaBackend&) = delete;
  CudaBackend& operator=(const CudaBackend&) = delete;

  std::string name() const override { return "cuda"; }
  int64_t dispatch_row_bytes() const override { return row_bytes(); }
  int64_t combine_row_bytes() const override { return row_bytes(); }
  void load_experts(uint64_t seed, int layer, std::span<const int32_t> experts) override;
  void set_input(std::span<const float> x, int64_t num_tokens) override;
  void prepare(const DispatchPlan& plan) override;
  void permute(const DispatchPlan& plan) override;
  void expert_ffn(int layer, const DispatchPlan& plan) override;
  void unpermute(const DispatchPlan& plan) override;
  void* dispatch_send() override { return dispatch_send_.data(); }
  void* dispatch_recv() override { return dispatch_recv_.data(); }
  void* combine_send() override { return combine_send_.data(); }
  void* combine_recv() override { return combine_recv_.data(); }
  void read_output(std::span<const int64_t> local_tokens, std::span<float> out) override;

  // Hierarchical dispatch. Held rows [owned, held) of the input are the relay's receive
  // buffer; unpermute sums over all held rows and converts the relayed ones to bf16 into the
  // relay's combine send buffer.
  bool supports_hierarchical() const override { return true; }
  void prepare_relay(const HierPlan& plan) override;
  void relay_permute(const HierPlan& plan) override;
  void relay_unpermute(const HierPlan& plan) override;
  void* relay_send() override { return relay_send_.data(); }
  void* relay_recv() override { return input_.data() + num_tokens_ * hidden_; }
  void* relay_combine_send() override { return relay_combine_send_.data(); }
  void* relay_combine_recv() override { return relay_combine_recv_.data(); }
  void synchronize() override;
  void record_time(int slot) override;
  double elapsed_s(int from_slot, int to_slot) override;

  cudaStream_t stream() const { return stream_; }
  int device() const { return device_; }
  const CudaBackendOptions& cuda_options() const { return cuda_opt_; }

 private:
  int64_t row_bytes() const { return static_cast<int64_t>(hidden_) * sizeof(__nv_bfloat16); }
  struct LayerExperts {
    std::map<int, int> slot_of;  // expert -> slot in w13/w2
    DeviceArray<__nv_bfloat16> w13, w2;
    int slots = 0;
  };

  int hidden_, ffn_hidden_, device_;
  CudaBackendOptions cuda_opt_;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  std::array<cudaEvent_t, kMaxTimeSlots> events_{};
  std::unique_ptr<GroupedGemm> gemm_;
  std::map<int, LayerExperts> layers_;

  // Held rows: owned tokens [0, num_tokens_), then relayed rows up to num_held_ (hierarchical).
  int64_t num_tokens_ = 0, num_held_ = 0;
  DeviceArray<__nv_bfloat16> input_;
  DeviceArray<float> input_f32_, output_;
  DeviceArray<__nv_bfloat16> dispatch_send_, dispatch_recv_, combine_send_, combine_recv_;
  DeviceArray<__nv_bfloat16> xg_, act_;  // expert-grouped inputs, SwiGLU output
  DeviceArray<float> h13_, yg_;          // up-projection output, down-projection output
  DeviceArray<char> l2_scratch_;
  size_t l2_bytes_ = 0;

  // Plan staged by prepare().
  FfnGemms gemms_;
  CsrGather expert_combine_, token_combine_;
  DeviceArray<int32_t> d_send_token_, d_expert_row_, d_expert_index_, d_token_index_;
  DeviceArray<int64_t> d_expert_offsets_, d_token_offsets_;
  DeviceArray<float> d_expert_weight_;
  int64_t rows_sent_ = 0, rows_received_ = 0, rows_computed_ = 0;
  // Relay (hierarchical hop 1) staged by prepare_relay().
  DeviceArray<__nv_bfloat16> relay_send_, relay_combine_send_, relay_combine_recv_;
  DeviceArray<int32_t> d_relay_token_, d_relay_index_;
  DeviceArray<int64_t> d_relay_offsets_;
  int64_t relay_rows_sent_ = 0;
  std::vector<float> host_out_;
};

}  // namespace moeb::cuda
