// Where `gpuscale up` reads the metrics its HPA uses, per pod, the way the custom metrics API
// would answer them: directly from the replicas' and the exporter's /metrics (default), or
// from a Prometheus server that scrapes them.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "prom/exposition.h"

namespace gpuscale::local {

// metric name → pod → value. Names are custom-metric names (as the adapter exposes them).
struct PodMetrics {
  core::Timestamp time{};
  std::map<std::string, std::map<std::string, double>> values;
  // Per-source failures (a replica's /metrics not answering), for the view.
  std::vector<std::string> errors;
};

// The seed's adapter rules, built in: custom-metric name → the series it sums per pod.
struct MetricRule {
  std::string custom_name;  // gpu_utilization_percent
  std::string series;       // DCGM_FI_DEV_GPU_UTIL
};
std::vector<MetricRule> SeedRules();

// Adds each family's samples to `out`, per pod, summed like `sum by (pod) (series)`. A sample's
// pod is its `pod` label, else `default_pod` when given, else the pod `gpu_pods` maps its `gpu`
// label to; samples with no pod are skipped. Every sample name is also exposed under its own
// name with ':' replaced by '_' (vllm:num_requests_running → vllm_num_requests_running).
void AddSamples(const std::vector<prom::MetricFamily>& families,
                const std::vector<MetricRule>& rules, const std::string& default_pod,
                const std::map<std::string, std::string>& gpu_pods, PodMetrics* out);

class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  virtual PodMetrics Collect(core::Timestamp now) = 0;
};

// One /metrics URL to read and the pod its series belong to.
struct ScrapeTarget {
  std::string url;
  std::string pod;  // "" for the exporter: its series carry pod labels or a gpu label
};

// Reads every target's /metrics each Collect. `targets` is called at each Collect (replicas
// come and go); `gpu_pods` maps GPU index (as text) to the pod holding it.
class DirectScrapeSource final : public MetricsSource {
 public:
  using Targets = std::function<std::vector<ScrapeTarget>()>;
  using GpuPods = std::function<std::map<std::string, std::string>()>;
  DirectScrapeSource(Targets targets, GpuPods gpu_pods, std::chrono::milliseconds timeout);
  ~DirectScrapeSource() override;
  PodMetrics Collect(core::Timestamp now) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Queries Prometheus each Collect: for every rule, sum by (pod) (series{namespace="<ns>",
// pod!=""}) — what the adapter's rule would ask for all pods.
class PrometheusSource final : public MetricsSource {
 public:
  static core::Result<std::unique_ptr<PrometheusSource>> Create(const std::string& url,
                                                                std::string namespace_name,
                                                                std::chrono::milliseconds timeout);
  ~PrometheusSource() override;
  PodMetrics Collect(core::Timestamp now) override;

 private:
  struct Impl;
  explicit PrometheusSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gpuscale::local
