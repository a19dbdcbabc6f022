#include "gpu/gpu_reader.h"

#include <fmt/format.h>

#include <array>
#include <climits>
#include <cstring>
#include <unordered_map>

#include "gpu/nvml_library.h"

namespace gpuscale::gpu {

std::string MigProfileName(unsigned slice_count, unsigned long long memory_mb) {
  return fmt::format("{}g.{}gb", slice_count, (memory_mb + 1023) / 1024);
}

namespace {

using core::Timestamp;
constexpr unsigned long long kMiB = 1024ull * 1024ull;
// GPM needs its two samples more than 100 ms apart.
constexpr auto kGpmMinSpacing = std::chrono::milliseconds(100);

// The GPM metrics gpuscale asks for, and the DCGM field each feeds (value / 100 for ratios,
// MiB/s × 2^20 for byte rates).
struct GpmMapping {
  unsigned metric;
  FieldId field;
  bool bytes;
};
constexpr std::array kGpm = {
    GpmMapping{NVML_GPM_METRIC_GRAPHICS_UTIL, FieldId::kProfGrEngineActive, false},
    GpmMapping{NVML_GPM_METRIC_SM_UTIL, FieldId::kProfSmActive, false},
    GpmMapping{NVML_GPM_METRIC_SM_OCCUPANCY, FieldId::kProfSmOccupancy, false},
    GpmMapping{NVML_GPM_METRIC_ANY_TENSOR_UTIL, FieldId::kProfPipeTensorActive, false},
    GpmMapping{NVML_GPM_METRIC_DRAM_BW_UTIL, FieldId::kProfDramActive, false},
    GpmMapping{NVML_GPM_METRIC_FP64_UTIL, FieldId::kProfPipeFp64Active, false},
    GpmMapping{NVML_GPM_METRIC_FP32_UTIL, FieldId::kProfPipeFp32Active, false},
    GpmMapping{NVML_GPM_METRIC_FP16_UTIL, FieldId::kProfPipeFp16Active, false},
    GpmMapping{NVML_GPM_METRIC_PCIE_TX_PER_SEC, FieldId::kProfPcieTxBytes, true},
    GpmMapping{NVML_GPM_METRIC_PCIE_RX_PER_SEC, FieldId::kProfPcieRxBytes, true},
    GpmMapping{NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC, FieldId::kProfNvlinkTxBytes, true},
    GpmMapping{NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC, FieldId::kProfNvlinkRxBytes, true},
};

bool IsProfField(FieldId f) { return static_cast<int>(f) >= 1000 && static_cast<int>(f) < 1100; }

// Two GPM samples per entity, alternated; values from the last pair that was far enough apart.
struct GpmState {
  bool supported = false;
  std::array<nvmlGpmSample_t, 2> samples{nullptr, nullptr};
  int prev = -1;  // index of the previous sample, -1 before the first
  Timestamp prev_time{};
  std::array<std::optional<double>, kGpm.size()> values;
};

struct MigState {
  nvmlDevice_t handle = nullptr;
  Entity entity;
  GpmState gpm;
};

struct GpuState {
  nvmlDevice_t handle = nullptr;
  Entity entity;
  bool identified = false;
  bool lost = false;
  bool mig_enabled = false;
  std::vector<MigState> migs;
  GpmState gpm;
  bool xid_registered = false;
  unsigned long long last_xid = 0;
  std::optional<unsigned long long> nvlink_prev_kib;
  Timestamp nvlink_prev_time{};
};

class NvmlGpuReader final : public GpuReader {
 public:
  explicit NvmlGpuReader(std::unique_ptr<NvmlLibrary> lib) : lib_(std::move(lib)) {}
  ~NvmlGpuReader() override {
    for (GpuState& g : gpus_) {
      FreeGpm(g.gpm);
      for (MigState& m : g.migs) FreeGpm(m.gpm);
    }
    if (events_ != nullptr && lib_->nvmlEventSetFree) lib_->nvmlEventSetFree(events_);
    if (initialized_ && lib_->nvmlShutdown) lib_->nvmlShutdown();
  }

