#include "exporter/render.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "prom/exposition.h"

namespace gpuscale::exporter {

void AppendDcgmValue(gpu::ValueKind kind, double value, std::string* out) {
  if (kind == gpu::ValueKind::kDouble) {
    fmt::format_to(std::back_inserter(*out), "{:.6f}", value);
  } else {
    fmt::format_to(std::back_inserter(*out), "{}", static_cast<long long>(value));
  }
}

namespace {

void AppendLabel(std::string_view name, std::string_view value, bool first, std::string* out) {
  if (!first) out->push_back(',');
  out->append(name);
  out->append("=\"");
  prom::AppendEscapedLabelValue(value, out);
  out->push_back('"');
}

// The "{...}" of every series of one entity, built once per render.
std::string LabelSet(const gpu::Entity& e, const std::string& driver_version,
                     const CounterSet& counters, const gpu::PodMap* pods,
                     const RenderOptions& options) {
  std::string s = "{";
  AppendLabel("gpu", std::to_string(e.gpu), true, &s);
  AppendLabel("UUID", e.uuid, false, &s);
  AppendLabel("pci_bus_id", e.pci_bus_id, false, &s);
  AppendLabel("device", fmt::format("nvidia{}", e.gpu), false, &s);
  std::string model = e.model_name;
  if (options.replace_blanks_in_model_name) std::replace(model.begin(), model.end(), ' ', '-');
  AppendLabel("modelName", model, false, &s);
  if (e.gpu_instance_id) {
    AppendLabel("GPU_I_PROFILE", e.gpu_instance_profile, false, &s);
    AppendLabel("GPU_I_ID", std::to_string(*e.gpu_instance_id), false, &s);
  }
  if (!options.hostname.empty()) AppendLabel(options.hostname_label, options.hostname, false, &s);
  // Label fields, sorted by name as Go's template iterates a map.
  std::vector<std::string_view> label_names;
  for (const Counter& c : counters.labels) label_names.push_back(c.field->name);
  std::sort(label_names.begin(), label_names.end());
  for (std::string_view name : label_names) {
    if (name == "DCGM_FI_DRIVER_VERSION" && !driver_version.empty()) {
      AppendLabel(name, driver_version, false, &s);
    }
  }
  if (pods != nullptr) {
    if (auto pod = gpu::LookupPod(*pods, e, options.gpu_id_type)) {
      AppendLabel("container", pod->container, false, &s);
      AppendLabel("namespace", pod->namespace_, false, &s);
      AppendLabel("pod", pod->pod, false, &s);
    }
  }
  s += "} ";
  return s;
}

}  // namespace

void RenderReading(const CounterSet& counters, const gpu::Reading& reading, const gpu::PodMap* pods,
                   const RenderOptions& options, std::string* out) {
  std::vector<std::string> label_sets;
  label_sets.reserve(reading.entities.size());
  for (const gpu::EntityReading& e : reading.entities) {
    label_sets.push_back(LabelSet(e.entity, reading.driver_version, counters, pods, options));
  }
  for (size_t f = 0; f < counters.metrics.size(); ++f) {
    const Counter& c = counters.metrics[f];
    bool header = false;
    for (size_t i = 0; i < reading.entities.size(); ++i) {
      const std::optional<double>& v = reading.entities[i].values[f];
      if (!v || std::isnan(*v)) continue;  // unsupported or blank: omitted, never 0
      if (!header) {
        header = true;
        out->append("# HELP ");
        out->append(c.field->name);
        out->push_back(' ');
        prom::AppendEscapedHelp(c.help, out);
        out->append("\n# TYPE ");
        out->append(c.field->name);
        out->push_back(' ');
        out->append(c.type);
        out->push_back('\n');
      }
      out->append(c.field->name);
      out->append(label_sets[i]);
      AppendDcgmValue(c.field->kind, *v, out);
      out->push_back('\n');
    }
  }
}

}  // namespace gpuscale::exporter
