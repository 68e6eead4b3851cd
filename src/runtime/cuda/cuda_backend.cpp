#include "runtime/cuda/cuda_backend.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "kernels/cuda/moe_kernels.hpp"
#include "runtime/cuda/deterministic_values.hpp"

namespace moeb::cuda {

CudaBackend::CudaBackend(const BackendOptions& opt, const CudaBackendOptions& cuda_opt, int device)
    : hidden_(opt.hidden), ffn_hidden_(opt.ffn_hidden), device_(device), cuda_opt_(cuda_opt) {
  if (hidden_ <= 0 || ffn_hidden_ <= 0)
    throw ConfigError("cuda backend: hidden and ffn_hidden must be positive (got " +
                      std::to_string(hidden_) + ", " + std::to_string(ffn_hidden_) + ")");
  MOEB_CUDA_CHECK(cudaSetDevice(device_));
  MOEB_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  MOEB_CUBLAS_CHECK(cublasCreate(&cublas_));
  MOEB_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
  MOEB_CUBLAS_CHECK(cublasSetPointerMode(cublas_, CUBLAS_POINTER_MODE_HOST));
  for (auto& e : events_) MOEB_CUDA_CHECK(cudaEventCreate(&e));
  gemm_ = std::make_unique<GroupedGemm>(cublas_, cuda_opt_.gemm);
  if (cuda_opt_.l2_flush) {
    int l2 = 0;
    MOEB_CUDA_CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device_));
    l2_bytes_ = 2 * static_cast<size_t>(l2);  // twice the L2 so nothing of the last layer stays
    l2_scratch_.ensure(l2_bytes_);
  }
}

