// The exporter's collection loop: opens NVML (retrying with backoff while it is absent or
// failing), reads the selected fields of every GPU, attaches workloads from a cached
// pod-resources map, and pre-renders the whole /metrics body once per collection. Scrapes only
// copy a pointer to the last body.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "exporter/counters.h"
#include "exporter/render.h"
#include "gpu/gpu_reader.h"
#include "gpu/pod_resources.h"
#include "prom/exposition.h"

namespace gpuscale::exporter {

struct CollectorOptions {
  // dlopen'd NVML: the driver's library, or libgpuscale-nvml-emu.so.
  std::string nvml_library = "libnvidia-ml.so.1";
  // Time between collections (dcgm-exporter's -c, default 30000 ms).
  std::chrono::milliseconds collect_interval{30000};
  // First and longest wait between NVML open attempts while it fails (doubling).
  std::chrono::milliseconds nvml_retry_initial{1000};
  std::chrono::milliseconds nvml_retry_max{30000};
  // Attribute GPUs to pods through the kubelet's pod-resources API (-k/--kubernetes).
  bool kubernetes = false;
  std::string pod_resources_socket = "/var/lib/kubelet/pod-resources/kubelet.sock";
  // How often the pod map is refreshed (one List call each), and each call's timeout.
  std::chrono::milliseconds pod_resources_interval{5000};
  std::chrono::milliseconds pod_resources_timeout{5000};
  // Extra resource names that hold GPUs besides nvidia.com/gpu and nvidia.com/mig-*.
  std::vector<std::string> nvidia_resource_names;
  RenderOptions render;
};

// A cached copy of the kubelet's allocations, refreshed on its own thread.
class PodMapper {
 public:
  PodMapper(std::unique_ptr<gpu::PodResourcesClient> client, std::chrono::milliseconds interval,
            std::chrono::milliseconds timeout);
  ~PodMapper();
  // One List call now (also what the thread does each interval). Thread-safe.
  void Refresh();
  void Start();
  void Stop();

  struct Snapshot {
    std::shared_ptr<const std::vector<gpu::ContainerDevices>> containers;  // null: none yet
    std::uint64_t version = 0;  // changes whenever `containers` does
    bool up = false;            // the last call succeeded
    std::uint64_t errors = 0;   // failed calls so far
    std::string last_error;
  };
  Snapshot snapshot() const;

 private:
  std::unique_ptr<gpu::PodResourcesClient> client_;
  std::chrono::milliseconds interval_, timeout_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Snapshot snap_;
  bool stopping_ = false;
  std::thread thread_;
};

// Thread-safe: CollectOnce runs on the collection thread (or a test's), body() anywhere.
class Collector {
 public:
  // `pods` may be null (no attribution). `clock` times collections and backoff.
  Collector(CollectorOptions options, CounterSet counters, PodMapper* pods,
            const core::Clock& clock);
  ~Collector();

  // Opens NVML if it is down and a retry is due, reads, renders and publishes a new body.
  void CollectOnce();
  // Collects now and then every interval on a background thread (NVML retries in between).
  void Start();
  // Stops the thread; idempotent.
  void Stop();

  // The last rendered /metrics body (never null).
  std::shared_ptr<const std::string> body() const;
  bool nvml_up() const;
  // Number of completed collections.
  std::uint64_t collections() const;

 private:
  void Render(const gpu::Reading* reading, double duration_s);
  void Loop();

  CollectorOptions options_;
  CounterSet counters_;
  std::vector<gpu::FieldId> fields_;
  PodMapper* pods_;
  const core::Clock& clock_;

  // Collection state, owned by the collecting thread.
  std::unique_ptr<gpu::GpuReader> reader_;
  std::string nvml_error_;
  core::Timestamp next_nvml_attempt_{};
  std::chrono::milliseconds nvml_backoff_{0};
  std::uint64_t nvml_init_failures_ = 0;
  std::uint64_t pod_version_ = 0;
  std::size_t pod_entities_ = 0;
  gpu::PodMap pod_map_;
  double last_success_s_ = 0;
  prom::Histogram durations_;

  mutable std::mutex mu_;  // guards body_, nvml_up_, collections_
  std::condition_variable cv_;
  std::shared_ptr<const std::string> body_;
  bool nvml_up_ = false;
  std::uint64_t collections_ = 0;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex collect_mu_;  // one collection at a time
};

}  // namespace gpuscale::exporter
