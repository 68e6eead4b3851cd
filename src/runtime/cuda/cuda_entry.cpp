// The CUDA backend module's entry points (cuda_module.hpp): device binding, backend, transport,
// provenance. cuda_loader.cpp reaches them through moeb_cuda_module_entry().
#include "runtime/cuda/cuda_module.hpp"

#include <cstdlib>
#include <cstring>

#include "core/device_binding.hpp"
#include "core/error.hpp"
#include "runtime/cuda/cuda_backend.hpp"
#include "runtime/cuda/cuda_provenance.hpp"
#include "kernels/cuda/error_format.hpp"
#include "runtime/cuda/nccl_transport.hpp"
#include "platform/host.hpp"
#include "platform/mpi_env.hpp"

namespace moeb {

namespace {

constexpr int kCvdBytes = 1024;  // CUDA_VISIBLE_DEVICES value exchanged per local rank

const char* env(const char* name) { return std::getenv(name); }

DeviceView own_view() {
  DeviceView v;
  if (const char* cvd = env("CUDA_VISIBLE_DEVICES")) v.cuda_visible_devices = std::string(cvd);
  const cudaError_t rc = cudaGetDeviceCount(&v.device_count);
  if (rc != cudaSuccess) {
    v.device_count = 0;
    v.count_error =
        std::string("cudaGetDeviceCount: ") + cudaGetErrorName(rc) + ": " + cudaGetErrorString(rc);
    (void)cudaGetLastError();
  }
  return v;
}

// Every local rank's view, gathered over the node's shared-memory communicator.
BindingInput gather_binding_input(const BackendOptions& opt) {
  BindingInput in;
  in.host = host_name();
  in.gpus_per_task = gpus_per_task_from_env(env);
  const DeviceView mine = own_view();
  if (!mpi::is_up()) {
    // No MPI: trust the caller's local rank and assume the other local ranks see what we see.
    in.local_rank = opt.local_rank;
    in.views.assign(static_cast<size_t>(opt.local_rank) + 1, mine);
    return in;
  }
  MPI_Comm node = mpi::node_comm(MPI_COMM_WORLD);
  int local_size = 1;
  MOEB_MPI_CHECK(MPI_Comm_rank(node, &in.local_rank));
  MOEB_MPI_CHECK(MPI_Comm_size(node, &local_size));
  // Fixed-size record per local rank: CUDA_VISIBLE_DEVICES (and whether set), device count.
  struct Record {
    int set, count;
    char cvd[kCvdBytes];
  } rec{};
  rec.set = mine.cuda_visible_devices ? 1 : 0;
  rec.count = mine.device_count;
  if (mine.cuda_visible_devices)
    std::strncpy(rec.cvd, mine.cuda_visible_devices->c_str(), kCvdBytes - 1);
  std::vector<Record> all(static_cast<size_t>(local_size));
  MOEB_MPI_CHECK(
      MPI_Allgather(&rec, sizeof(Record), MPI_BYTE, all.data(), sizeof(Record), MPI_BYTE, node));
  MOEB_MPI_CHECK(MPI_Comm_free(&node));
  for (int r = 0; r < local_size; ++r) {
    DeviceView v;
    const Record& x = all[static_cast<size_t>(r)];
    if (x.set) v.cuda_visible_devices = std::string(x.cvd);
    v.device_count = x.count;
    if (r == in.local_rank) v.count_error = mine.count_error;
    in.views.push_back(v);
  }
  return in;
}

std::unique_ptr<Backend> make_bound_backend(const BackendOptions& opt) {
  set_device_error_identity(mpi::world_rank(), host_name());
  const cuda::CudaBackendOptions cuda_opt = cuda::cuda_options_from_env(env);
  const DeviceBinding binding = choose_device(gather_binding_input(opt));
  return std::make_unique<cuda::CudaBackend>(opt, cuda_opt, binding.device);
}

std::unique_ptr<Transport> make_nccl_transport(Backend& backend, MPI_Comm comm) {
  auto* cb = dynamic_cast<cuda::CudaBackend*>(&backend);
  if (cb == nullptr)
    throw ConfigError("transport nccl: needs the cuda backend (got backend '" + backend.name() +
                      "')");
  MOEB_CUDA_CHECK(cudaSetDevice(cb->device()));
  return std::make_unique<cuda::NcclTransport>(comm, cb->stream(),
                                               cb->cuda_options().exchange_counts);
}

std::vector<std::pair<std::string, std::string>> provenance_of(const Backend* backend) {
  const auto* cb = dynamic_cast<const cuda::CudaBackend*>(backend);
  return cuda::collect_provenance(cb);
}

}  // namespace

}  // namespace moeb

extern "C" __attribute__((visibility("default"))) const moeb::CudaModuleEntry*
moeb_cuda_module_entry() {
  static const moeb::CudaModuleEntry entry = [] {
    moeb::CudaModuleEntry e;
    e.make_backend = moeb::make_bound_backend;
    e.make_transport = moeb::make_nccl_transport;
    e.provenance = moeb::provenance_of;
    return e;
  }();
  return &entry;
}
