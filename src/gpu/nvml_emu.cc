// libgpuscale-nvml-emu.so: the NVML subset of gpu/nvml.h over emulated GPUs described by the
// state directory $GPUSCALE_EMU_DIR (gpu/emu_state.h). Being a C library that stands in for the
// driver's, its state is process-wide, as NVML's is; it is created by nvmlInit and dropped by
// the last nvmlShutdown.
//
// Readings are derived from the shared counters: utilization is the busy-time fraction over
// the last second, from a ring of samples a library thread takes every 100 ms (as the driver
// samples continuously); power and temperature move linearly between the configured idle and
// maximum with that utilization; energy is the exact integral of that power.
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gpu/emu_state.h"
#include "gpu/nvml.h"

#define NVML_EMU_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using gpuscale::gpu::emu::Counters;
using gpuscale::gpu::emu::CountersMapping;
using gpuscale::gpu::emu::GpuConfig;

constexpr std::uint64_t kMiB = 1024ull * 1024ull;
constexpr std::int64_t kWindowNs = 1'000'000'000;      // the utilization sample period
constexpr std::int64_t kSamplePeriodNs = 100'000'000;  // ring sampling interval
constexpr std::size_t kRingSize = 16;                  // > window / period
constexpr unsigned kIdleSmClockMhz = 210;

std::int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::int64_t WallNs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Snapshot {
  std::int64_t t_ns = 0;  // CLOCK_MONOTONIC
  std::uint64_t busy = 0, sm = 0, tensor = 0, dram = 0;
};

struct EmuGpu {
  unsigned index = 0;
  std::string conf_path;
  std::string counters_path;
  std::mutex mu;  // guards everything below
  GpuConfig config;
  timespec conf_mtime{};
  ino_t conf_ino = 0;
  off_t conf_size = -1;
  std::optional<CountersMapping> counters;
  std::array<Snapshot, kRingSize> ring{};
  std::size_t ring_next = 0;
  std::size_t ring_len = 0;

  // Re-reads gpu<N>.conf when it changed, so tests can flip faults while a reader runs.
  void Refresh() {
    struct stat st {};
    if (::stat(conf_path.c_str(), &st) != 0) return;
    if (st.st_ino == conf_ino && st.st_size == conf_size &&
        st.st_mtim.tv_sec == conf_mtime.tv_sec && st.st_mtim.tv_nsec == conf_mtime.tv_nsec) {
      return;
    }
    auto parsed = gpuscale::gpu::emu::ReadConfig(conf_path);
    if (!parsed.ok()) return;  // keep the last good description
    config = std::move(parsed).value();
    conf_ino = st.st_ino;
    conf_size = st.st_size;
    conf_mtime = st.st_mtim;
  }

  void MapCounters() {
    if (counters) return;
    auto m = CountersMapping::Open(counters_path, /*create=*/false);
    if (m.ok()) counters.emplace(std::move(m).value());
  }

  Snapshot Now() {
    Snapshot s;
    s.t_ns = MonotonicNs();
    MapCounters();
    if (counters) {
      Counters* c = counters->get();
      s.busy = c->busy_ns.load(std::memory_order_relaxed);
      s.sm = c->sm_active_ns.load(std::memory_order_relaxed);
      s.tensor = c->tensor_active_ns.load(std::memory_order_relaxed);
      s.dram = c->dram_active_ns.load(std::memory_order_relaxed);
    }
    return s;
  }

  void Record(const Snapshot& s) {
    ring[ring_next] = s;
    ring_next = (ring_next + 1) % kRingSize;
    ring_len = std::min(ring_len + 1, kRingSize);
  }

  // The newest ring sample at least one window old, else the oldest one.
  const Snapshot* Reference(std::int64_t now_ns) const {
    const Snapshot* best = nullptr;
    for (std::size_t k = 0; k < ring_len; ++k) {
      const Snapshot& s = ring[(ring_next + kRingSize - 1 - k) % kRingSize];  // newest first
      best = &s;
      if (s.t_ns <= now_ns - kWindowNs) break;
    }
    return best;
  }

