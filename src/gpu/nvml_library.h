// A run-time loaded NVML library: dlopen plus one dlsym per function. A symbol the library
// lacks stays null, and the reader treats what needs it as unsupported. Internal to src/gpu.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "gpu/nvml.h"

namespace gpuscale::gpu {

// X(name): every NVML function gpuscale may call.
#define GPUSCALE_NVML_FUNCTIONS(X)                \
  X(nvmlInit_v2)                                  \
  X(nvmlShutdown)                                 \
  X(nvmlErrorString)                              \
  X(nvmlSystemGetDriverVersion)                   \
  X(nvmlDeviceGetCount_v2)                        \
  X(nvmlDeviceGetHandleByIndex_v2)                \
  X(nvmlDeviceGetHandleByUUID)                    \
  X(nvmlDeviceGetUUID)                            \
  X(nvmlDeviceGetName)                            \
  X(nvmlDeviceGetIndex)                           \
  X(nvmlDeviceGetMinorNumber)                     \
  X(nvmlDeviceGetPciInfo_v3)                      \
  X(nvmlDeviceGetUtilizationRates)                \
  X(nvmlDeviceGetMemoryInfo)                      \
  X(nvmlDeviceGetMemoryInfo_v2)                   \
  X(nvmlDeviceGetPowerUsage)                      \
  X(nvmlDeviceGetTotalEnergyConsumption)          \
  X(nvmlDeviceGetTemperature)                     \
  X(nvmlDeviceGetClockInfo)                       \
  X(nvmlDeviceGetEncoderUtilization)              \
  X(nvmlDeviceGetDecoderUtilization)              \
  X(nvmlDeviceGetPcieReplayCounter)               \
  X(nvmlDeviceGetRemappedRows)                    \
  X(nvmlDeviceGetFieldValues)                     \
  X(nvmlDeviceGetMigMode)                         \
  X(nvmlDeviceGetMaxMigDeviceCount)               \
  X(nvmlDeviceGetMigDeviceHandleByIndex)          \
  X(nvmlDeviceGetDeviceHandleFromMigDeviceHandle) \
  X(nvmlDeviceGetGpuInstanceId)                   \
  X(nvmlDeviceGetGpuInstanceById)                 \
  X(nvmlGpuInstanceGetInfo)                       \
  X(nvmlDeviceGetGpuInstanceProfileInfo)          \
  X(nvmlEventSetCreate)                           \
  X(nvmlDeviceRegisterEvents)                     \
  X(nvmlEventSetWait_v2)                          \
  X(nvmlEventSetFree)                             \
  X(nvmlGpmQueryDeviceSupport)                    \
  X(nvmlGpmSampleAlloc)                           \
  X(nvmlGpmSampleFree)                            \
  X(nvmlGpmSampleGet)                             \
  X(nvmlGpmMigSampleGet)                          \
  X(nvmlGpmMetricsGet)

// The loaded library. Move-only; dlcloses on destruction. NVML itself is thread-safe.
class NvmlLibrary {
 public:
  // dlopen(`path`); a bare name ("libnvidia-ml.so.1") is searched the usual way. Errors:
  // kUnavailable with dlerror's text. Fails if nvmlInit_v2 (or nvmlInit) is missing.
  static core::Result<std::unique_ptr<NvmlLibrary>> Load(const std::string& path);
  ~NvmlLibrary();
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  const std::string& path() const { return path_; }
  // nvmlErrorString, or "NVML error <code>" when the library lacks it.
  std::string ErrorString(nvmlReturn_t code) const;

#define GPUSCALE_NVML_POINTER(name) decltype(&::name) name = nullptr;
  GPUSCALE_NVML_FUNCTIONS(GPUSCALE_NVML_POINTER)
#undef GPUSCALE_NVML_POINTER

 private:
  NvmlLibrary() = default;
  void* handle_ = nullptr;
  std::string path_;
};

}  // namespace gpuscale::gpu

namespace gpuscale::gpu {
class GpuReader;
// GpuReader::Open over an already loaded library (tests use it to remove symbols).
core::Result<std::unique_ptr<GpuReader>> OpenGpuReader(std::unique_ptr<NvmlLibrary> library);
}  // namespace gpuscale::gpu
