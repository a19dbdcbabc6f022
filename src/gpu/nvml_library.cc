#include "gpu/nvml_library.h"

#include <dlfcn.h>
#include <fmt/format.h>

namespace gpuscale::gpu {

core::Result<std::unique_ptr<NvmlLibrary>> NvmlLibrary::Load(const std::string& path) {
  // RTLD_LOCAL keeps two loaded libraries (the driver's and the emulator) apart in tests.
  // RTLD_NODELETE: NVML's state is process-wide and outlives a handle (as the driver's does);
  // unmapping it on dlclose would orphan that state and make a later reopen start half-fresh.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    const char* err = ::dlerror();
    return core::Unavailable(
        fmt::format("cannot load NVML library {}: {}", path, err ? err : "unknown dlopen error"));
  }
  std::unique_ptr<NvmlLibrary> lib(new NvmlLibrary());
  lib->handle_ = handle;
  lib->path_ = path;
#define GPUSCALE_NVML_RESOLVE(name) \
  lib->name = reinterpret_cast<decltype(&::name)>(::dlsym(handle, #name));
  GPUSCALE_NVML_FUNCTIONS(GPUSCALE_NVML_RESOLVE)
#undef GPUSCALE_NVML_RESOLVE
  // Drivers older than the versioned symbols export the plain names with the same signatures.
  if (lib->nvmlInit_v2 == nullptr) {
    lib->nvmlInit_v2 = reinterpret_cast<decltype(&::nvmlInit_v2)>(::dlsym(handle, "nvmlInit"));
  }
  if (lib->nvmlDeviceGetCount_v2 == nullptr) {
    lib->nvmlDeviceGetCount_v2 =
        reinterpret_cast<decltype(&::nvmlDeviceGetCount_v2)>(::dlsym(handle, "nvmlDeviceGetCount"));
  }
  if (lib->nvmlDeviceGetHandleByIndex_v2 == nullptr) {
    lib->nvmlDeviceGetHandleByIndex_v2 =
        reinterpret_cast<decltype(&::nvmlDeviceGetHandleByIndex_v2)>(
            ::dlsym(handle, "nvmlDeviceGetHandleByIndex"));
  }
  if (lib->nvmlInit_v2 == nullptr || lib->nvmlDeviceGetCount_v2 == nullptr ||
      lib->nvmlDeviceGetHandleByIndex_v2 == nullptr) {
    return core::Unavailable(
        fmt::format("{} is not an NVML library: nvmlInit_v2, nvmlDeviceGetCount_v2 or "
                    "nvmlDeviceGetHandleByIndex_v2 is missing",
                    path));
  }
  return lib;
}

NvmlLibrary::~NvmlLibrary() {
  if (handle_ != nullptr) ::dlclose(handle_);
}

std::string NvmlLibrary::ErrorString(nvmlReturn_t code) const {
  if (nvmlErrorString != nullptr) {
    const char* s = nvmlErrorString(code);
    if (s != nullptr) return s;
  }
  return fmt::format("NVML error {}", code);
}

}  // namespace gpuscale::gpu