  // Busy fractions over the last window: {gpu, dram}.
  std::pair<double, double> Utilization() {
    Snapshot now = Now();
    const Snapshot* ref = Reference(now.t_ns);
    if (ref == nullptr || now.t_ns - ref->t_ns <= 0) return {0.0, 0.0};
    double dt = static_cast<double>(now.t_ns - ref->t_ns);
    auto frac = [&](std::uint64_t a, std::uint64_t b) {
      return b <= a ? 0.0 : std::clamp(static_cast<double>(b - a) / dt, 0.0, 1.0);
    };
    return {frac(ref->busy, now.busy), frac(ref->dram, now.dram)};
  }

  bool Unsupported(const char* feature) const {
    return std::find(config.not_supported.begin(), config.not_supported.end(), feature) !=
           config.not_supported.end();
  }
  bool HasHbm() const {
    return config.architecture == "hopper" || config.architecture == "blackwell" ||
           config.architecture == "ampere";
  }
  bool HasGpm() const {
    return config.architecture == "hopper" || config.architecture == "blackwell";
  }
};

struct GpmSample {
  EmuGpu* gpu = nullptr;
  Snapshot snapshot;
};

struct EventSet {
  int unused = 0;
};

struct State {
  std::mutex mu;  // guards refcount, gpus, the sampler thread
  int refcount = 0;
  std::vector<std::unique_ptr<EmuGpu>> gpus;
  std::thread sampler;
  std::condition_variable cv;
  bool stopping = false;

  void SampleLoop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      for (auto& g : gpus) {
        std::lock_guard gl(g->mu);
        g->Record(g->Now());
      }
      cv.wait_for(lock, std::chrono::nanoseconds(kSamplePeriodNs), [this] { return stopping; });
    }
  }
};

State& state() {
  static State* s = new State();  // never destroyed: may be used during process exit
  return *s;
}

EmuGpu* FromHandle(nvmlDevice_t device) { return reinterpret_cast<EmuGpu*>(device); }

// Locks the GPU, refreshes its description and reports a lost GPU. Use as:
//   EMU_DEVICE(device, "feature") ... g is the EmuGpu, lock is held.
#define EMU_DEVICE(device, feature)                            \
  if ((device) == nullptr) return NVML_ERROR_INVALID_ARGUMENT; \
  EmuGpu* g = FromHandle(device);                              \
  std::lock_guard lock(g->mu);                                 \
  g->Refresh();                                                \
  if (g->config.lost) return NVML_ERROR_GPU_IS_LOST;           \
  if ((feature)[0] != '\0' && g->Unsupported(feature)) return NVML_ERROR_NOT_SUPPORTED

nvmlReturn_t CopyString(const std::string& s, char* out, unsigned int length) {
  if (out == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  if (s.size() + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(out, s.c_str(), s.size() + 1);
  return NVML_SUCCESS;
}

}  // namespace

NVML_EMU_EXPORT nvmlReturn_t nvmlInit_v2(void) {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.refcount > 0) {
    ++s.refcount;
    return NVML_SUCCESS;
  }
  const char* dir = std::getenv("GPUSCALE_EMU_DIR");
  // No state directory is a machine without the driver.
  struct stat st {};
  if (dir == nullptr || dir[0] == '\0' || ::stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return NVML_ERROR_DRIVER_NOT_LOADED;
  }
  int n = gpuscale::gpu::emu::CountGpus(dir);
  std::vector<std::unique_ptr<EmuGpu>> gpus;
  for (int i = 0; i < n; ++i) {
    auto g = std::make_unique<EmuGpu>();
    g->index = static_cast<unsigned>(i);
    g->conf_path = gpuscale::gpu::emu::ConfigPath(dir, i);
    g->counters_path = gpuscale::gpu::emu::CountersPath(dir, i);
    g->Refresh();
    if (g->conf_ino == 0) return NVML_ERROR_UNKNOWN;  // unreadable description
    if (g->config.fail_init) return NVML_ERROR_DRIVER_NOT_LOADED;
    g->Record(g->Now());
    gpus.push_back(std::move(g));
  }
  s.gpus = std::move(gpus);
  s.stopping = false;
  s.sampler = std::thread([&s] { s.SampleLoop(); });
  s.refcount = 1;
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlInit(void) { return nvmlInit_v2(); }

NVML_EMU_EXPORT nvmlReturn_t nvmlShutdown(void) {
  State& s = state();
  std::thread sampler;
  {
    std::lock_guard lock(s.mu);
    if (s.refcount == 0) return NVML_ERROR_UNINITIALIZED;
    if (--s.refcount > 0) return NVML_SUCCESS;
    s.stopping = true;
    sampler = std::move(s.sampler);
  }
  s.cv.notify_all();
  if (sampler.joinable()) sampler.join();
  std::lock_guard lock(s.mu);
  if (s.refcount == 0) s.gpus.clear();
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS:
      return "Success";
    case NVML_ERROR_UNINITIALIZED:
      return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT:
      return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED:
      return "Not Supported";
    case NVML_ERROR_NOT_FOUND:
      return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE:
      return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED:
      return "Driver Not Loaded";
    case NVML_ERROR_TIMEOUT:
      return "Timeout";
    case NVML_ERROR_GPU_IS_LOST:
      return "GPU is lost";
    default:
      return "Unknown Error";
  }
}