CudaBackend::~CudaBackend() {
  // No checks in a destructor: a failed release must not mask the error being propagated.
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  gemm_.reset();
  for (auto& e : events_)
    if (e != nullptr) cudaEventDestroy(e);
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

void CudaBackend::load_experts(uint64_t seed, int layer, std::span<const int32_t> experts) {
  LayerExperts& lx = layers_[layer];
  std::vector<int> fresh;
  for (int32_t e : experts)
    if (lx.slot_of.count(e) == 0 && std::find(fresh.begin(), fresh.end(), e) == fresh.end())
      fresh.push_back(e);
  if (fresh.empty()) return;
  const int64_t H = hidden_, F = ffn_hidden_;
  const int old_slots = lx.slots;
  const int new_slots = old_slots + static_cast<int>(fresh.size());
  // Grow: allocate new storage, keep the old slots' weights.
  DeviceArray<__nv_bfloat16> w13, w2;
  w13.ensure(static_cast<size_t>(new_slots) * H * 2 * F);
  w2.ensure(static_cast<size_t>(new_slots) * F * H);
  if (old_slots > 0) {
    MOEB_CUDA_CHECK(
        cudaMemcpyAsync(w13.data(), lx.w13.data(),
                        static_cast<size_t>(old_slots) * H * 2 * F * sizeof(__nv_bfloat16),
                        cudaMemcpyDeviceToDevice, stream_));
    MOEB_CUDA_CHECK(cudaMemcpyAsync(w2.data(), lx.w2.data(),
                                    static_cast<size_t>(old_slots) * F * H * sizeof(__nv_bfloat16),
                                    cudaMemcpyDeviceToDevice, stream_));
  }
  for (size_t i = 0; i < fresh.size(); ++i) {
    const int e = fresh[i];
    const int64_t slot = old_slots + static_cast<int64_t>(i);
    __nv_bfloat16* w13_slot = w13.data() + slot * H * 2 * F;
    // W1 and W3 ([H x F] each) interleave into the fused [H x 2F]: row h = W1[h,:] | W3[h,:].
    fill_uniform_bf16(cudaval::expert_matrix_base(seed, layer, e, ExpertMatrix::kW1),
                      cudaval::expert_matrix_scale(hidden_), H, F, 2 * F, w13_slot, stream_);
    fill_uniform_bf16(cudaval::expert_matrix_base(seed, layer, e, ExpertMatrix::kW3),
                      cudaval::expert_matrix_scale(hidden_), H, F, 2 * F, w13_slot + F, stream_);
    fill_uniform_bf16(cudaval::expert_matrix_base(seed, layer, e, ExpertMatrix::kW2),
                      cudaval::expert_matrix_scale(ffn_hidden_), F, H, H, w2.data() + slot * F * H,
                      stream_);
    lx.slot_of[e] = static_cast<int>(slot);
  }
  MOEB_CUDA_CHECK(cudaStreamSynchronize(stream_));  // old storage is freed below
  lx.w13 = std::move(w13);
  lx.w2 = std::move(w2);
  lx.slots = new_slots;
}

void CudaBackend::set_input(std::span<const float> x, int64_t num_tokens) {
  if (x.size() != static_cast<size_t>(num_tokens) * hidden_)
    throw Error("cuda backend: input size differs from num_tokens x hidden");
  num_tokens_ = num_held_ = num_tokens;
  // The staging copy is synchronous for pageable memory, so `x` may go away on return.
  input_f32_.upload(x.data(), x.size(), stream_);
  input_.ensure(x.size());
  convert_f32_to_bf16(input_f32_.data(), static_cast<int64_t>(x.size()), input_.data(), stream_);
  output_.ensure(x.size());
  relay_rows_sent_ = 0;
  if (cuda_opt_.l2_flush) flush_l2(l2_scratch_.data(), l2_bytes_, stream_);
  MOEB_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::prepare_relay(const HierPlan& plan) {
  if (plan.owned != num_tokens_)
    throw Error("cuda backend: relay plan owns " + std::to_string(plan.owned) +
                " tokens but the input holds " + std::to_string(num_tokens_));
  const size_t H = static_cast<size_t>(hidden_);
  num_held_ = plan.held();
  // The input grows to the held rows; the owned rows must survive a reallocation.
  if (static_cast<size_t>(num_held_) * H > input_.capacity()) {
    DeviceArray<__nv_bfloat16> grown;
    grown.ensure(static_cast<size_t>(num_held_) * H);
    MOEB_CUDA_CHECK(cudaMemcpyAsync(grown.data(), input_.data(),
                                    static_cast<size_t>(num_tokens_) * H * sizeof(__nv_bfloat16),
                                    cudaMemcpyDeviceToDevice, stream_));
    MOEB_CUDA_CHECK(cudaStreamSynchronize(stream_));
    input_ = std::move(grown);
  }
  output_.ensure(static_cast<size_t>(num_held_) * H);
  relay_rows_sent_ = static_cast<int64_t>(plan.relay_send_token.size());
  relay_send_.ensure(relay_rows_sent_ * H);
  relay_combine_recv_.ensure(relay_rows_sent_ * H);
  relay_combine_send_.ensure(static_cast<size_t>(plan.relayed()) * H);
  const CsrGather back = invert_rows(plan.relay_send_token, num_tokens_);
  d_relay_token_.upload(plan.relay_send_token.data(), plan.relay_send_token.size(), stream_);
  d_relay_offsets_.upload(back.offsets.data(), back.offsets.size(), stream_);
  d_relay_index_.upload(back.index.data(), back.index.size(), stream_);
  MOEB_CUDA_CHECK(cudaStreamSynchronize(stream_));  // `back` goes out of scope
}

void CudaBackend::relay_permute(const HierPlan& plan) {
  gather_rows(input_.data(), d_relay_token_.data(), relay_rows_sent_, hidden_, relay_send_.data(),
              stream_);
}

void CudaBackend::relay_unpermute(const HierPlan& plan) {
  // A token relayed to several nodes gets one partial result back from each: CSR gather-add.
  combine_rows(relay_combine_recv_.data(), d_relay_offsets_.data(), d_relay_index_.data(), nullptr,
               num_tokens_, hidden_, output_.data(), stream_, /*accumulate=*/true);
}

void CudaBackend::prepare(const DispatchPlan& plan) {
  if (plan.token_end - plan.token_begin != num_tokens_)
    throw Error("cuda backend: plan owns " + std::to_string(plan.token_end - plan.token_begin) +
                " tokens but the input holds " + std::to_string(num_tokens_));
  const size_t H = static_cast<size_t>(hidden_), F = static_cast<size_t>(ffn_hidden_);
  rows_sent_ = plan.rows_sent();
  rows_received_ = plan.rows_received();
  rows_computed_ = plan.rows_computed();
  dispatch_send_.ensure(rows_sent_ * H);
  combine_recv_.ensure(rows_sent_ * H);
  dispatch_recv_.ensure(rows_received_ * H);
  combine_send_.ensure(rows_received_ * H);
  xg_.ensure(rows_computed_ * H);
  h13_.ensure(rows_computed_ * 2 * F);
  act_.ensure(rows_computed_ * F);
  yg_.ensure(rows_computed_ * H);

  // Index arrays: host math (ffn_plan), then async uploads. The plan's host vectors outlive
  // the uploads only until prepare returns, so synchronize at the end (outside t_permute's
  // kernels, inside the gate/prepare host time the engine attributes to t_permute).
  expert_combine_ = build_expert_combine(plan);
  token_combine_ = invert_rows(plan.send_token, num_held_);  // also checks send_token < held
  const std::vector<int32_t> expert_rows = expert_rows_i32(plan);
  d_send_token_.upload(plan.send_token.data(), plan.send_token.size(), stream_);
  d_expert_row_.upload(expert_rows.data(), expert_rows.size(), stream_);
  d_expert_offsets_.upload(expert_combine_.offsets.data(), expert_combine_.offsets.size(), stream_);
  d_expert_index_.upload(expert_combine_.index.data(), expert_combine_.index.size(), stream_);
  d_expert_weight_.upload(expert_combine_.weight.data(), expert_combine_.weight.size(), stream_);
  d_token_offsets_.upload(token_combine_.offsets.data(), token_combine_.offsets.size(), stream_);
  d_token_index_.upload(token_combine_.index.data(), token_combine_.index.size(), stream_);
  MOEB_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::permute(const DispatchPlan& plan) {
  gather_rows(input_.data(), d_send_token_.data(), rows_sent_, hidden_, dispatch_send_.data(),
              stream_);
}

void CudaBackend::expert_ffn(int layer, const DispatchPlan& plan) {
  if (rows_received_ == 0) return;
  auto it = layers_.find(layer);
  if (it == layers_.end())
    throw Error("cuda backend: layer " + std::to_string(layer) +
                " received rows but load_experts was not called for it");
  const LayerExperts& lx = it->second;
  gemms_ = build_ffn_gemms(plan, lx.slot_of, hidden_, ffn_hidden_);
  // Permute into expert-grouped order, up GEMM (W1|W3), SwiGLU, down GEMM, gate-weighted sum
  // of each received row's pairs into the combine send buffer.
  gather_rows(dispatch_recv_.data(), d_expert_row_.data(), rows_computed_, hidden_, xg_.data(),
              stream_);
  gemm_->run(gemms_.up, lx.w13.data(), xg_.data(), h13_.data(), stream_);
  swiglu(h13_.data(), rows_computed_, ffn_hidden_, act_.data(), stream_);
  gemm_->run(gemms_.down, lx.w2.data(), act_.data(), yg_.data(), stream_);
  combine_rows(yg_.data(), d_expert_offsets_.data(), d_expert_index_.data(),
               d_expert_weight_.data(), rows_received_, hidden_, combine_send_.data(), stream_);
}

void CudaBackend::unpermute(const DispatchPlan& plan) {
  combine_rows(combine_recv_.data(), d_token_offsets_.data(), d_token_index_.data(), nullptr,
               num_held_, hidden_, output_.data(), stream_);
  // Relayed rows go home through the relay's combine, as bf16 rows.
  if (num_held_ > num_tokens_)
    convert_f32_to_bf16(output_.data() + num_tokens_ * hidden_, (num_held_ - num_tokens_) * hidden_,
                        relay_combine_send_.data(), stream_);
}

void CudaBackend::read_output(std::span<const int64_t> local_tokens, std::span<float> out) {
  const size_t H = static_cast<size_t>(hidden_);
  if (out.size() != local_tokens.size() * H)
    throw Error("cuda backend: read_output buffer size differs from tokens x hidden");
  for (int64_t t : local_tokens)
    if (t < 0 || t >= num_tokens_) throw Error("cuda backend: read_output token out of range");
  MOEB_CUDA_CHECK(cudaStreamSynchronize(stream_));
  for (size_t i = 0; i < local_tokens.size(); ++i)
    MOEB_CUDA_CHECK(cudaMemcpy(out.data() + i * H, output_.data() + local_tokens[i] * hidden_,
                               H * sizeof(float), cudaMemcpyDeviceToHost));
}

void CudaBackend::synchronize() { MOEB_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

void CudaBackend::record_time(int slot) {
  MOEB_CUDA_CHECK(cudaEventRecord(events_.at(static_cast<size_t>(slot)), stream_));
}

double CudaBackend::elapsed_s(int from_slot, int to_slot) {
  float ms = 0.0f;
  MOEB_CUDA_CHECK(cudaEventElapsedTime(&ms, events_.at(static_cast<size_t>(from_slot)),
                                       events_.at(static_cast<size_t>(to_slot))));
  return static_cast<double>(ms) * 1e-3;
}

}  // namespace moeb::cuda
