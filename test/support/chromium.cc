#include "test/support/chromium.h"

#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unordered_set>
#include <vector>

#include "test/support/process.h"

namespace gpuscale::testing {
namespace {

std::uint32_t Be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

int Paeth(int a, int b, int c) {
  int p = a + b - c;
  int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

}  // namespace

core::Result<std::string> FindChromium() {
  if (const char* env = std::getenv("GPUSCALE_CHROMIUM"); env != nullptr && *env)
    return std::string(env);
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::size_t start = 0;
    while (start <= dirs.size()) {
      std::size_t colon = dirs.find(':', start);
      std::string dir = dirs.substr(start, colon == std::string::npos ? colon : colon - start);
      std::string candidate = dir + "/" + name;
      if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
  }
  return core::NotFound(
      "no chromium on PATH (Debian package 'chromium'; scripts/setup installs it)");
}

namespace {
std::string TargetUrl(const std::string& target) {
  if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) return target;
  return "file://" + std::filesystem::absolute(target).string();
}
}  // namespace

core::Result<std::string> DumpDom(const std::string& target, int virtual_time_budget_ms,
                                  std::chrono::milliseconds timeout) {
  GPUSCALE_ASSIGN_OR_RETURN(std::string chromium, FindChromium());
  std::string profile = MakeTempDir("chromium-profile");
  std::vector<std::string> argv = {
      chromium,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      "--user-data-dir=" + profile,
      "--virtual-time-budget=" + std::to_string(virtual_time_budget_ms),
      "--dump-dom",
      TargetUrl(target)};
  std::string output;
  core::Result<int> rc = RunCommand(argv, &output, timeout);
  std::error_code ec;
  std::filesystem::remove_all(profile, ec);
  if (!rc.ok()) return rc.error().WithContext("chromium");
  if (*rc != 0) {
    return core::Internal("chromium --dump-dom exited " + std::to_string(*rc) + ": " +
                          output.substr(0, 2000));
  }
  return output;
}

core::Status Screenshot(const std::string& html_path, const std::string& png_path,
                        const ScreenshotOptions& options) {
  GPUSCALE_ASSIGN_OR_RETURN(std::string chromium, FindChromium());
  std::string profile = MakeTempDir("chromium-profile");
  std::string url = TargetUrl(html_path);
  std::vector<std::string> argv = {
      chromium,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      "--hide-scrollbars",
      "--user-data-dir=" + profile,
      "--screenshot=" + png_path,
      "--window-size=" + std::to_string(options.width) + "," + std::to_string(options.height),
      url};
  // A zero budget makes Chromium wait for ever: pass the flag only when a budget is asked for.
  if (options.virtual_time_budget_ms > 0) {
    argv.insert(argv.end() - 1,
                "--virtual-time-budget=" + std::to_string(options.virtual_time_budget_ms));
  }
  std::string output;
  std::filesystem::remove(png_path);
  core::Result<int> rc = RunCommand(argv, &output, options.timeout);
  std::error_code ec;
  std::filesystem::remove_all(profile, ec);
  if (!rc.ok()) return rc.error().WithContext("chromium");
  if (*rc != 0 || !std::filesystem::exists(png_path)) {
    return core::Internal("chromium exited " + std::to_string(*rc) + " without " + png_path + ": " +
                          output.substr(0, 2000));
  }
  return core::Status::Ok();
}

core::Result<PngStats> AnalysePng(const std::string& png_path) {
  std::string data = ReadFile(png_path);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  static const unsigned char kSig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (data.size() < 8 || std::memcmp(p, kSig, 8) != 0) {
    return core::DataLoss(png_path + ": not a PNG file");
  }
  PngStats st;
  int color_type = -1, bit_depth = 0, interlace = 0;
  std::string idat;
  for (std::size_t pos = 8; pos + 12 <= data.size();) {
    std::uint32_t len = Be32(p + pos);
    std::string type(data, pos + 4, 4);
    if (pos + 12 + len > data.size()) return core::DataLoss(png_path + ": truncated chunk " + type);
    const unsigned char* body = p + pos + 8;
    if (type == "IHDR" && len >= 13) {
      st.width = static_cast<int>(Be32(body));
      st.height = static_cast<int>(Be32(body + 4));
      bit_depth = body[8];
      color_type = body[9];
      interlace = body[12];
    } else if (type == "IDAT") {
      idat.append(reinterpret_cast<const char*>(body), len);
    } else if (type == "IEND") {
      break;
    }
    pos += 12 + len;
  }
  if (bit_depth != 8 || (color_type != 2 && color_type != 6) || interlace != 0 || st.width <= 0 ||
      st.height <= 0) {
    return core::DataLoss(png_path + ": expected an 8-bit RGB(A) non-interlaced PNG (type " +
                          std::to_string(color_type) + ", depth " + std::to_string(bit_depth) +
                          ")");
  }
  const std::size_t bpp = color_type == 6 ? 4 : 3;
  const std::size_t stride = static_cast<std::size_t>(st.width) * bpp;
  std::vector<unsigned char> raw((stride + 1) * static_cast<std::size_t>(st.height));
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
          Z_OK ||
      raw_len != raw.size()) {
    return core::DataLoss(png_path + ": image data does not inflate to the declared size");
  }
  std::vector<unsigned char> prev(stride, 0), cur(stride);
  std::unordered_set<std::uint32_t> colors;
  std::uint32_t background = 0;
  std::int64_t differ = 0;
  for (int y = 0; y < st.height; ++y) {
    const unsigned char* line = raw.data() + static_cast<std::size_t>(y) * (stride + 1);
    int filter = line[0];
    for (std::size_t i = 0; i < stride; ++i) {
      int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      int x = line[1 + i];
      switch (filter) {
        case 0:
          break;
        case 1:
          x += a;
          break;
        case 2:
          x += b;
          break;
        case 3:
          x += (a + b) / 2;
          break;
        case 4:
          x += Paeth(a, b, c);
          break;
        default:
          return core::DataLoss(png_path + ": unknown filter " + std::to_string(filter));
      }
      cur[i] = static_cast<unsigned char>(x);
    }
    for (int x = 0; x < st.width; ++x) {
      const unsigned char* px = cur.data() + static_cast<std::size_t>(x) * bpp;
      std::uint32_t rgb = (std::uint32_t{px[0]} << 16) | (std::uint32_t{px[1]} << 8) | px[2];
      if (x == 0 && y == 0) background = rgb;
      if (rgb != background) ++differ;
      if (colors.size() < 65536) colors.insert(rgb);
    }
    std::swap(prev, cur);
  }
  st.distinct_colors = static_cast<std::int64_t>(colors.size());
  st.non_background = static_cast<double>(differ) / (static_cast<double>(st.width) * st.height);
  return st;
}

}  // namespace gpuscale::testing
