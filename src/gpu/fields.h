// The DCGM fields gpuscale can read through NVML: their dcgm-exporter 4.8.x names, DCGM ids,
// value kinds and default HELP text. The exporter selects from this catalogue by name.
#pragma once

#include <span>
#include <string_view>

namespace gpuscale::gpu {

// DCGM field ids (dcgm_fields.h) of the fields gpuscale reads.
enum class FieldId : int {
  kDriverVersion = 1,
  kSmClock = 100,
  kMemClock = 101,
  kMemoryTemp = 140,
  kGpuTemp = 150,
  kPowerUsage = 155,
  kTotalEnergyConsumption = 156,
  kPcieReplayCounter = 202,
  kGpuUtil = 203,
  kMemCopyUtil = 204,
  kEncUtil = 206,
  kDecUtil = 207,
  kXidErrors = 230,
  kFbTotal = 250,
  kFbFree = 251,
  kFbUsed = 252,
  kFbReserved = 253,
  kCorrectableRemappedRows = 394,
  kUncorrectableRemappedRows = 393,
  kRowRemapFailure = 395,
  kNvlinkBandwidthTotal = 449,
  kVgpuLicenseStatus = 526,
  kProfGrEngineActive = 1001,
  kProfSmActive = 1002,
  kProfSmOccupancy = 1003,
  kProfPipeTensorActive = 1004,
  kProfDramActive = 1005,
  kProfPipeFp64Active = 1006,
  kProfPipeFp32Active = 1007,
  kProfPipeFp16Active = 1008,
  kProfPcieTxBytes = 1009,
  kProfPcieRxBytes = 1010,
  kProfNvlinkTxBytes = 1011,
  kProfNvlinkRxBytes = 1012,
};

// How DCGM types the value, which decides how dcgm-exporter prints it: kInt64 as Go %d,
// kDouble as Go %f (six decimals), kString only as a label value.
enum class ValueKind { kInt64, kDouble, kString };

struct FieldInfo {
  FieldId id;
  std::string_view name;  // "DCGM_FI_DEV_GPU_UTIL"
  ValueKind kind;
  std::string_view help;  // dcgm-exporter's default-counters.csv text
};

// Every field gpuscale reads, ordered by id.
std::span<const FieldInfo> AllFields();
// The field called `name`, or nullptr.
const FieldInfo* FindField(std::string_view name);
const FieldInfo& GetField(FieldId id);

}  // namespace gpuscale::gpu
