// Renders GPU readings in dcgm-exporter 4.8.x's exposition: its family names, HELP/TYPE lines,
// label order (gpu, UUID, pci_bus_id, device, modelName, MIG labels, Hostname, label fields,
// then container, namespace, pod) and value formats (integers as %d, doubles as %f). Pure.
#pragma once

#include <string>

#include "exporter/counters.h"
#include "gpu/gpu_reader.h"
#include "gpu/pod_resources.h"

namespace gpuscale::exporter {

struct RenderOptions {
  std::string hostname;                     // empty: no hostname label (-n/--no-hostname)
  std::string hostname_label = "Hostname";  // "hostname" for the 4.6.0-4.8.3+ spelling
  bool replace_blanks_in_model_name = false;
  gpu::GpuIdType gpu_id_type = gpu::GpuIdType::kUid;
};

// Appends one family per counter that has at least one value, in counter order. `values` of
// each entity are parallel to `counters.metrics`. `pods` may be null (no attribution).
void RenderReading(const CounterSet& counters, const gpu::Reading& reading, const gpu::PodMap* pods,
                   const RenderOptions& options, std::string* out);

// dcgm-exporter's value text: kInt64 as Go %d (truncated), kDouble as Go %f ("72.345000").
void AppendDcgmValue(gpu::ValueKind kind, double value, std::string* out);

}  // namespace gpuscale::exporter
