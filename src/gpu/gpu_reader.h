// Reads GPUs through a run-time loaded NVML library (the driver's libnvidia-ml.so.1 or
// libgpuscale-nvml-emu.so: one code path). Produces plain structs; NVML types stay inside.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "gpu/fields.h"

namespace gpuscale::gpu {

// One metric entity: a whole GPU, or a MIG GPU instance (then `gpu`, `uuid`, `pci_bus_id` and
// `model_name` describe the parent, as dcgm-exporter labels them).
struct Entity {
  int gpu = 0;             // NVML index (the DCGM GPU id)
  std::string uuid;        // "GPU-..."
  std::string pci_bus_id;  // "00000000:3B:00.0"
  std::string model_name;  // nvmlDeviceGetName
  unsigned minor = 0;      // /dev/nvidia<minor>; equals `gpu` when NVML cannot tell
  std::optional<unsigned> gpu_instance_id;  // set for MIG instances
  std::string gpu_instance_profile;         // DCGM's "<slices>g.<GiB>gb", MIG only
  std::string mig_uuid;                     // "MIG-...", MIG only
};

struct EntityReading {
  Entity entity;
  // Parallel to the fields passed to Read; nullopt: unsupported or failed on this entity.
  std::vector<std::optional<double>> values;
};

struct Reading {
  std::vector<EntityReading> entities;  // GPUs that answered, in index order
  std::string driver_version;           // nvmlSystemGetDriverVersion, empty if it failed
  int gpus_lost = 0;                    // GPUs currently answering NVML_ERROR_GPU_IS_LOST
};

struct ReaderStats {
  std::map<std::string, std::uint64_t> errors_by_call;  // NVML function → failed calls
  std::uint64_t gpus_lost_total = 0;                    // transitions of a GPU into "lost"
};

// Not thread-safe: one collector thread owns it.
class GpuReader {
 public:
  // Loads `library_path`, calls nvmlInit_v2 and enumerates GPUs and MIG instances. Errors:
  // kUnavailable when the library is missing or nvmlInit fails (the message has NVML's text).
  static core::Result<std::unique_ptr<GpuReader>> Open(const std::string& library_path);
  virtual ~GpuReader() = default;

  // Reads `fields` of every entity. `now` spaces rate and GPM samples (monotonic enough).
  virtual Reading Read(std::span<const FieldId> fields, core::Timestamp now) = 0;
  virtual const std::vector<Entity>& entities() const = 0;
  // The parent GPU index and GPU-instance id of a MIG UUID ("MIG-..."), if it is one of ours.
  virtual std::optional<std::pair<int, unsigned>> ResolveMig(std::string_view mig_uuid) const = 0;
  virtual ReaderStats stats() const = 0;
};

// DCGM's name for a GPU-instance profile: "<slice_count>g.<ceil(memory_mb / 1024)>gb".
std::string MigProfileName(unsigned slice_count, unsigned long long memory_mb);

}  // namespace gpuscale::gpu
