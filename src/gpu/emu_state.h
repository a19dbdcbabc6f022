// The emulated-GPU state directory shared by `gpuscale engine` (the writer) and
// libgpuscale-nvml-emu.so (the reader). Layout of $GPUSCALE_EMU_DIR:
//   gpu<N>.conf      text, one `key = value` per line: the GPU's static description and faults
//   gpu<N>.counters  a 4 KiB binary file mapped shared by writer and reader: cumulative
//                    activity counters advanced by the engine while it computes
// N is the NVML index (0, 1, ...); indexes must be contiguous from 0.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace gpuscale::gpu::emu {

// Static description of one emulated GPU (gpu<N>.conf). Defaults describe an NVIDIA L4.
struct GpuConfig {
  std::string uuid;  // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
  std::string name = "NVIDIA L4";
  std::string serial = "1324000000000";
  std::string pci_bus_id;            // "00000000:00:03.0"; derived from the index when empty
  std::string architecture = "ada";  // ampere | ada | hopper | blackwell (GPM from hopper on)
  std::uint64_t memory_total_mib = 23034;
  double power_idle_w = 16;  // draw at 0 % utilization
  double power_max_w = 72;   // draw at 100 % utilization (also the power limit)
  double temp_idle_c = 35;
  double temp_max_c = 75;
  unsigned sm_clock_max_mhz = 2040;
  unsigned mem_clock_mhz = 6251;
  // Fault injection, read on every call so a test can flip it while the reader runs:
  bool fail_init = false;                  // nvmlInit fails while any GPU says so
  bool lost = false;                       // every call on this GPU returns NVML_ERROR_GPU_IS_LOST
  std::vector<std::string> not_supported;  // field names ("power", "temperature", ...)
};

// Shared counters (gpu<N>.counters). Writers use fetch_add; readers load. Lock-free on x86-64.
struct Counters {
  static constexpr std::uint64_t kMagic = 0x3130304d45535347ULL;  // "GSSEMU01" little-endian
  std::uint64_t magic;
  std::uint64_t created_unix_ns;                 // set when the file is created
  std::atomic<std::uint64_t> busy_ns;            // time a kernel was running (NVML utilization)
  std::atomic<std::uint64_t> sm_active_ns;       // busy time weighted by SM occupancy fraction
  std::atomic<std::uint64_t> tensor_active_ns;   // busy time weighted by tensor-core use
  std::atomic<std::uint64_t> dram_active_ns;     // busy time weighted by memory-bandwidth use
  std::atomic<std::uint64_t> memory_used_bytes;  // weights + KV cache held by the engine
  std::atomic<std::uint64_t> writer_pid;         // the engine process attached, 0 if none
};
static_assert(sizeof(Counters) <= 4096);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

std::string ConfigPath(const std::string& dir, int index);
std::string CountersPath(const std::string& dir, int index);

// Parses gpu<N>.conf text. Errors name the line: "gpu0.conf:3: unknown key 'colour'".
core::Result<GpuConfig> ParseConfig(const std::string& text, const std::string& source_name);
std::string FormatConfig(const GpuConfig& config);
core::Result<GpuConfig> ReadConfig(const std::string& path);
core::Status WriteConfig(const std::string& path, const GpuConfig& config);

// A shared, writable mapping of a counters file. Move-only; unmaps on destruction.
class CountersMapping {
 public:
  // Maps `path`; with `create`, creates and initializes it if missing.
  static core::Result<CountersMapping> Open(const std::string& path, bool create);
  CountersMapping(CountersMapping&& other) noexcept;
  CountersMapping& operator=(CountersMapping&& other) noexcept;
  CountersMapping(const CountersMapping&) = delete;
  CountersMapping& operator=(const CountersMapping&) = delete;
  ~CountersMapping();

  Counters* get() const { return counters_; }
  Counters* operator->() const { return counters_; }

 private:
  explicit CountersMapping(Counters* counters) : counters_(counters) {}
  Counters* counters_ = nullptr;
};

// Writes gpu<index>.conf (generating a UUID and PCI bus ID when empty) and creates a zeroed
// gpu<index>.counters. Creates `dir` if needed.
core::Status CreateGpu(const std::string& dir, int index, GpuConfig config);
// Number of contiguous gpu<N>.conf files from 0 in `dir`.
int CountGpus(const std::string& dir);

}  // namespace gpuscale::gpu::emu
