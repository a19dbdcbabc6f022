#include "gpu/emu_state.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gpuscale::gpu::emu {

using core::Result;
using core::Status;

std::string ConfigPath(const std::string& dir, int index) {
  return fmt::format("{}/gpu{}.conf", dir, index);
}
std::string CountersPath(const std::string& dir, int index) {
  return fmt::format("{}/gpu{}.counters", dir, index);
}

namespace {

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r");
  size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

Result<double> ParseNumber(const std::string& v, const std::string& where) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0') {
    return core::InvalidArgument(fmt::format("{}: expected a number, found '{}'", where, v));
  }
  return d;
}

Result<bool> ParseBool(const std::string& v, const std::string& where) {
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return core::InvalidArgument(fmt::format("{}: expected true or false, found '{}'", where, v));
}

}  // namespace

Result<GpuConfig> ParseConfig(const std::string& text, const std::string& source_name) {
  GpuConfig c;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    std::string where = fmt::format("{}:{}", source_name, line_no);
    size_t eq = t.find('=');
    if (eq == std::string::npos) {
      return core::InvalidArgument(fmt::format("{}: expected 'key = value', found '{}'", where, t));
    }
    std::string key = Trim(t.substr(0, eq));
    std::string value = Trim(t.substr(eq + 1));
    if (key == "uuid") {
      c.uuid = value;
    } else if (key == "name") {
      c.name = value;
    } else if (key == "serial") {
      c.serial = value;
    } else if (key == "pci_bus_id") {
      c.pci_bus_id = value;
    } else if (key == "architecture") {
      c.architecture = value;
    } else if (key == "memory_total_mib") {
      GPUSCALE_ASSIGN_OR_RETURN(double v, ParseNumber(value, where));
      c.memory_total_mib = static_cast<std::uint64_t>(v);
    } else if (key == "power_idle_w") {
      GPUSCALE_ASSIGN_OR_RETURN(c.power_idle_w, ParseNumber(value, where));
    } else if (key == "power_max_w") {
      GPUSCALE_ASSIGN_OR_RETURN(c.power_max_w, ParseNumber(value, where));
    } else if (key == "temp_idle_c") {
      GPUSCALE_ASSIGN_OR_RETURN(c.temp_idle_c, ParseNumber(value, where));
    } else if (key == "temp_max_c") {
      GPUSCALE_ASSIGN_OR_RETURN(c.temp_max_c, ParseNumber(value, where));
    } else if (key == "sm_clock_max_mhz") {
      GPUSCALE_ASSIGN_OR_RETURN(double v, ParseNumber(value, where));
      c.sm_clock_max_mhz = static_cast<unsigned>(v);
    } else if (key == "mem_clock_mhz") {
      GPUSCALE_ASSIGN_OR_RETURN(double v, ParseNumber(value, where));
      c.mem_clock_mhz = static_cast<unsigned>(v);
    } else if (key == "fail_init") {
      GPUSCALE_ASSIGN_OR_RETURN(c.fail_init, ParseBool(value, where));
    } else if (key == "lost") {
      GPUSCALE_ASSIGN_OR_RETURN(c.lost, ParseBool(value, where));
    } else if (key == "not_supported") {
      c.not_supported.clear();
      std::istringstream fields(value);
      std::string f;
      while (std::getline(fields, f, ',')) {
        f = Trim(f);
        if (!f.empty()) c.not_supported.push_back(f);
      }
    } else {
      return core::InvalidArgument(fmt::format("{}: unknown key '{}'", where, key));
    }
  }
  return c;
}

std::string FormatConfig(const GpuConfig& c) {
  std::string ns;
  for (size_t i = 0; i < c.not_supported.size(); ++i) {
    if (i) ns += ",";
    ns += c.not_supported[i];
  }
  return fmt::format(
      "uuid = {}\nname = {}\nserial = {}\npci_bus_id = {}\narchitecture = {}\n"
      "memory_total_mib = {}\npower_idle_w = {}\npower_max_w = {}\ntemp_idle_c = {}\n"
      "temp_max_c = {}\nsm_clock_max_mhz = {}\nmem_clock_mhz = {}\nfail_init = {}\nlost = {}\n"
      "not_supported = {}\n",
      c.uuid, c.name, c.serial, c.pci_bus_id, c.architecture, c.memory_total_mib, c.power_idle_w,
      c.power_max_w, c.temp_idle_c, c.temp_max_c, c.sm_clock_max_mhz, c.mem_clock_mhz, c.fail_init,
      c.lost, ns);
}

Result<GpuConfig> ReadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::NotFound(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseConfig(buf.str(), std::filesystem::path(path).filename().string());
}

Status WriteConfig(const std::string& path, const GpuConfig& config) {
  // Write then rename, so a reader never sees half a file.
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return core::Internal(fmt::format("{}: cannot write: {}", tmp, std::strerror(errno)));
    out << FormatConfig(config);
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return core::Internal(fmt::format("{}: cannot rename: {}", path, ec.message()));
  return Status::Ok();
}

Result<CountersMapping> CountersMapping::Open(const std::string& path, bool create) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (fd < 0) {
    return core::NotFound(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  }
  struct stat st {};
  ::fstat(fd, &st);
  bool fresh = st.st_size < 4096;
  if (fresh) {
    if (!create) {
      ::close(fd);
      return core::DataLoss(fmt::format("{}: truncated counters file", path));
    }
    if (::ftruncate(fd, 4096) != 0) {
      ::close(fd);
      return core::Internal(fmt::format("{}: cannot size: {}", path, std::strerror(errno)));
    }
  }
  void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) {
    return core::Internal(fmt::format("{}: mmap failed: {}", path, std::strerror(errno)));
  }
  auto* c = static_cast<Counters*>(p);
  if (fresh) {
    c->created_unix_ns =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    std::atomic_thread_fence(std::memory_order_release);
    c->magic = Counters::kMagic;
  } else if (c->magic != Counters::kMagic) {
    ::munmap(p, 4096);
    return core::DataLoss(fmt::format("{}: not a gpuscale counters file", path));
  }
  return CountersMapping(c);
}

CountersMapping::CountersMapping(CountersMapping&& other) noexcept
    : counters_(std::exchange(other.counters_, nullptr)) {}

CountersMapping& CountersMapping::operator=(CountersMapping&& other) noexcept {
  if (this != &other) {
    if (counters_) ::munmap(counters_, 4096);
    counters_ = std::exchange(other.counters_, nullptr);
  }
  return *this;
}

CountersMapping::~CountersMapping() {
  if (counters_) ::munmap(counters_, 4096);
}

Status CreateGpu(const std::string& dir, int index, GpuConfig config) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return core::Internal(fmt::format("{}: cannot create: {}", dir, ec.message()));
  if (config.uuid.empty()) {
    config.uuid = fmt::format("GPU-{:08x}-0000-4000-8000-{:012x}", 0x9e3779b9u * (index + 1),
                              static_cast<std::uint64_t>(index));
  }
  if (config.pci_bus_id.empty()) config.pci_bus_id = fmt::format("00000000:{:02X}:00.0", index + 1);
  GPUSCALE_RETURN_IF_ERROR(WriteConfig(ConfigPath(dir, index), config));
  std::filesystem::remove(CountersPath(dir, index), ec);
  auto mapping = CountersMapping::Open(CountersPath(dir, index), /*create=*/true);
  if (!mapping.ok()) return std::move(mapping).error();
  return Status::Ok();
}

int CountGpus(const std::string& dir) {
  int n = 0;
  while (std::filesystem::exists(ConfigPath(dir, n))) ++n;
  return n;
}

}  // namespace gpuscale::gpu::emu
