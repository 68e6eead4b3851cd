// cuda_entry.hpp in every build: the CUDA backend module (cuda_module.hpp) is loaded on first
// use, so only a run on backend cuda maps the CUDA runtime, cuBLAS and NCCL. Without the module
// (built without CUDA), or when it cannot be loaded, the cuda backend is one clear error.
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "runtime/cuda/cuda_entry.hpp"
#include "runtime/cuda/cuda_module.hpp"

// MOEB_CUDA_MODULE_FILE, MOEB_CUDA_MODULE_BUILD_PATH and MOEB_CUDA_UNAVAILABLE_REASON come from
// CMake (src/runtime/cuda/CMakeLists.txt): the module's file name and where the build wrote it
// (both "" when this build has no CUDA backend), and why there is none.

namespace moeb {

namespace {

namespace fs = std::filesystem;

constexpr const char* kModuleFile = MOEB_CUDA_MODULE_FILE;
constexpr const char* kModuleBuildPath = MOEB_CUDA_MODULE_BUILD_PATH;

[[noreturn]] void unavailable() {
  throw ConfigError(
      "backend cuda: this moebench was built without the CUDA backend "
      "(" MOEB_CUDA_UNAVAILABLE_REASON
      "); rebuild with -DMOEB_WITH_CUDA=ON -DMOEB_WITH_NCCL=ON on a machine with the CUDA "
      "toolkit and NCCL, or use --backend cpu");
}

// Where the module is looked for: $MOEB_CUDA_MODULE alone when set; else beside the running
// executable (bin/, where the build puts both), then where this build wrote it.
std::vector<std::string> candidates() {
  if (const char* env = std::getenv("MOEB_CUDA_MODULE"); env && *env) return {env};
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back((exe.parent_path() / kModuleFile).string());
  if (*kModuleBuildPath && (out.empty() || out.front() != kModuleBuildPath))
    out.emplace_back(kModuleBuildPath);
  return out;
}

const CudaModuleEntry* load_module() {
  if (!*kModuleFile) unavailable();
  std::string looked;
  for (const std::string& path : candidates()) {
    std::error_code ec;
    if (!fs::exists(path, ec)) {
      looked += (looked.empty() ? "" : ", ") + path;
      continue;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = dlerror();
      const std::string why = e ? e : "unknown dlopen error";
      const bool library_missing = why.find("cannot open shared object") != std::string::npos;
      throw ConfigError("backend cuda: cannot load the CUDA backend module " + path + ": " + why +
                        (library_missing ? " (the CUDA runtime, cuBLAS and NCCL it links must be "
                                           "on the library path: LD_LIBRARY_PATH, or module "
                                           "load cuda/nccl)"
                                         : ""));
    }
    using EntryFn = const CudaModuleEntry* (*)();
    auto entry_fn = reinterpret_cast<EntryFn>(dlsym(handle, "moeb_cuda_module_entry"));
    const CudaModuleEntry* entry = entry_fn ? entry_fn() : nullptr;
    if (entry == nullptr || entry->abi != kCudaModuleAbi ||
        entry->backend_options_bytes != sizeof(BackendOptions))
      throw ConfigError("backend cuda: " + path +
                        " is not the CUDA backend module of this moebench (another build or "
                        "version); rebuild, or point MOEB_CUDA_MODULE at this build's");
    return entry;  // never unloaded: the backend's code lives there until the process ends
  }
  throw ConfigError("backend cuda: the CUDA backend module " + std::string(kModuleFile) +
                    " was not found (looked for " + looked +
                    "); keep it beside the moebench executable or set MOEB_CUDA_MODULE");
}

// Loaded once; a failure is thrown again to every caller (the same line each time).
const CudaModuleEntry& module() {
  struct Loaded {
    const CudaModuleEntry* entry = nullptr;
    std::string error;
  };
  static const Loaded loaded = [] {
    try {
      return Loaded{load_module(), ""};
    } catch (const ConfigError& e) {
      return Loaded{nullptr, e.what()};
    }
  }();
  if (loaded.entry == nullptr) throw ConfigError(loaded.error);
  return *loaded.entry;
}

}  // namespace

bool cuda_backend_built() { return *kModuleFile != '\0'; }

std::unique_ptr<Backend> make_cuda_backend(const BackendOptions& opt) {
  return module().make_backend(opt);
}

std::unique_ptr<Transport> make_cuda_transport(Backend& backend, MPI_Comm comm) {
  return module().make_transport(backend, comm);
}

std::vector<std::pair<std::string, std::string>> cuda_provenance(const Backend* backend) {
  if (!cuda_backend_built()) return {};
  return module().provenance(backend);
}

}  // namespace moeb
