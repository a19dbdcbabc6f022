#include "exporter/counters.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace gpuscale::exporter {
namespace {

constexpr std::string_view kDefaultCsv = R"(# Format
# If line starts with a '#' it is considered a comment
# DCGM FIELD, Prometheus metric type, help message

# Clocks
DCGM_FI_DEV_SM_CLOCK,  gauge, SM clock frequency (in MHz).
DCGM_FI_DEV_MEM_CLOCK, gauge, Memory clock frequency (in MHz).

# Temperature
DCGM_FI_DEV_MEMORY_TEMP, gauge, Memory temperature (in C).
DCGM_FI_DEV_GPU_TEMP,    gauge, GPU temperature (in C).

# Power
DCGM_FI_DEV_POWER_USAGE,              gauge, Power draw (in W).
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, counter, Total energy consumption since boot (in mJ).

# PCIE
DCGM_FI_DEV_PCIE_REPLAY_COUNTER, counter, Total number of PCIe retries.

# Utilization (the sample period varies depending on the product)
DCGM_FI_DEV_GPU_UTIL,      gauge, GPU utilization (in %).
DCGM_FI_DEV_MEM_COPY_UTIL, gauge, Memory utilization (in %).
DCGM_FI_DEV_ENC_UTIL,      gauge, Encoder utilization (in %).
DCGM_FI_DEV_DEC_UTIL ,     gauge, Decoder utilization (in %).

# Errors and violations
DCGM_FI_DEV_XID_ERRORS, gauge, Value of the last XID error encountered.

# Memory usage
DCGM_FI_DEV_FB_FREE,     gauge, Framebuffer memory free (in MiB).
DCGM_FI_DEV_FB_USED,     gauge, Framebuffer memory used (in MiB).
DCGM_FI_DEV_FB_RESERVED, gauge, Framebuffer memory reserved (in MiB).

# NVLink
DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL, counter, Total number of NVLink bandwidth counters for all lanes.

# VGPU License status
DCGM_FI_DEV_VGPU_LICENSE_STATUS, gauge, vGPU License status

# Remapped rows
DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS, counter, Number of remapped rows for uncorrectable errors
DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS,   counter, Number of remapped rows for correctable errors
DCGM_FI_DEV_ROW_REMAP_FAILURE,           gauge,   Whether remapping of rows has failed

# Static configuration information
DCGM_FI_DRIVER_VERSION, label, Driver Version

# Datacenter profiling metrics (from NVML GPM on Hopper and newer)
DCGM_FI_PROF_GR_ENGINE_ACTIVE,   gauge, Ratio of time the graphics engine is active.
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE, gauge, Ratio of cycles the tensor (HMMA) pipe is active.
DCGM_FI_PROF_DRAM_ACTIVE,        gauge, Ratio of cycles the device memory interface is active sending or receiving data.
DCGM_FI_PROF_PCIE_TX_BYTES,      gauge, The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second.
DCGM_FI_PROF_PCIE_RX_BYTES,      gauge, The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second.
)";

std::string_view TrimSpaces(std::string_view s) {
  size_t b = s.find_first_not_of(' ');
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(' ');
  return s.substr(b, e - b + 1);
}

// Splits one CSV line into fields (RFC 4180 quoting, "" inside quotes), each trimmed of
// spaces as dcgm-exporter trims them. Returns an error message on bad quoting.
core::Result<std::vector<std::string>> SplitRecord(std::string_view line) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string field;
    while (i < line.size() && line[i] == ' ') ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        field += line[i++];
      }
      if (!closed) return core::InvalidArgument("unterminated quoted field");
      while (i < line.size() && line[i] == ' ') ++i;
      if (i < line.size() && line[i] != ',') {
        return core::InvalidArgument(fmt::format("unexpected '{}' after a quoted field", line[i]));
      }
      fields.push_back(field);
    } else {
      size_t comma = line.find(',', i);
      std::string_view raw =
          line.substr(i, comma == std::string_view::npos ? line.npos : comma - i);
      if (raw.find('"') != std::string_view::npos) {
        return core::InvalidArgument("bare \" in an unquoted field");
      }
      fields.emplace_back(TrimSpaces(raw));
      i = comma == std::string_view::npos ? line.size() : comma;
    }
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  return fields;
}

bool LooksLikeDcgmName(std::string_view name) {
  if (!name.starts_with("DCGM_FI_") && !name.starts_with("DCGM_EXP_")) return false;
  for (char c : name) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

core::Result<CounterSet> ParseCounters(std::string_view text, std::string_view source_name) {
  CounterSet set;
  std::set<std::string_view> seen;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    std::string where = fmt::format("{}:{}", source_name, line_no);
    auto record = SplitRecord(line);
    if (!record.ok()) return core::InvalidArgument(where + ": " + record.error().message);
    if (record->size() == 1 && (*record)[0].empty()) continue;  // a line of spaces
    if (record->size() != 3) {
      return core::InvalidArgument(
          fmt::format("{}: expected 3 fields (name, type, help), found {}", where, record->size()));
    }
    const std::string& name = (*record)[0];
    const std::string& type = (*record)[1];
    if (type != "gauge" && type != "counter" && type != "histogram" && type != "summary" &&
        type != "label") {
      return core::InvalidArgument(fmt::format(
          "{}: {}: unknown metric type '{}' (expected gauge, counter, histogram, summary or "
          "label)",
          where, name, type));
    }
    const gpu::FieldInfo* field = gpu::FindField(name);
    if (field == nullptr) {
      if (!LooksLikeDcgmName(name)) {
        return core::InvalidArgument(fmt::format("{}: '{}' is not a DCGM field name", where, name));
      }
      set.warnings.push_back(
          fmt::format("{}: skipping {}: not available through NVML", where, name));
      continue;
    }
    if (!seen.insert(field->name).second) {
      return core::InvalidArgument(fmt::format("{}: {} is listed twice", where, name));
    }
    if (type == "label") {
      if (field->kind != gpu::ValueKind::kString) {
        set.warnings.push_back(
            fmt::format("{}: skipping {}: only text fields can be labels", where, name));
        continue;
      }
      set.labels.push_back({field, type, (*record)[2]});
    } else {
      if (field->kind == gpu::ValueKind::kString) {
        set.warnings.push_back(
            fmt::format("{}: skipping {}: a text field can only be a label", where, name));
        continue;
      }
      set.metrics.push_back({field, type, (*record)[2]});
    }
  }
  return set;
}

core::Result<CounterSet> ReadCounters(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::NotFound(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseCounters(buf.str(), path);
}

std::string_view DefaultCountersCsv() { return kDefaultCsv; }

CounterSet DefaultCounters() { return ParseCounters(kDefaultCsv, "default-counters.csv").value(); }

}  // namespace gpuscale::exporter
