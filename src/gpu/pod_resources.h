// Workload attribution: the kubelet pod-resources List call as plain structs, a client over
// its unix socket, and the mapping from device IDs to the pod/namespace/container holding them
// as dcgm-exporter computes it (GPU UUIDs, MIG UUIDs, GKE nvidiaN forms).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"
#include "gpu/gpu_reader.h"

namespace gpuscale::gpu {

// One container's devices of one resource, flattened from ListPodResourcesResponse.
struct ContainerDevices {
  std::string pod;
  std::string namespace_;
  std::string container;
  std::string resource_name;  // "nvidia.com/gpu"
  std::vector<std::string> device_ids;
  bool operator==(const ContainerDevices&) const = default;
};

// A pod-resources client over one gRPC channel to the kubelet's unix socket. Thread-safe.
class PodResourcesClient {
 public:
  // Does not connect yet. `max_receive_bytes` raises gRPC's 4 MiB default (busy nodes exceed it).
  static std::unique_ptr<PodResourcesClient> Create(const std::string& socket_path,
                                                    int max_receive_bytes = 64 << 20);
  virtual ~PodResourcesClient() = default;
  // Calls List. Errors: kUnavailable when the socket is missing or the call fails
  // ("<socket>: List: <gRPC message>"), kDeadlineExceeded after `timeout`.
  virtual core::Result<std::vector<ContainerDevices>> List(std::chrono::milliseconds timeout) = 0;
};

enum class GpuIdType { kUid, kDeviceName };
core::Result<GpuIdType> ParseGpuIdType(std::string_view text);  // "uid" | "device-name"

struct PodInfo {
  std::string pod;
  std::string namespace_;
  std::string container;
  bool operator==(const PodInfo&) const = default;
};

// Device key → the workload holding it.
using PodMap = std::unordered_map<std::string, PodInfo>;

// A MIG UUID ("MIG-...") → (parent GPU index, GPU-instance id), or nullopt when unknown.
using MigResolver =
    std::function<std::optional<std::pair<int, unsigned>>(std::string_view mig_uuid)>;

// True for nvidia.com/gpu, nvidia.com/mig-* and any of `extra_resource_names`.
bool IsGpuResource(std::string_view resource_name,
                   const std::vector<std::string>& extra_resource_names);

// Builds the lookup map as dcgm-exporter does: for each GPU device ID, keys for the raw ID and
// for its normalised forms: a MIG UUID → "<gpu>-<gi>" (and the UUID without "MIG-"), GKE
// "nvidia<N>/gi<M>[/vgpuK]" → "<N>-<M>", "<id>/vgpuK" → "<id>", "<id>::<replica>" → "<id>".
PodMap BuildPodMap(const std::vector<ContainerDevices>& containers, const MigResolver& resolve_mig,
                   const std::vector<std::string>& extra_resource_names = {});

// The key an entity's series is looked up with: "<gpu>-<gi>" for MIG instances, else the GPU
// UUID (kUid) or "nvidia<gpu>" (kDeviceName), as dcgm-exporter does.
std::string EntityKey(const Entity& entity, GpuIdType type);

// The workload holding `entity`: the EntityKey first, then the other forms a device plugin may
// have used (UUID, "nvidia<minor>", "nvidia<gpu>"), so a wrong --kubernetes-gpu-id-type or a
// minor number that differs from the index still attributes. nullopt: unallocated.
std::optional<PodInfo> LookupPod(const PodMap& map, const Entity& entity, GpuIdType type);

}  // namespace gpuscale::gpu
