// vLLM 0.10 (V1) Prometheus metrics for one engine: names, types, HELP text, labels
// (model_name, engine) and histogram buckets as vLLM exposes them. Fed from the timing model's
// step results; rendered in the text format. Thread-compatible: callers serialise all calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/model.h"

namespace gpuscale::engine {

struct MetricsOptions {
  std::string model_name;    // the served model name (label model_name)
  std::string engine = "0";  // label engine: the engine-core index
  EngineLimits limits;       // for vllm:cache_config_info and token-count buckets
  double gpu_memory_utilization = 0.9;
  double created_unix_s = 0;  // the *_created samples of counters and histograms
};

class EngineMetrics {
 public:
  explicit EngineMetrics(MetricsOptions options);
  ~EngineMetrics();
  EngineMetrics(const EngineMetrics&) = delete;
  EngineMetrics& operator=(const EngineMetrics&) = delete;

  // Records one step: its token events (TTFT, time per output token), finished requests
  // (latency histograms, success counter) and the gauges after it (`stats`).
  void OnStep(const StepResult& step, const EngineStats& stats);
  // Records requests that left outside a step (aborts) and refreshes the gauges.
  void OnFinished(const FinishedRequest& request, const EngineStats& stats);
  // Updates the gauges only (a request was queued).
  void OnStats(const EngineStats& stats);

  // The text exposition (format 0.0.4) of every family.
  std::string Render() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// vLLM's build_1_2_5_buckets(max_value): 1, 2, 5, 10, 20, 50, ... <= max_value.
std::vector<double> Buckets125(double max_value);

}  // namespace gpuscale::engine
