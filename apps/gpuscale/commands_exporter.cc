// `gpuscale exporter`: dcgm-exporter's flags (and their environment variables) mapped onto
// exporter::ExporterOptions.
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

#include "apps/gpuscale/commands.h"
#include "exporter/exporter.h"

namespace gpuscale::app {
namespace {

// libgpuscale-nvml-emu.so beside the binary (installed) or in the build tree's lib/.
std::string FindEmuLibrary() {
  if (const char* env = std::getenv("GPUSCALE_NVML_EMU_LIBRARY"); env && *env) return env;
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const char* rel : {".", "../lib", "../../lib"}) {
      std::filesystem::path p = exe.parent_path() / rel / "libgpuscale-nvml-emu.so";
      if (std::filesystem::exists(p, ec)) return std::filesystem::weakly_canonical(p, ec).string();
    }
  }
  return "libgpuscale-nvml-emu.so";
}

std::string Hostname() {
  if (const char* node = std::getenv("NODE_NAME"); node && *node) return node;
  char buf[HOST_NAME_MAX + 1] = {};
  if (gethostname(buf, sizeof(buf)) != 0) return "";
  return buf;
}

}  // namespace

void RegisterExporter(CLI::App& app, core::LogOptions& log, CommandSet& commands) {
  struct Flags {
    exporter::ExporterOptions options;
    int collect_interval_ms = 30000;
    int pod_resources_interval_ms = 5000;
    std::string gpu_id_type = "uid";
    std::string emu_dir;
    bool no_hostname = false;
    std::string hostname_label = "Hostname";
    std::vector<std::string> resource_names;
  };
  auto flags = std::make_shared<Flags>();
  CLI::App* sub = app.add_subcommand(
      "exporter", "Prometheus exporter for NVIDIA GPUs, a drop-in for dcgm-exporter (:9400)");
  auto& o = flags->options;
  sub->add_option("-f,--collectors", o.collectors_file,
                  "dcgm-exporter counters CSV selecting the fields (default: dcgm-exporter's "
                  "default set)")
      ->envname("DCGM_EXPORTER_COLLECTORS");
  sub->add_option("-a,--address", o.address, "Address to listen on ([host]:port)")
      ->envname("DCGM_EXPORTER_LISTEN")
      ->capture_default_str();
  sub->add_option("-c,--collect-interval", flags->collect_interval_ms,
                  "Milliseconds between collections")
      ->envname("DCGM_EXPORTER_INTERVAL")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  sub->add_flag("-k,--kubernetes", o.collector.kubernetes,
                "Label GPUs with the pod, namespace and container holding them (kubelet "
                "pod-resources API)")
      ->envname("DCGM_EXPORTER_KUBERNETES");
  sub->add_option("--kubernetes-gpu-id-type", flags->gpu_id_type,
                  "How the device plugin names GPUs: uid (GPU UUIDs, NVIDIA's plugin) or "
                  "device-name (nvidiaN, GKE)")
      ->envname("DCGM_EXPORTER_KUBERNETES_GPU_ID_TYPE")
      ->check(CLI::IsMember({"uid", "device-name"}))
      ->capture_default_str();
  sub->add_option("--pod-resources-socket,--pod-resources-kubelet-socket",
                  o.collector.pod_resources_socket, "The kubelet pod-resources socket")
      ->envname("DCGM_POD_RESOURCES_KUBELET_SOCKET")
      ->capture_default_str();
  sub->add_option("--pod-resources-interval", flags->pod_resources_interval_ms,
                  "Milliseconds between refreshes of the cached pod map")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  sub->add_option("--nvidia-resource-names", flags->resource_names,
                  "Extra resource names that hold GPUs (besides nvidia.com/gpu, nvidia.com/mig-*)")
      ->envname("NVIDIA_RESOURCE_NAMES")
      ->delimiter(',');
  sub->add_option("--nvml-library", o.collector.nvml_library, "NVML library to load (dlopen)")
      ->capture_default_str();
  sub->add_option("--emu-dir", flags->emu_dir,
                  "Read emulated GPUs from this state directory (sets GPUSCALE_EMU_DIR and loads "
                  "libgpuscale-nvml-emu.so)");
  sub->add_flag("-n,--no-hostname", flags->no_hostname, "Omit the Hostname label")
      ->envname("DCGM_EXPORTER_NO_HOSTNAME");
  sub->add_option("--hostname-label", flags->hostname_label,
                  "Spelling of the host label: Hostname (dcgm-exporter <= 4.5.3-4.8.2) or hostname")
      ->check(CLI::IsMember({"Hostname", "hostname"}))
      ->capture_default_str();
  sub->add_flag("--replace-blanks-in-model-name", o.collector.render.replace_blanks_in_model_name,
                "Replace spaces in the modelName label with '-'")
      ->envname("DCGM_EXPORTER_REPLACE_BLANKS_IN_MODEL_NAME");
  commands.Add(sub, [flags, &log] {
    if (!SetUpLogging(log)) return 2;
    exporter::ExporterOptions options = flags->options;
    options.collector.collect_interval = std::chrono::milliseconds(flags->collect_interval_ms);
    options.collector.pod_resources_interval =
        std::chrono::milliseconds(flags->pod_resources_interval_ms);
    options.collector.render.gpu_id_type = gpu::ParseGpuIdType(flags->gpu_id_type).value();
    options.collector.render.hostname = flags->no_hostname ? "" : Hostname();
    options.collector.render.hostname_label = flags->hostname_label;
    options.collector.nvidia_resource_names = flags->resource_names;
    if (!flags->emu_dir.empty()) {
      setenv("GPUSCALE_EMU_DIR", flags->emu_dir.c_str(), 1);
      options.collector.nvml_library = FindEmuLibrary();
    }
    return exporter::RunExporter(std::move(options));
  });
}

}  // namespace gpuscale::app
