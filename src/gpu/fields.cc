#include "gpu/fields.h"

#include <array>

#include "core/result.h"

namespace gpuscale::gpu {
namespace {

using K = ValueKind;
constexpr std::array kFields = {
    FieldInfo{FieldId::kDriverVersion, "DCGM_FI_DRIVER_VERSION", K::kString, "Driver Version"},
    FieldInfo{FieldId::kSmClock, "DCGM_FI_DEV_SM_CLOCK", K::kInt64, "SM clock frequency (in MHz)."},
    FieldInfo{FieldId::kMemClock, "DCGM_FI_DEV_MEM_CLOCK", K::kInt64,
              "Memory clock frequency (in MHz)."},
    FieldInfo{FieldId::kMemoryTemp, "DCGM_FI_DEV_MEMORY_TEMP", K::kInt64,
              "Memory temperature (in C)."},
    FieldInfo{FieldId::kGpuTemp, "DCGM_FI_DEV_GPU_TEMP", K::kInt64, "GPU temperature (in C)."},
    FieldInfo{FieldId::kPowerUsage, "DCGM_FI_DEV_POWER_USAGE", K::kDouble, "Power draw (in W)."},
    FieldInfo{FieldId::kTotalEnergyConsumption, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", K::kInt64,
              "Total energy consumption since boot (in mJ)."},
    FieldInfo{FieldId::kPcieReplayCounter, "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", K::kInt64,
              "Total number of PCIe retries."},
    FieldInfo{FieldId::kGpuUtil, "DCGM_FI_DEV_GPU_UTIL", K::kInt64, "GPU utilization (in %)."},
    FieldInfo{FieldId::kMemCopyUtil, "DCGM_FI_DEV_MEM_COPY_UTIL", K::kInt64,
              "Memory utilization (in %)."},
    FieldInfo{FieldId::kEncUtil, "DCGM_FI_DEV_ENC_UTIL", K::kInt64, "Encoder utilization (in %)."},
    FieldInfo{FieldId::kDecUtil, "DCGM_FI_DEV_DEC_UTIL", K::kInt64, "Decoder utilization (in %)."},
    FieldInfo{FieldId::kXidErrors, "DCGM_FI_DEV_XID_ERRORS", K::kInt64,
              "Value of the last XID error encountered."},
    FieldInfo{FieldId::kFbTotal, "DCGM_FI_DEV_FB_TOTAL", K::kInt64,
              "Total Frame Buffer of the GPU in MB."},
    FieldInfo{FieldId::kFbFree, "DCGM_FI_DEV_FB_FREE", K::kInt64,
              "Framebuffer memory free (in MiB)."},
    FieldInfo{FieldId::kFbUsed, "DCGM_FI_DEV_FB_USED", K::kInt64,
              "Framebuffer memory used (in MiB)."},
    FieldInfo{FieldId::kFbReserved, "DCGM_FI_DEV_FB_RESERVED", K::kInt64,
              "Framebuffer memory reserved (in MiB)."},
    FieldInfo{FieldId::kUncorrectableRemappedRows, "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
              K::kInt64, "Number of remapped rows for uncorrectable errors"},
    FieldInfo{FieldId::kCorrectableRemappedRows, "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", K::kInt64,
              "Number of remapped rows for correctable errors"},
    FieldInfo{FieldId::kRowRemapFailure, "DCGM_FI_DEV_ROW_REMAP_FAILURE", K::kInt64,
              "Whether remapping of rows has failed"},
    FieldInfo{FieldId::kNvlinkBandwidthTotal, "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", K::kInt64,
              "Total number of NVLink bandwidth counters for all lanes."},
    FieldInfo{FieldId::kVgpuLicenseStatus, "DCGM_FI_DEV_VGPU_LICENSE_STATUS", K::kInt64,
              "vGPU License status"},
    FieldInfo{FieldId::kProfGrEngineActive, "DCGM_FI_PROF_GR_ENGINE_ACTIVE", K::kDouble,
              "Ratio of time the graphics engine is active."},
    FieldInfo{FieldId::kProfSmActive, "DCGM_FI_PROF_SM_ACTIVE", K::kDouble,
              "The ratio of cycles an SM has at least 1 warp assigned."},
    FieldInfo{FieldId::kProfSmOccupancy, "DCGM_FI_PROF_SM_OCCUPANCY", K::kDouble,
              "The ratio of number of warps resident on an SM."},
    FieldInfo{FieldId::kProfPipeTensorActive, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", K::kDouble,
              "Ratio of cycles the tensor (HMMA) pipe is active."},
    FieldInfo{FieldId::kProfDramActive, "DCGM_FI_PROF_DRAM_ACTIVE", K::kDouble,
              "Ratio of cycles the device memory interface is active sending or receiving data."},
    FieldInfo{FieldId::kProfPipeFp64Active, "DCGM_FI_PROF_PIPE_FP64_ACTIVE", K::kDouble,
              "Ratio of cycles the fp64 pipes are active."},
    FieldInfo{FieldId::kProfPipeFp32Active, "DCGM_FI_PROF_PIPE_FP32_ACTIVE", K::kDouble,
              "Ratio of cycles the fp32 pipes are active."},
    FieldInfo{FieldId::kProfPipeFp16Active, "DCGM_FI_PROF_PIPE_FP16_ACTIVE", K::kDouble,
              "Ratio of cycles the fp16 pipes are active."},
    FieldInfo{FieldId::kProfPcieTxBytes, "DCGM_FI_PROF_PCIE_TX_BYTES", K::kInt64,
              "The rate of data transmitted over the PCIe bus - including both protocol headers "
              "and data payloads - in bytes per second."},
    FieldInfo{FieldId::kProfPcieRxBytes, "DCGM_FI_PROF_PCIE_RX_BYTES", K::kInt64,
              "The rate of data received over the PCIe bus - including both protocol headers and "
              "data payloads - in bytes per second."},
    FieldInfo{FieldId::kProfNvlinkTxBytes, "DCGM_FI_PROF_NVLINK_TX_BYTES", K::kInt64,
              "The rate of data transmitted over NVLink, not including protocol headers, in bytes "
              "per second."},
    FieldInfo{FieldId::kProfNvlinkRxBytes, "DCGM_FI_PROF_NVLINK_RX_BYTES", K::kInt64,
              "The rate of data received over NVLink, not including protocol headers, in bytes "
              "per second."},
};

}  // namespace

std::span<const FieldInfo> AllFields() { return kFields; }

const FieldInfo* FindField(std::string_view name) {
  for (const FieldInfo& f : kFields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FieldInfo& GetField(FieldId id) {
  for (const FieldInfo& f : kFields) {
    if (f.id == id) return f;
  }
  GPUSCALE_CHECK(false && "every FieldId has a catalogue entry");
  return kFields[0];
}

}  // namespace gpuscale::gpu
