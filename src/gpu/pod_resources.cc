#include "gpu/pod_resources.h"

#include <fmt/format.h>

#include <cstdlib>

namespace gpuscale::gpu {

core::Result<GpuIdType> ParseGpuIdType(std::string_view text) {
  if (text == "uid") return GpuIdType::kUid;
  if (text == "device-name") return GpuIdType::kDeviceName;
  return core::InvalidArgument(
      fmt::format("--kubernetes-gpu-id-type: expected uid or device-name, found '{}'", text));
}

bool IsGpuResource(std::string_view resource_name,
                   const std::vector<std::string>& extra_resource_names) {
  if (resource_name == "nvidia.com/gpu" || resource_name.starts_with("nvidia.com/mig-")) {
    return true;
  }
  for (const std::string& r : extra_resource_names) {
    if (r == resource_name) return true;
  }
  return false;
}

namespace {

// Parses "nvidia<N>/gi<M>" optionally followed by "/vgpu<K>" (GKE's MIG device IDs).
std::optional<std::pair<unsigned, unsigned>> ParseGkeMig(std::string_view id) {
  auto digits = [](std::string_view s, size_t* pos, unsigned* out) {
    size_t start = *pos;
    unsigned v = 0;
    while (*pos < s.size() && s[*pos] >= '0' && s[*pos] <= '9') {
      v = v * 10 + static_cast<unsigned>(s[*pos] - '0');
      ++*pos;
    }
    *out = v;
    return *pos > start;
  };
  if (!id.starts_with("nvidia")) return std::nullopt;
  size_t pos = 6;
  unsigned n = 0, m = 0, k = 0;
  if (!digits(id, &pos, &n) || id.substr(pos, 3) != "/gi") return std::nullopt;
  pos += 3;
  if (!digits(id, &pos, &m)) return std::nullopt;
  if (pos == id.size()) return std::pair(n, m);
  if (id.substr(pos, 5) != "/vgpu") return std::nullopt;
  pos += 5;
  if (!digits(id, &pos, &k) || pos != id.size()) return std::nullopt;
  return std::pair(n, m);
}

}  // namespace

PodMap BuildPodMap(const std::vector<ContainerDevices>& containers, const MigResolver& resolve_mig,
                   const std::vector<std::string>& extra_resource_names) {
  PodMap map;
  for (const ContainerDevices& c : containers) {
    if (!IsGpuResource(c.resource_name, extra_resource_names)) continue;
    PodInfo info{c.pod, c.namespace_, c.container};
    for (const std::string& raw : c.device_ids) {
      std::string_view id = raw;
      if (id.starts_with("MIG-")) {
        std::string_view mig = id.substr(0, id.find("::"));
        if (resolve_mig) {
          if (auto parent = resolve_mig(mig)) {
            map[fmt::format("{}-{}", parent->first, parent->second)] = info;
          }
        }
        map[std::string(mig.substr(4))] = info;
      } else if (auto gke = ParseGkeMig(id)) {
        map[fmt::format("{}-{}", gke->first, gke->second)] = info;
      } else if (size_t v = id.find("/vgpu"); v != std::string_view::npos) {
        map[std::string(id.substr(0, v))] = info;
      } else if (size_t r = id.find("::"); r != std::string_view::npos) {
        map[std::string(id.substr(0, r))] = info;
      }
      map[raw] = info;
    }
  }
  return map;
}

std::string EntityKey(const Entity& entity, GpuIdType type) {
  if (entity.gpu_instance_id) return fmt::format("{}-{}", entity.gpu, *entity.gpu_instance_id);
  if (type == GpuIdType::kUid) return entity.uuid;
  return fmt::format("nvidia{}", entity.gpu);
}

std::optional<PodInfo> LookupPod(const PodMap& map, const Entity& entity, GpuIdType type) {
  if (map.empty()) return std::nullopt;
  auto find = [&](const std::string& key) -> const PodInfo* {
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
  };
  if (const PodInfo* p = find(EntityKey(entity, type))) return *p;
  if (entity.gpu_instance_id) {
    if (!entity.mig_uuid.empty() && entity.mig_uuid.starts_with("MIG-")) {
      if (const PodInfo* p = find(entity.mig_uuid.substr(4))) return *p;
    }
    return std::nullopt;
  }
  if (const PodInfo* p = find(entity.uuid)) return *p;
  if (const PodInfo* p = find(fmt::format("nvidia{}", entity.minor))) return *p;
  if (const PodInfo* p = find(fmt::format("nvidia{}", entity.gpu))) return *p;
  return std::nullopt;
}

}  // namespace gpuscale::gpu
