// One rank per GPU: which device a rank opens, from its node-local rank and what each local rank
// can see. Pure (no CUDA, no MPI): the CUDA backend gathers the inputs (MPI shared-memory split,
// cudaGetDeviceCount, environment) and calls choose_device().
//
// Two deployments are recognised:
//  - shared view: every rank of the node sees the same devices (CUDA_VISIBLE_DEVICES unset or
//    equal everywhere, e.g. `srun --gpus-per-node=4` or mpirun). Rank with local index i opens
//    device i; more local ranks than devices is an error (two ranks would share a GPU).
//  - per-task view: Slurm `--gpus-per-task=N` (or a wrapper script) gives each rank its own
//    CUDA_VISIBLE_DEVICES. Each rank opens its device 0; views that overlap (two ranks listing
//    the same physical GPU) are an error.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace moeb {

// One local rank's view of the node's devices.
struct DeviceView {
  // CUDA_VISIBLE_DEVICES as set for that rank; nullopt when unset (all devices visible).
  std::optional<std::string> cuda_visible_devices;
  int device_count = 0;     // what cudaGetDeviceCount returned for that rank (0 on failure)
  std::string count_error;  // why the count is 0 ("cudaErrorNoDevice: no CUDA-capable ..."), or ""
};

struct BindingInput {
  int local_rank = 0;             // this rank's index within its node (MPI shared-memory split)
  std::vector<DeviceView> views;  // one per local rank, indexed by local rank (size = local size)
  int gpus_per_task = 0;          // SLURM_GPUS_PER_TASK (0 = not set)
  std::string host;               // for messages
};

struct DeviceBinding {
  int device = 0;  // index to pass to cudaSetDevice (in this rank's own view)
  bool per_task_view = false;
  std::string describe;  // "local rank 1 of 4 -> device 1 (shared view of 4 devices)"
};

// Entries of a CUDA_VISIBLE_DEVICES value: "0,1", "GPU-<uuid>,MIG-<uuid>", "" (none). Entries
// are trimmed; CUDA ignores everything from the first empty or invalid entry on, and so do we
// (an entry is valid when it is a non-negative integer or starts with "GPU-" or "MIG-").
std::vector<std::string> parse_visible_devices(const std::string& value);

// Chooses this rank's device. Throws ConfigError with one line ("no CUDA device visible: ...",
// "4 ranks on node h but only 2 GPUs visible: ...", "overlapping CUDA_VISIBLE_DEVICES ...").
DeviceBinding choose_device(const BindingInput& in);

// The node-local rank Slurm reports (SLURM_LOCALID), or, outside Slurm, Open MPI's / MPICH's
// (OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID); nullopt when none is set. `getenv_fn` returns
// nullptr for unset names (std::getenv in production, a map in tests).
std::optional<int> local_rank_from_env(const std::function<const char*(const char*)>& getenv_fn);

// SLURM_GPUS_PER_TASK as an integer ("2" or "a100:2" -> 2); 0 when unset or unparsable.
int gpus_per_task_from_env(const std::function<const char*(const char*)>& getenv_fn);

}  // namespace moeb