  core::Status Init() {
    nvmlReturn_t rc = lib_->nvmlInit_v2();
    if (rc != NVML_SUCCESS) {
      return core::Unavailable(
          fmt::format("nvmlInit_v2 ({}): {}", lib_->path(), lib_->ErrorString(rc)));
    }
    initialized_ = true;
    unsigned count = 0;
    rc = lib_->nvmlDeviceGetCount_v2(&count);
    if (rc != NVML_SUCCESS) {
      return core::Unavailable(fmt::format("nvmlDeviceGetCount_v2: {}", lib_->ErrorString(rc)));
    }
    if (lib_->nvmlEventSetCreate && lib_->nvmlEventSetCreate(&events_) != NVML_SUCCESS) {
      events_ = nullptr;
    }
    gpus_.resize(count);
    for (unsigned i = 0; i < count; ++i) {
      GpuState& g = gpus_[i];
      g.entity.gpu = static_cast<int>(i);
      g.entity.minor = i;
      if (!Identify(g)) g.lost = true;
    }
    return core::Status::Ok();
  }

  Reading Read(std::span<const FieldId> fields, Timestamp now) override {
    Reading r;
    if (lib_->nvmlSystemGetDriverVersion) {
      char buf[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = {};
      if (Check("nvmlSystemGetDriverVersion", lib_->nvmlSystemGetDriverVersion(buf, sizeof(buf)),
                nullptr)) {
        r.driver_version = buf;
      }
    }
    DrainEvents();
    bool want_prof = false;
    for (FieldId f : fields) want_prof |= IsProfField(f);
    for (GpuState& g : gpus_) {
      if (!g.identified && !Identify(g)) {
        ++r.gpus_lost;
        continue;
      }
      std::vector<EntityReading> out;
      bool lost = !ReadGpu(g, fields, want_prof, now, &out);
      if (lost) {
        if (!g.lost) ++stats_.gpus_lost_total;
        g.lost = true;
        ++r.gpus_lost;
        continue;
      }
      g.lost = false;
      for (EntityReading& e : out) r.entities.push_back(std::move(e));
    }
    return r;
  }

  const std::vector<Entity>& entities() const override {
    entities_.clear();
    for (const GpuState& g : gpus_) {
      if (!g.identified) continue;
      if (g.mig_enabled) {
        for (const MigState& m : g.migs) entities_.push_back(m.entity);
      } else {
        entities_.push_back(g.entity);
      }
    }
    return entities_;
  }

  std::optional<std::pair<int, unsigned>> ResolveMig(std::string_view mig_uuid) const override {
    for (const GpuState& g : gpus_) {
      for (const MigState& m : g.migs) {
        if (m.entity.mig_uuid == mig_uuid)
          return std::pair(g.entity.gpu, *m.entity.gpu_instance_id);
      }
    }
    return std::nullopt;
  }

  ReaderStats stats() const override { return stats_; }

 private:
  // Returns true on success. Counts failures other than "unsupported" by call name; marks the
  // GPU lost on NVML_ERROR_GPU_IS_LOST.
  bool Check(const char* call, nvmlReturn_t rc, bool* lost) {
    if (rc == NVML_SUCCESS) return true;
    if (rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_FUNCTION_NOT_FOUND ||
        rc == NVML_ERROR_NO_DATA) {
      return false;
    }
    ++stats_.errors_by_call[call];
    if (rc == NVML_ERROR_GPU_IS_LOST && lost != nullptr) *lost = true;
    return false;
  }
#define NVML_CALL(fn, lost, ...) (lib_->fn != nullptr && Check(#fn, lib_->fn(__VA_ARGS__), lost))

  bool Identify(GpuState& g) {
    bool lost = false;
    unsigned i = static_cast<unsigned>(g.entity.gpu);
    if (!NVML_CALL(nvmlDeviceGetHandleByIndex_v2, &lost, i, &g.handle)) return false;
    char buf[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
    if (!NVML_CALL(nvmlDeviceGetUUID, &lost, g.handle, buf, sizeof(buf))) return false;
    g.entity.uuid = buf;
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {};
    if (NVML_CALL(nvmlDeviceGetName, &lost, g.handle, name, sizeof(name))) {
      g.entity.model_name = name;
    }
    nvmlPciInfo_t pci{};
    if (NVML_CALL(nvmlDeviceGetPciInfo_v3, &lost, g.handle, &pci)) {
      g.entity.pci_bus_id = fmt::format("{:08X}:{:02X}:{:02X}.0", pci.domain, pci.bus, pci.device);
    }
    unsigned minor = 0;
    if (NVML_CALL(nvmlDeviceGetMinorNumber, &lost, g.handle, &minor)) g.entity.minor = minor;
    if (lost) return false;
    if (events_ != nullptr && lib_->nvmlDeviceRegisterEvents) {
      g.xid_registered = lib_->nvmlDeviceRegisterEvents(g.handle, nvmlEventTypeXidCriticalError,
                                                        events_) == NVML_SUCCESS;
    }
    InitGpm(g.gpm, g.handle);
    EnumerateMig(g);
    g.identified = true;
    return true;
  }

  void EnumerateMig(GpuState& g) {
    unsigned current = 0, pending = 0;
    if (!NVML_CALL(nvmlDeviceGetMigMode, nullptr, g.handle, &current, &pending) ||
        current != NVML_DEVICE_MIG_ENABLE) {
      return;
    }
    g.mig_enabled = true;
    unsigned max = 0;
    if (!NVML_CALL(nvmlDeviceGetMaxMigDeviceCount, nullptr, g.handle, &max)) return;
    for (unsigned k = 0; k < max; ++k) {
      MigState m;
      if (lib_->nvmlDeviceGetMigDeviceHandleByIndex == nullptr ||
          lib_->nvmlDeviceGetMigDeviceHandleByIndex(g.handle, k, &m.handle) != NVML_SUCCESS) {
        continue;  // NOT_FOUND: an empty slot
      }
      m.entity = g.entity;
      char buf[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
      if (NVML_CALL(nvmlDeviceGetUUID, nullptr, m.handle, buf, sizeof(buf)))
        m.entity.mig_uuid = buf;
      unsigned gi = 0;
      if (!NVML_CALL(nvmlDeviceGetGpuInstanceId, nullptr, m.handle, &gi)) continue;
      m.entity.gpu_instance_id = gi;
      m.entity.gpu_instance_profile = ProfileName(g.handle, gi);
      InitGpm(m.gpm, g.handle);
      g.migs.push_back(std::move(m));
    }
  }

  // DCGM's profile name: find the profile whose id matches the instance's, use its slice count
  // and memory size.
  std::string ProfileName(nvmlDevice_t parent, unsigned gi) {
    nvmlGpuInstance_t instance = nullptr;
    nvmlGpuInstanceInfo_t info{};
    if (!NVML_CALL(nvmlDeviceGetGpuInstanceById, nullptr, parent, gi, &instance) ||
        !NVML_CALL(nvmlGpuInstanceGetInfo, nullptr, instance, &info)) {
      return "";
    }
    for (unsigned profile = 0; profile < 16; ++profile) {
      nvmlGpuInstanceProfileInfo_t p{};
      if (lib_->nvmlDeviceGetGpuInstanceProfileInfo == nullptr ||
          lib_->nvmlDeviceGetGpuInstanceProfileInfo(parent, profile, &p) != NVML_SUCCESS) {
        continue;
      }
      if (p.id == info.profileId) return MigProfileName(p.sliceCount, p.memorySizeMB);
    }
    return "";
  }

  void InitGpm(GpmState& s, nvmlDevice_t device) {
    if (!lib_->nvmlGpmQueryDeviceSupport || !lib_->nvmlGpmSampleAlloc || !lib_->nvmlGpmMetricsGet) {
      return;
    }
    nvmlGpmSupport_t support{};
    support.version = NVML_GPM_SUPPORT_VERSION;
    if (lib_->nvmlGpmQueryDeviceSupport(device, &support) != NVML_SUCCESS ||
        !support.isSupportedDevice) {
      return;
    }
    if (lib_->nvmlGpmSampleAlloc(&s.samples[0]) != NVML_SUCCESS ||
        lib_->nvmlGpmSampleAlloc(&s.samples[1]) != NVML_SUCCESS) {
      FreeGpm(s);
      return;
    }
    s.supported = true;
  }

  void FreeGpm(GpmState& s) {
    for (nvmlGpmSample_t& sample : s.samples) {
      if (sample != nullptr && lib_->nvmlGpmSampleFree) lib_->nvmlGpmSampleFree(sample);
      sample = nullptr;
    }
    s.supported = false;
  }

  // Takes a GPM sample for a GPU (gi unset) or a MIG instance, and computes the metrics when
  // the previous sample is old enough.
  void SampleGpm(GpmState& s, nvmlDevice_t device, std::optional<unsigned> gi, Timestamp now,
                 bool* lost) {
    if (!s.supported) return;
    if (s.prev >= 0 && now - s.prev_time <= kGpmMinSpacing) return;  // keep the last values
    int cur = s.prev < 0 ? 0 : 1 - s.prev;
    bool ok = gi ? NVML_CALL(nvmlGpmMigSampleGet, lost, device, *gi, s.samples[cur])
                 : NVML_CALL(nvmlGpmSampleGet, lost, device, s.samples[cur]);
    if (!ok) return;
    if (s.prev >= 0) {
      auto get = std::make_unique<nvmlGpmMetricsGet_t>();
      std::memset(get.get(), 0, sizeof(nvmlGpmMetricsGet_t));
      get->version = NVML_GPM_METRICS_GET_VERSION;
      get->numMetrics = kGpm.size();
      get->sample1 = s.samples[s.prev];
      get->sample2 = s.samples[cur];
      for (size_t i = 0; i < kGpm.size(); ++i) get->metrics[i].metricId = kGpm[i].metric;
      if (NVML_CALL(nvmlGpmMetricsGet, lost, get.get())) {
        for (size_t i = 0; i < kGpm.size(); ++i) {
          const nvmlGpmMetric_t& m = get->metrics[i];
          if (m.nvmlReturn != NVML_SUCCESS || m.value != m.value) {  // NaN means blank
            s.values[i].reset();
          } else if (kGpm[i].bytes) {
            s.values[i] = static_cast<double>(static_cast<long long>(m.value * kMiB));
          } else {
            s.values[i] = m.value / 100.0;
          }
        }
      }
    }
    s.prev = cur;
    s.prev_time = now;
  }

  void DrainEvents() {
    if (events_ == nullptr || lib_->nvmlEventSetWait_v2 == nullptr) return;
    for (int i = 0; i < 64; ++i) {
      nvmlEventData_t data{};
      if (lib_->nvmlEventSetWait_v2(events_, &data, 0) != NVML_SUCCESS) return;
      if (!(data.eventType & nvmlEventTypeXidCriticalError)) continue;
      for (GpuState& g : gpus_) {
        if (g.handle == data.device) g.last_xid = data.eventData;
      }
    }
  }

  // Reads one GPU (and its MIG instances). Returns false if the GPU is lost.
  bool ReadGpu(GpuState& g, std::span<const FieldId> fields, bool want_prof, Timestamp now,
               std::vector<EntityReading>* out) {
    bool lost = false;
    nvmlDevice_t h = g.handle;
    // Each NVML call at most once per read, whatever number of fields it feeds.
    std::optional<nvmlUtilization_t> util;
    bool util_done = false;
    std::optional<nvmlMemory_v2_t> mem;
    bool mem_done = false;
    std::array<unsigned, 4> rows{};
    std::optional<bool> rows_ok;
    std::unordered_map<int, std::optional<double>> parent;  // field id → value

    auto utilization = [&]() -> const std::optional<nvmlUtilization_t>& {
      if (!util_done) {
        util_done = true;
        nvmlUtilization_t u{};
        if (NVML_CALL(nvmlDeviceGetUtilizationRates, &lost, h, &u)) util = u;
      }
      return util;
    };
    auto memory = [&](nvmlDevice_t dev, std::optional<nvmlMemory_v2_t>* m, bool* done) {
      if (*done) return;
      *done = true;
      nvmlMemory_v2_t v2{};
      v2.version = nvmlMemory_v2;
      if (lib_->nvmlDeviceGetMemoryInfo_v2 != nullptr) {
        nvmlReturn_t rc = lib_->nvmlDeviceGetMemoryInfo_v2(dev, &v2);
        if (rc == NVML_SUCCESS) {
          *m = v2;
          return;
        }
        if (rc != NVML_ERROR_FUNCTION_NOT_FOUND && rc != NVML_ERROR_NOT_SUPPORTED &&
            rc != NVML_ERROR_ARGUMENT_VERSION_MISMATCH) {
          Check("nvmlDeviceGetMemoryInfo_v2", rc, &lost);
          return;
        }
      }
      nvmlMemory_t v1{};
      if (NVML_CALL(nvmlDeviceGetMemoryInfo, &lost, dev, &v1)) {
        // Drivers before R510: no reserved figure.
        *m = nvmlMemory_v2_t{0, v1.total, ~0ull, v1.free, v1.used};
      }
    };
    auto device_value = [&](FieldId f) -> std::optional<double> {
      unsigned v = 0;
      unsigned period = 0;
      switch (f) {
        case FieldId::kSmClock:
          if (NVML_CALL(nvmlDeviceGetClockInfo, &lost, h, NVML_CLOCK_SM, &v)) return v;
          return std::nullopt;
        case FieldId::kMemClock:
          if (NVML_CALL(nvmlDeviceGetClockInfo, &lost, h, NVML_CLOCK_MEM, &v)) return v;
          return std::nullopt;
        case FieldId::kGpuTemp:
          if (NVML_CALL(nvmlDeviceGetTemperature, &lost, h, NVML_TEMPERATURE_GPU, &v) && v <= 200) {
            return v;
          }
          return std::nullopt;
        case FieldId::kMemoryTemp: {
          nvmlFieldValue_t fv{};
          fv.fieldId = NVML_FI_DEV_MEMORY_TEMP;
          // DCGM reads uiVal whatever the reported type (a driver bug in r545).
          if (NVML_CALL(nvmlDeviceGetFieldValues, &lost, h, 1, &fv) &&
              fv.nvmlReturn == NVML_SUCCESS && fv.value.uiVal <= 200) {
            return fv.value.uiVal;
          }
          return std::nullopt;
        }
        case FieldId::kPowerUsage:
          if (NVML_CALL(nvmlDeviceGetPowerUsage, &lost, h, &v)) return v / 1000.0;
          return std::nullopt;
        case FieldId::kTotalEnergyConsumption: {
          unsigned long long mj = 0;
          if (NVML_CALL(nvmlDeviceGetTotalEnergyConsumption, &lost, h, &mj)) {
            return static_cast<double>(mj);
          }
          return std::nullopt;
        }
        case FieldId::kPcieReplayCounter:
          if (NVML_CALL(nvmlDeviceGetPcieReplayCounter, &lost, h, &v)) return v;
          return std::nullopt;
        case FieldId::kEncUtil:
          if (NVML_CALL(nvmlDeviceGetEncoderUtilization, &lost, h, &v, &period)) return v;
          return std::nullopt;
        case FieldId::kDecUtil:
          if (NVML_CALL(nvmlDeviceGetDecoderUtilization, &lost, h, &v, &period)) return v;
          return std::nullopt;
        case FieldId::kXidErrors:
          if (g.xid_registered) return static_cast<double>(g.last_xid);
          return std::nullopt;
        case FieldId::kCorrectableRemappedRows:
        case FieldId::kUncorrectableRemappedRows:
        case FieldId::kRowRemapFailure:
          if (!rows_ok) {
            rows_ok = NVML_CALL(nvmlDeviceGetRemappedRows, &lost, h, &rows[0], &rows[1], &rows[2],
                                &rows[3]);
          }
          if (!*rows_ok) return std::nullopt;
          if (f == FieldId::kCorrectableRemappedRows) return rows[0];
          if (f == FieldId::kUncorrectableRemappedRows) return rows[1];
          return rows[3];
        case FieldId::kNvlinkBandwidthTotal: {
          std::array<nvmlFieldValue_t, 2> fv{};
          fv[0].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX;
          fv[1].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX;
          fv[0].scopeId = fv[1].scopeId = UINT_MAX;
          if (!NVML_CALL(nvmlDeviceGetFieldValues, &lost, h, 2, fv.data()) ||
              fv[0].nvmlReturn != NVML_SUCCESS || fv[1].nvmlReturn != NVML_SUCCESS) {
            return std::nullopt;
          }
          unsigned long long kib = fv[0].value.ullVal + fv[1].value.ullVal;
          // DCGM reports this "counter" as a rate: ΔKiB / Δs / 1000; the first sample is 0.
          double rate = 0;
          if (g.nvlink_prev_kib && now > g.nvlink_prev_time && kib >= *g.nvlink_prev_kib) {
            rate = static_cast<double>(kib - *g.nvlink_prev_kib) /
                   core::ToSeconds(now - g.nvlink_prev_time) / 1000.0;
          }
          g.nvlink_prev_kib = kib;
          g.nvlink_prev_time = now;
          return static_cast<double>(static_cast<long long>(rate));
        }
        case FieldId::kVgpuLicenseStatus:
          // DCGM reports 0 when vGPU licensing does not apply (bare metal).
          return 0.0;
        default:
          return std::nullopt;
      }
    };
    auto memory_value = [&](FieldId f,
                            const std::optional<nvmlMemory_v2_t>& m) -> std::optional<double> {
      if (!m) return std::nullopt;
      switch (f) {
        case FieldId::kFbTotal:
          return static_cast<double>(m->total / kMiB);
        case FieldId::kFbFree:
          return static_cast<double>(m->free / kMiB);
        case FieldId::kFbUsed:
          return static_cast<double>(m->used / kMiB);
        case FieldId::kFbReserved:
          if (m->reserved == ~0ull) return std::nullopt;
          return static_cast<double>(m->reserved / kMiB);
        default:
          return std::nullopt;
      }
    };
    auto is_memory = [](FieldId f) {
      return f == FieldId::kFbTotal || f == FieldId::kFbFree || f == FieldId::kFbUsed ||
             f == FieldId::kFbReserved;
    };
    auto gpm_value = [](const GpmState& s, FieldId f) -> std::optional<double> {
      for (size_t i = 0; i < kGpm.size(); ++i) {
        if (kGpm[i].field == f) return s.values[i];
      }
      return std::nullopt;
    };

    if (!g.mig_enabled) {
      if (want_prof) SampleGpm(g.gpm, h, std::nullopt, now, &lost);
      EntityReading e{g.entity, {}};
      e.values.reserve(fields.size());
      for (FieldId f : fields) {
        if (lost) return false;
        if (f == FieldId::kGpuUtil || f == FieldId::kMemCopyUtil) {
          const auto& u = utilization();
          if (!u) {
            e.values.push_back(std::nullopt);
          } else {
            e.values.push_back(f == FieldId::kGpuUtil ? u->gpu : u->memory);
          }
        } else if (is_memory(f)) {
          memory(h, &mem, &mem_done);
          e.values.push_back(memory_value(f, mem));
        } else if (IsProfField(f)) {
          e.values.push_back(gpm_value(g.gpm, f));
        } else {
          e.values.push_back(device_value(f));
        }
      }
      if (lost) return false;
      out->push_back(std::move(e));
      return true;
    }

    // MIG: per-instance memory and GPM; device-wide readings (clocks, temperatures, power) are
    // the parent's; utilization is not available under MIG.
    for (FieldId f : fields) {
      if (!is_memory(f) && !IsProfField(f) && f != FieldId::kGpuUtil &&
          f != FieldId::kMemCopyUtil) {
        parent[static_cast<int>(f)] = device_value(f);
      }
      if (lost) return false;
    }
    for (MigState& m : g.migs) {
      if (want_prof) SampleGpm(m.gpm, h, m.entity.gpu_instance_id, now, &lost);
      std::optional<nvmlMemory_v2_t> mig_mem;
      bool mig_mem_done = false;
      EntityReading e{m.entity, {}};
      for (FieldId f : fields) {
        if (is_memory(f)) {
          memory(m.handle, &mig_mem, &mig_mem_done);
          e.values.push_back(memory_value(f, mig_mem));
        } else if (IsProfField(f)) {
          e.values.push_back(gpm_value(m.gpm, f));
        } else if (f == FieldId::kGpuUtil || f == FieldId::kMemCopyUtil) {
          e.values.push_back(std::nullopt);
        } else {
          e.values.push_back(parent[static_cast<int>(f)]);
        }
      }
      if (lost) return false;
      out->push_back(std::move(e));
    }
    return true;
  }
#undef NVML_CALL

  std::unique_ptr<NvmlLibrary> lib_;
  bool initialized_ = false;
  std::vector<GpuState> gpus_;
  nvmlEventSet_t events_ = nullptr;
  ReaderStats stats_;
  mutable std::vector<Entity> entities_;
};

}  // namespace

core::Result<std::unique_ptr<GpuReader>> GpuReader::Open(const std::string& library_path) {
  GPUSCALE_ASSIGN_OR_RETURN(std::unique_ptr<NvmlLibrary> lib, NvmlLibrary::Load(library_path));
  return OpenGpuReader(std::move(lib));
}

core::Result<std::unique_ptr<GpuReader>> OpenGpuReader(std::unique_ptr<NvmlLibrary> lib) {
  auto reader = std::make_unique<NvmlGpuReader>(std::move(lib));
  GPUSCALE_RETURN_IF_ERROR(reader->Init());
  return std::unique_ptr<GpuReader>(std::move(reader));
}

}  // namespace gpuscale::gpu
