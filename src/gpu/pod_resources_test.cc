#include "gpu/pod_resources.h"

#include <gtest/gtest.h>

namespace gpuscale::gpu {
namespace {

ContainerDevices C(std::string pod, std::string resource, std::vector<std::string> ids) {
  return ContainerDevices{pod, "ns-" + pod, "c-" + pod, std::move(resource), std::move(ids)};
}

std::optional<std::pair<int, unsigned>> Resolver(std::string_view mig) {
  if (mig == "MIG-aaaa-1111") return std::pair(0, 9u);
  if (mig == "MIG-bbbb-2222") return std::pair(1, 3u);
  return std::nullopt;
}

// The device-ID matching table: (device ID as the plugin reports it) → keys it must map.
struct MatchCase {
  std::string resource;
  std::string device_id;
  std::vector<std::string> keys;
};

TEST(PodMapTest, DeviceIdMatchingTable) {
  std::vector<MatchCase> cases = {
      {"nvidia.com/gpu",
       "GPU-8f3e0000-0000-4000-8000-000000000000",
       {"GPU-8f3e0000-0000-4000-8000-000000000000"}},
      {"nvidia.com/gpu", "GPU-1111::3", {"GPU-1111", "GPU-1111::3"}},  // time-slicing replica
      {"nvidia.com/gpu", "MIG-aaaa-1111", {"0-9", "aaaa-1111", "MIG-aaaa-1111"}},
      {"nvidia.com/mig-1g.10gb", "MIG-bbbb-2222::1", {"1-3", "bbbb-2222", "MIG-bbbb-2222::1"}},
      {"nvidia.com/gpu", "MIG-cccc-3333", {"cccc-3333", "MIG-cccc-3333"}},  // unknown: no index
      {"nvidia.com/gpu", "nvidia0", {"nvidia0"}},                           // GKE full GPU
      {"nvidia.com/gpu", "nvidia1/gi2", {"1-2", "nvidia1/gi2"}},
      {"nvidia.com/gpu", "nvidia3/gi4/vgpu0", {"3-4", "nvidia3/gi4/vgpu0"}},
      {"nvidia.com/gpu", "nvidia2/vgpu1", {"nvidia2", "nvidia2/vgpu1"}},  // GKE time-sharing
      {"nvidia.com/gpu", "MIG-GPU-dddd/1/0", {"GPU-dddd/1/0", "MIG-GPU-dddd/1/0"}},  // < R470
  };
  for (const MatchCase& c : cases) {
    PodMap map = BuildPodMap({C("p", c.resource, {c.device_id})}, Resolver);
    EXPECT_EQ(map.size(), c.keys.size()) << c.device_id;
    for (const std::string& k : c.keys) {
      ASSERT_TRUE(map.contains(k)) << c.device_id << " → " << k;
      EXPECT_EQ(map[k], (PodInfo{"p", "ns-p", "c-p"}));
    }
  }
}

TEST(PodMapTest, OnlyGpuResourcesCount) {
  PodMap map = BuildPodMap({C("a", "cpu", {"GPU-1"}), C("b", "example.com/fpga", {"GPU-2"}),
                            C("c", "nvidia.com/gpu.shared", {"GPU-3"})},
                           Resolver, {"nvidia.com/gpu.shared"});
  EXPECT_FALSE(map.contains("GPU-1"));
  EXPECT_FALSE(map.contains("GPU-2"));
  EXPECT_TRUE(map.contains("GPU-3"));
  EXPECT_TRUE(IsGpuResource("nvidia.com/mig-3g.40gb", {}));
  EXPECT_FALSE(IsGpuResource("amd.com/gpu", {}));
}

TEST(PodMapTest, EntityKeysAndLookup) {
  Entity gpu{2, "GPU-x", "00000000:03:00.0", "NVIDIA L4", 5, std::nullopt, "", ""};
  EXPECT_EQ(EntityKey(gpu, GpuIdType::kUid), "GPU-x");
  EXPECT_EQ(EntityKey(gpu, GpuIdType::kDeviceName), "nvidia2");
  Entity mig = gpu;
  mig.gpu_instance_id = 9;
  mig.mig_uuid = "MIG-aaaa-1111";
  EXPECT_EQ(EntityKey(mig, GpuIdType::kUid), "2-9");

  PodMap by_uuid = BuildPodMap({C("u", "nvidia.com/gpu", {"GPU-x"})}, Resolver);
  EXPECT_EQ(LookupPod(by_uuid, gpu, GpuIdType::kUid)->pod, "u");
  // device-name mode still finds a UUID allocation (the flag was wrong for this plugin).
  EXPECT_EQ(LookupPod(by_uuid, gpu, GpuIdType::kDeviceName)->pod, "u");
  // GKE reports the minor number, which may differ from the NVML index.
  PodMap by_minor = BuildPodMap({C("m", "nvidia.com/gpu", {"nvidia5"})}, Resolver);
  EXPECT_EQ(LookupPod(by_minor, gpu, GpuIdType::kDeviceName)->pod, "m");
  EXPECT_FALSE(LookupPod(by_minor, mig, GpuIdType::kDeviceName).has_value());
  PodMap by_mig = BuildPodMap({C("g", "nvidia.com/gpu", {"nvidia2/gi9"})}, Resolver);
  EXPECT_EQ(LookupPod(by_mig, mig, GpuIdType::kDeviceName)->pod, "g");
  EXPECT_FALSE(LookupPod(by_mig, gpu, GpuIdType::kUid).has_value());
  EXPECT_FALSE(LookupPod({}, gpu, GpuIdType::kUid).has_value());
}

TEST(PodMapTest, ParseGpuIdType) {
  EXPECT_EQ(*ParseGpuIdType("uid"), GpuIdType::kUid);
  EXPECT_EQ(*ParseGpuIdType("device-name"), GpuIdType::kDeviceName);
  EXPECT_EQ(ParseGpuIdType("index").error().message,
            "--kubernetes-gpu-id-type: expected uid or device-name, found 'index'");
}

}  // namespace
}  // namespace gpuscale::gpu
