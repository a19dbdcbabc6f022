// `gpuscale exporter`: the collector plus an HTTP server on dcgm-exporter's :9400 serving
// GET /metrics (the last pre-rendered body), GET /health and an index page.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/clock.h"
#include "core/result.h"
#include "exporter/collector.h"

namespace gpuscale::exporter {

struct ExporterOptions {
  // Listen address, dcgm-exporter style: ":9400" (all interfaces), "127.0.0.1:9400", "[::1]:0".
  std::string address = ":9400";
  // Counters CSV (-f); empty: the built-in dcgm-exporter default set.
  std::string collectors_file;
  CollectorOptions collector;
};

// "host:port" → (host, port); an empty host means every interface ("0.0.0.0").
core::Result<std::pair<std::string, std::uint16_t>> ParseListenAddress(std::string_view address);

// Thread-safe.
class Exporter {
 public:
  // Reads the counters file, binds the address and starts collecting. Errors: bad counters
  // file (file:line), bad address, address in use.
  static core::Result<std::unique_ptr<Exporter>> Start(ExporterOptions options,
                                                       const core::Clock& clock);
  virtual ~Exporter() = default;
  virtual std::uint16_t port() const = 0;
  virtual Collector& collector() = 0;
  // Stops the server (in-flight scrapes finish) and the collection threads. Idempotent.
  virtual void Stop() = 0;
};

// Runs the exporter until SIGTERM or SIGINT, then stops cleanly. Returns the exit status.
int RunExporter(ExporterOptions options);

}  // namespace gpuscale::exporter
