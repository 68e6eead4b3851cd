// What the MoE layer engine needs from a compute backend, and nothing more: buffers, permute,
// grouped expert FFN, unpermute, timers. The engine never touches activation memory itself; it
// hands the backend's buffers to the Transport and reads results back only for checking, so a
// device backend (device buffers, streams, events, grouped GEMM) implements the same interface.
// Index math (who sends what where) comes from core's DispatchPlan, shared by every backend.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/dispatch_plan.hpp"
#include "core/error.hpp"
#include "core/hier_plan.hpp"

namespace moeb {

// Construction parameters every backend understands.
struct BackendOptions {
  int hidden = 0;            // model dimension (row width of dispatch and combine)
  int ffn_hidden = 0;        // expert FFN intermediate width
  int threads_per_rank = 1;  // CPU: BLAS threads of this rank
  int local_rank = 0;        // rank within its node (device selection on GPUs)
  // CPU: the expert FFN's GEMM library (kernels/cpu/ffn_library.hpp): "auto" or a built one.
  std::string ffn_library = "auto";
};

class Backend {
 public:
  // Timestamp slots of one layer, in execution order (see record_time).
  static constexpr int kMaxTimeSlots = 16;

  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Library names and versions the backend's numbers depend on (results file provenance).
  virtual std::vector<std::pair<std::string, std::string>> provenance() const { return {}; }
  // Bytes of one token copy in dispatch and of one partial result in combine.
  virtual int64_t dispatch_row_bytes() const = 0;
  virtual int64_t combine_row_bytes() const = 0;

  // Materialises the weights of `experts` at `layer` (core/expert_weights, from `seed`), the
  // experts this rank hosts. Called before any timed work.
  virtual void load_experts(uint64_t seed, int layer, std::span<const int32_t> experts) = 0;
  // Installs this rank's owned-token inputs, [num_tokens x hidden] fp32 row-major on the host.
  // Outside timed regions.
  virtual void set_input(std::span<const float> x, int64_t num_tokens) = 0;

  // Sizes the buffers for `plan` and stages its index arrays where the kernels need them.
  virtual void prepare(const DispatchPlan& plan) = 0;
  // Gathers the owned token rows into the dispatch send buffer in plan.send_token order.
  virtual void permute(const DispatchPlan& plan) = 0;
  // Direct dispatch (layer_engine's permute_direct), optional: the held rows that permute()
  // copies from, in host memory a transport may read directly (row t = held token t,
  // dispatch_row_bytes() each; valid after prepare), or null when not supported. Then
  // permute_part(plan, begin, end) does what permute() does for send positions [begin, end)
  // only; permute() equals permute_part over every position, in any split.
  virtual const void* dispatch_source() const { return nullptr; }
  virtual void permute_part(const DispatchPlan& plan, int64_t begin, int64_t end) {
    throw Error("backend '" + name() + "' does not permute in parts");
  }
  // True when permute() writes the rows this rank sends itself (block plan.me) straight into
  // its dispatch receive buffer, and unpermute() reads its own partial results straight from
  // the combine send buffer: the transport must then not move block `me` (its count is passed
  // as 0). Counts and byte metrics are unchanged (sending to oneself is never a link).
  virtual bool keeps_self_rows() const { return false; }
  // Grouped SwiGLU FFN over plan's expert-grouped view of the dispatch receive buffer: for each
  // received row, the gate-weighted sum over its (expert, weight) pairs, written to the combine
  // send buffer (one partial result per received row).
  virtual void expert_ffn(int layer, const DispatchPlan& plan) = 0;
  // Sums the partial results in the combine receive buffer per owned token into the output.
  virtual void unpermute(const DispatchPlan& plan) = 0;

  // Buffers the Transport moves (valid after prepare, until the next prepare).
  virtual void* dispatch_send() = 0;
  virtual void* dispatch_recv() = 0;
  virtual void* combine_send() = 0;
  virtual void* combine_recv() = 0;

  // Copies the output rows of the listed owned tokens (local indices) to host memory,
  // [n x hidden]. Outside timed regions.
  virtual void read_output(std::span<const int64_t> local_tokens, std::span<float> out) = 0;

  // Waits for all queued work (no-op on the CPU). Runs before each sync probe.
  virtual void synchronize() = 0;
  // Records a timestamp into `slot` in execution order (steady clock on CPU, events on GPU);
  // elapsed_s(a, b) is valid after synchronize().
  virtual void record_time(int slot) = 0;
  virtual double elapsed_s(int from_slot, int to_slot) = 0;

  // ---- Hierarchical dispatch (optional; dispatch = "hierarchical"). ------------------------
  // Held rows: the owned tokens, then the rows relayed in by hop 1 (HierPlan). With a relay
  // prepared, permute/unpermute of plan.local work over held rows, and the held rows after the
  // owned ones are the relay's receive buffer (input) and combine send buffer (output).
  virtual bool supports_hierarchical() const { return false; }
  // Sizes the relay buffers and extends the held rows by plan.relayed(); before prepare().
  virtual void prepare_relay(const HierPlan& plan) { unsupported("prepare_relay"); }
  // Gathers owned input rows into the relay send buffer in plan.relay_send_token order.
  virtual void relay_permute(const HierPlan& plan) { unsupported("relay_permute"); }
  // Adds the relay's combine results to the owned output rows (after unpermute).
  virtual void relay_unpermute(const HierPlan& plan) { unsupported("relay_unpermute"); }
  virtual void* relay_send() { unsupported("relay_send"); }
  virtual void* relay_recv() { unsupported("relay_recv"); }
  virtual void* relay_combine_send() { unsupported("relay_combine_send"); }
  virtual void* relay_combine_recv() { unsupported("relay_combine_recv"); }

 private:
  [[noreturn]] void unsupported(const char* what) const {
    throw ConfigError("dispatch: backend '" + name() + "' does not support hierarchical dispatch (" +
                      what + ")");
  }
};

}  // namespace moeb
