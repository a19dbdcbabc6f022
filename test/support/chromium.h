// Headless Chromium for report tests: render a local HTML file to a PNG screenshot, and decode
// the PNG enough to tell a drawn page from a blank one.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/result.h"

namespace gpuscale::testing {

// The chromium binary: $GPUSCALE_CHROMIUM, else the first of chromium, chromium-browser,
// google-chrome on PATH. kNotFound when there is none.
core::Result<std::string> FindChromium();

struct ScreenshotOptions {
  int width = 1200;
  int height = 900;
  std::chrono::milliseconds timeout{60000};
  // Lets the page's scripts run for this much virtual time before the capture (0: none).
  int virtual_time_budget_ms = 0;
};
// Renders `html_path` (a local file, or an http:// URL) with headless Chromium, sandbox, GPU,
// network services and QUIC off, a fresh profile, into `png_path`. The error carries Chromium's
// output.
core::Status Screenshot(const std::string& html_path, const std::string& png_path,
                        const ScreenshotOptions& options = {});

// The page's DOM after its scripts ran for `virtual_time_budget_ms` (Chromium --dump-dom).
// `target` is a local file path or an http:// URL.
core::Result<std::string> DumpDom(const std::string& target, int virtual_time_budget_ms,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(60));

struct PngStats {
  int width = 0;
  int height = 0;
  std::int64_t distinct_colors = 0;  // counted up to 65536
  double non_background = 0;         // share of pixels unlike the top-left pixel
};
// Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). kDataLoss when the
// file is not such a PNG.
core::Result<PngStats> AnalysePng(const std::string& png_path);

}  // namespace gpuscale::testing