NVML_EMU_EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  return CopyString("550.54.15-emu", version, length);
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.refcount == 0) return NVML_ERROR_UNINITIALIZED;
  if (count == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *count = static_cast<unsigned>(s.gpus.size());
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index,
                                                           nvmlDevice_t* device) {
  State& s = state();
  EmuGpu* g = nullptr;
  {
    std::lock_guard lock(s.mu);
    if (s.refcount == 0) return NVML_ERROR_UNINITIALIZED;
    if (device == nullptr || index >= s.gpus.size()) return NVML_ERROR_INVALID_ARGUMENT;
    g = s.gpus[index].get();
  }
  std::lock_guard lock(g->mu);
  g->Refresh();
  if (g->config.lost) return NVML_ERROR_GPU_IS_LOST;
  *device = reinterpret_cast<nvmlDevice_t>(g);
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetHandleByUUID(const char* uuid, nvmlDevice_t* device) {
  State& s = state();
  std::lock_guard lock(s.mu);
  if (s.refcount == 0) return NVML_ERROR_UNINITIALIZED;
  if (uuid == nullptr || device == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  for (auto& g : s.gpus) {
    std::lock_guard gl(g->mu);
    if (g->config.uuid == uuid) {
      *device = reinterpret_cast<nvmlDevice_t>(g.get());
      return NVML_SUCCESS;
    }
  }
  return NVML_ERROR_NOT_FOUND;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid,
                                               unsigned int length) {
  EMU_DEVICE(device, "");
  return CopyString(g->config.uuid, uuid, length);
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name,
                                               unsigned int length) {
  EMU_DEVICE(device, "");
  return CopyString(g->config.name, name, length);
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetIndex(nvmlDevice_t device, unsigned int* index) {
  EMU_DEVICE(device, "");
  *index = g->index;
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int* minor) {
  EMU_DEVICE(device, "");
  *minor = g->index;
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t* pci) {
  EMU_DEVICE(device, "");
  std::memset(pci, 0, sizeof(*pci));
  unsigned domain = 0, bus = 0, dev = 0, fn = 0;
  if (std::sscanf(g->config.pci_bus_id.c_str(), "%x:%x:%x.%x", &domain, &bus, &dev, &fn) != 4) {
    bus = g->index + 1;
  }
  pci->domain = domain;
  pci->bus = bus;
  pci->device = dev;
  pci->pciDeviceId = 0x27b810de;
  std::snprintf(pci->busId, sizeof(pci->busId), "%08X:%02X:%02X.0", domain, bus, dev);
  std::snprintf(pci->busIdLegacy, sizeof(pci->busIdLegacy), "%04X:%02X:%02X.0", domain, bus, dev);
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device,
                                                           nvmlUtilization_t* utilization) {
  EMU_DEVICE(device, "utilization");
  auto [gpu, dram] = g->Utilization();
  utilization->gpu = static_cast<unsigned>(gpu * 100.0 + 0.5);
  utilization->memory = static_cast<unsigned>(dram * 100.0 + 0.5);
  return NVML_SUCCESS;
}

namespace {
nvmlMemory_v2_t MemoryOf(EmuGpu* g) {
  nvmlMemory_v2_t m{};
  m.total = g->config.memory_total_mib * kMiB;
  m.reserved = (g->config.memory_total_mib / 100) * kMiB;
  g->MapCounters();
  std::uint64_t used = g->counters ? (*g->counters)->memory_used_bytes.load() : 0;
  m.used = std::min<std::uint64_t>(used, m.total - m.reserved);
  m.free = m.total - m.reserved - m.used;
  return m;
}
}  // namespace

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  EMU_DEVICE(device, "memory");
  nvmlMemory_v2_t m = MemoryOf(g);
  memory->total = m.total;
  memory->free = m.free;
  memory->used = m.used + m.reserved;  // v1 counts reserved memory as used
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device,
                                                        nvmlMemory_v2_t* memory) {
  EMU_DEVICE(device, "memory");
  if (memory->version != nvmlMemory_v2) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  *memory = MemoryOf(g);
  memory->version = nvmlMemory_v2;
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* power) {
  EMU_DEVICE(device, "power");
  double u = g->Utilization().first;
  double w = g->config.power_idle_w + (g->config.power_max_w - g->config.power_idle_w) * u;
  *power = static_cast<unsigned>(w * 1000.0 + 0.5);
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device,
                                                                 unsigned long long* energy) {
  EMU_DEVICE(device, "energy");
  g->MapCounters();
  double uptime_s = 0, busy_s = 0;
  if (g->counters) {
    Counters* c = g->counters->get();
    uptime_s = std::max<double>(0, static_cast<double>(WallNs()) - c->created_unix_ns) / 1e9;
    busy_s = static_cast<double>(c->busy_ns.load()) / 1e9;
  }
  double joules = g->config.power_idle_w * uptime_s +
                  (g->config.power_max_w - g->config.power_idle_w) * std::min(busy_s, uptime_s);
  *energy = static_cast<unsigned long long>(joules * 1000.0);
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device,
                                                      nvmlTemperatureSensors_t sensor,
                                                      unsigned int* temp) {
  EMU_DEVICE(device, "temperature");
  if (sensor != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
  double u = g->Utilization().first;
  double c = g->config.temp_idle_c + (g->config.temp_max_c - g->config.temp_idle_c) * u;
  *temp = static_cast<unsigned>(c + 0.5);
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, nvmlClockType_t type,
                                                    unsigned int* clock) {
  EMU_DEVICE(device, "clocks");
  if (type == NVML_CLOCK_MEM) {
    *clock = g->config.mem_clock_mhz;
  } else {
    *clock = g->Utilization().first > 0 ? g->config.sm_clock_max_mhz : kIdleSmClockMhz;
  }
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetEncoderUtilization(nvmlDevice_t device,
                                                             unsigned int* utilization,
                                                             unsigned int* period_us) {
  EMU_DEVICE(device, "encoder");
  *utilization = 0;
  *period_us = 167000;
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetDecoderUtilization(nvmlDevice_t device,
                                                             unsigned int* utilization,
                                                             unsigned int* period_us) {
  EMU_DEVICE(device, "decoder");
  *utilization = 0;
  *period_us = 167000;
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetPcieReplayCounter(nvmlDevice_t device,
                                                            unsigned int* value) {
  EMU_DEVICE(device, "pcie");
  *value = 0;
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t device, unsigned int* corr,
                                                       unsigned int* unc, unsigned int* pending,
                                                       unsigned int* failure) {
  EMU_DEVICE(device, "remapped_rows");
  if (!g->HasHbm()) return NVML_ERROR_NOT_SUPPORTED;
  *corr = *unc = *pending = *failure = 0;
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetFieldValues(nvmlDevice_t device, int count,
                                                      nvmlFieldValue_t* values) {
  EMU_DEVICE(device, "");
  double u = -1;
  for (int i = 0; i < count; ++i) {
    nvmlFieldValue_t& v = values[i];
    v.timestamp = WallNs() / 1000;
    v.latencyUsec = 0;
    v.nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
    switch (v.fieldId) {
      case NVML_FI_DEV_MEMORY_TEMP:
        if (g->HasHbm() && !g->Unsupported("memory_temperature")) {
          if (u < 0) u = g->Utilization().first;
          double c = g->config.temp_idle_c + (g->config.temp_max_c - g->config.temp_idle_c) * u;
          v.valueType = NVML_VALUE_TYPE_UNSIGNED_INT;
          v.value.uiVal = static_cast<unsigned>(c + 2.5);  // HBM runs a little warmer
          v.nvmlReturn = NVML_SUCCESS;
        }
        break;
      case NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX:
      case NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX:
        if (g->HasGpm() && !g->Unsupported("nvlink")) {
          v.valueType = NVML_VALUE_TYPE_UNSIGNED_LONG_LONG;
          v.value.ullVal = 0;
          v.nvmlReturn = NVML_SUCCESS;
        }
        break;
      default:
        break;
    }
  }
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t device, unsigned int* current,
                                                  unsigned int* pending) {
  EMU_DEVICE(device, "");
  if (!g->HasHbm()) return NVML_ERROR_NOT_SUPPORTED;
  *current = *pending = NVML_DEVICE_MIG_DISABLE;
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t* set) {
  if (set == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *set = reinterpret_cast<nvmlEventSet_t>(new EventSet());
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t device, unsigned long long types,
                                                      nvmlEventSet_t set) {
  EMU_DEVICE(device, "events");
  if (set == nullptr || (types & ~nvmlEventTypeXidCriticalError) != 0) {
    return NVML_ERROR_NOT_SUPPORTED;
  }
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t* data,
                                                 unsigned int timeout_ms) {
  (void)data;
  if (set == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  // Emulated GPUs raise no Xid events.
  if (timeout_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
  return NVML_ERROR_TIMEOUT;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  delete reinterpret_cast<EventSet*>(set);
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t device,
                                                       nvmlGpmSupport_t* support) {
  EMU_DEVICE(device, "");
  if (support == nullptr || support->version != NVML_GPM_SUPPORT_VERSION) {
    return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  }
  support->isSupportedDevice = g->HasGpm() && !g->Unsupported("gpm") ? 1 : 0;
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t* sample) {
  if (sample == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  *sample = reinterpret_cast<nvmlGpmSample_t>(new GpmSample());
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t sample) {
  delete reinterpret_cast<GpmSample*>(sample);
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t device, nvmlGpmSample_t sample) {
  EMU_DEVICE(device, "gpm");
  if (!g->HasGpm()) return NVML_ERROR_NOT_SUPPORTED;
  if (sample == nullptr) return NVML_ERROR_INVALID_ARGUMENT;
  auto* s = reinterpret_cast<GpmSample*>(sample);
  s->gpu = g;
  s->snapshot = g->Now();
  return NVML_SUCCESS;
}

NVML_EMU_EXPORT nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t* get) {
  if (get == nullptr || get->version != NVML_GPM_METRICS_GET_VERSION) {
    return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
  }
  auto* a = reinterpret_cast<GpmSample*>(get->sample1);
  auto* b = reinterpret_cast<GpmSample*>(get->sample2);
  if (a == nullptr || b == nullptr || a->gpu == nullptr || a->gpu != b->gpu ||
      b->snapshot.t_ns <= a->snapshot.t_ns) {
    return NVML_ERROR_INVALID_ARGUMENT;
  }
  double dt = static_cast<double>(b->snapshot.t_ns - a->snapshot.t_ns);
  auto pct = [&](std::uint64_t x, std::uint64_t y) {
    return y <= x ? 0.0 : std::clamp(static_cast<double>(y - x) / dt, 0.0, 1.0) * 100.0;
  };
  for (unsigned i = 0; i < get->numMetrics && i < NVML_GPM_METRIC_MAX; ++i) {
    nvmlGpmMetric_t& m = get->metrics[i];
    m.nvmlReturn = NVML_SUCCESS;
    switch (m.metricId) {
      case NVML_GPM_METRIC_GRAPHICS_UTIL:
        m.value = pct(a->snapshot.busy, b->snapshot.busy);
        break;
      case NVML_GPM_METRIC_SM_UTIL:
      case NVML_GPM_METRIC_SM_OCCUPANCY:
        m.value = pct(a->snapshot.sm, b->snapshot.sm);
        break;
      case NVML_GPM_METRIC_ANY_TENSOR_UTIL:
        m.value = pct(a->snapshot.tensor, b->snapshot.tensor);
        break;
      case NVML_GPM_METRIC_DRAM_BW_UTIL:
        m.value = pct(a->snapshot.dram, b->snapshot.dram);
        break;
      case NVML_GPM_METRIC_PCIE_TX_PER_SEC:
      case NVML_GPM_METRIC_PCIE_RX_PER_SEC:
      case NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC:
      case NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC:
        m.value = 0;
        break;
      default:
        m.nvmlReturn = NVML_ERROR_NOT_SUPPORTED;
        m.value = 0;
        break;
    }
  }
  return NVML_SUCCESS;
}
