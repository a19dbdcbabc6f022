#include "exporter/render.h"

#include <gtest/gtest.h>

namespace gpuscale::exporter {
namespace {

using gpu::FieldId;

CounterSet Counters(const std::string& csv) { return ParseCounters(csv, "t.csv").value(); }

gpu::Entity Gpu(int i) {
  return gpu::Entity{i,
                     "GPU-" + std::to_string(i),
                     "00000000:0" + std::to_string(i + 1) + ":00.0",
                     "NVIDIA H100 80GB HBM3",
                     static_cast<unsigned>(i),
                     std::nullopt,
                     "",
                     ""};
}

TEST(RenderTest, ValueFormatsFollowDcgmTypes) {
  std::string out;
  AppendDcgmValue(gpu::ValueKind::kDouble, 72.345, &out);
  out += ' ';
  AppendDcgmValue(gpu::ValueKind::kInt64, 81559, &out);
  out += ' ';
  AppendDcgmValue(gpu::ValueKind::kDouble, 0.5, &out);
  out += ' ';
  AppendDcgmValue(gpu::ValueKind::kInt64, 1.0e12, &out);
  EXPECT_EQ(out, "72.345000 81559 0.500000 1000000000000");
}

TEST(RenderTest, LabelOrderHostnameDriverAndPod) {
  CounterSet c = Counters(
      "DCGM_FI_DEV_GPU_UTIL, gauge, GPU utilization (in %).\n"
      "DCGM_FI_DEV_POWER_USAGE, gauge, Power draw (in W).\n"
      "DCGM_FI_DRIVER_VERSION, label, Driver Version\n");
  gpu::Reading r;
  r.driver_version = "550.54.15";
  r.entities = {{Gpu(0), {87, 350.25}}, {Gpu(1), {0, 70}}};
  gpu::PodMap pods =
      gpu::BuildPodMap({{"vllm-0", "default", "vllm", "nvidia.com/gpu", {"GPU-0"}}}, nullptr);
  RenderOptions o;
  o.hostname = "node-a";
  std::string out;
  RenderReading(c, r, &pods, o, &out);
  EXPECT_EQ(out,
            "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n"
            "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
            "DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-0\",pci_bus_id=\"00000000:01:00.0\","
            "device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-a\","
            "DCGM_FI_DRIVER_VERSION=\"550.54.15\",container=\"vllm\",namespace=\"default\","
            "pod=\"vllm-0\"} 87\n"
            "DCGM_FI_DEV_GPU_UTIL{gpu=\"1\",UUID=\"GPU-1\",pci_bus_id=\"00000000:02:00.0\","
            "device=\"nvidia1\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-a\","
            "DCGM_FI_DRIVER_VERSION=\"550.54.15\"} 0\n"
            "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).\n"
            "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n"
            "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",UUID=\"GPU-0\",pci_bus_id=\"00000000:01:00.0\","
            "device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-a\","
            "DCGM_FI_DRIVER_VERSION=\"550.54.15\",container=\"vllm\",namespace=\"default\","
            "pod=\"vllm-0\"} 350.250000\n"
            "DCGM_FI_DEV_POWER_USAGE{gpu=\"1\",UUID=\"GPU-1\",pci_bus_id=\"00000000:02:00.0\","
            "device=\"nvidia1\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node-a\","
            "DCGM_FI_DRIVER_VERSION=\"550.54.15\"} 70.000000\n");
}

TEST(RenderTest, MigLabelsComeBeforeHostname) {
  CounterSet c = Counters("DCGM_FI_DEV_FB_USED, gauge, Framebuffer memory used (in MiB).\n");
  gpu::Entity mig = Gpu(0);
  mig.gpu_instance_id = 9;
  mig.gpu_instance_profile = "1g.10gb";
  mig.mig_uuid = "MIG-abc";
  gpu::Reading r;
  r.entities = {{mig, {4096}}};
  gpu::PodMap pods =
      gpu::BuildPodMap({{"p", "n", "c", "nvidia.com/mig-1g.10gb", {"MIG-abc"}}},
                       [](std::string_view) { return std::optional(std::pair(0, 9u)); });
  RenderOptions o;
  o.hostname = "h";
  o.hostname_label = "hostname";
  std::string out;
  RenderReading(c, r, &pods, o, &out);
  EXPECT_NE(out.find("DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-0\",pci_bus_id=\"00000000:01:00.0\","
                     "device=\"nvidia0\",modelName=\"NVIDIA H100 80GB HBM3\","
                     "GPU_I_PROFILE=\"1g.10gb\",GPU_I_ID=\"9\",hostname=\"h\",container=\"c\","
                     "namespace=\"n\",pod=\"p\"} 4096\n"),
            std::string::npos)
      << out;
}

TEST(RenderTest, UnsupportedFieldsAndFamiliesAreOmitted) {
  CounterSet c = Counters(
      "DCGM_FI_DEV_GPU_UTIL, gauge, u\nDCGM_FI_DEV_MEMORY_TEMP, gauge, m\n"
      "DCGM_FI_DEV_POWER_USAGE, gauge, p\n");
  gpu::Reading r;
  r.entities = {{Gpu(0), {5, std::nullopt, std::nullopt}}, {Gpu(1), {6, std::nullopt, 20}}};
  std::string out;
  RenderReading(c, r, nullptr, RenderOptions{}, &out);
  EXPECT_EQ(out.find("MEMORY_TEMP"), std::string::npos);  // no series: no HELP/TYPE either
  EXPECT_EQ(out.find("DCGM_FI_DEV_POWER_USAGE{gpu=\"0\""), std::string::npos);
  EXPECT_NE(out.find("DCGM_FI_DEV_POWER_USAGE{gpu=\"1\""), std::string::npos);
  EXPECT_EQ(out.find("Hostname"), std::string::npos);  // no hostname configured
  EXPECT_EQ(out.find("pod="), std::string::npos);
}

TEST(RenderTest, EscapesLabelValuesAndReplacesBlanks) {
  CounterSet c = Counters("DCGM_FI_DEV_GPU_UTIL, gauge, u\n");
  gpu::Entity e = Gpu(0);
  e.model_name = "Odd \"GPU\"\\x";
  gpu::Reading r;
  r.entities = {{e, {1}}};
  std::string out;
  RenderReading(c, r, nullptr, RenderOptions{}, &out);
  EXPECT_NE(out.find("modelName=\"Odd \\\"GPU\\\"\\\\x\""), std::string::npos) << out;
  RenderOptions blanks;
  blanks.replace_blanks_in_model_name = true;
  r.entities[0].entity = Gpu(0);
  out.clear();
  RenderReading(c, r, nullptr, blanks, &out);
  EXPECT_NE(out.find("modelName=\"NVIDIA-H100-80GB-HBM3\""), std::string::npos);
}

}  // namespace
}  // namespace gpuscale::exporter
