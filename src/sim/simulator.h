// A deterministic discrete-event simulation, in virtual time, of the autoscaling loop: arrivals,
// a router, engine replicas (engine::Engine), the pod lifecycle, the metrics pipeline (exporter
// collect -> Prometheus scrape -> recording rule -> adapter) and the hpa::Autoscaler. Pure: no
// clock, no I/O; the same Options, HPA spec and arrivals give the same Result.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "engine/model.h"
#include "engine/profile.h"
#include "hpa/autoscaler.h"
#include "hpa/types.h"
#include "load/arrivals.h"

namespace gpuscale::sim {

using core::Duration;

// A random duration, in seconds: "fixed:S", "uniform:LO:HI", "normal:MEAN:SD" (clamped at 0),
// "lognormal:MU:SIGMA" (of ln seconds).
struct DurationDist {
  enum class Kind { kFixed, kUniform, kNormal, kLogNormal };
  Kind kind = Kind::kFixed;
  double a = 0;
  double b = 0;
  Duration Sample(core::Rng& rng) const;
  std::string ToString() const;
};
core::Result<DurationDist> ParseDurationDist(std::string_view text);

enum class RouterKind {
  kRoundRobin,   // a Kubernetes Service: ready pods in turn
  kLeastLoaded,  // an inference gateway: the ready pod with the fewest requests in its engine
};

// Names of the pod metrics the simulated adapter serves: the seed's two custom metric names, and
// vLLM's waiting-queue gauge under the same renaming (vllm:num_requests_waiting).
inline constexpr std::string_view kGpuMetric = "gpu_utilization_percent";
inline constexpr std::string_view kRunningMetric = "vllm_num_requests_running";
inline constexpr std::string_view kWaitingMetric = "vllm_num_requests_waiting";

struct Options {
  engine::Profile profile;       // the engine timing model each replica runs
  engine::EngineOptions engine;  // its scheduler limits
  RouterKind router = RouterKind::kRoundRobin;
  int initial_replicas = 1;  // ready at time 0 (the Deployment's replicas before the run)
  // Pod start-up, summed: node scheduling, image pull, model load, readiness probe success.
  // Defaults: the vLLM image pull of 52-110 s and a 1B model load on an L4.
  DurationDist scheduling{DurationDist::Kind::kFixed, 2, 0};
  DurationDist image_pull{DurationDist::Kind::kUniform, 52, 110};
  DurationDist model_load{DurationDist::Kind::kUniform, 30, 60};
  DurationDist readiness{DurationDist::Kind::kUniform, 0, 10};  // up to one probe period
  // Metrics pipeline. The exporter averages GPU busy time over each collect interval; Prometheus
  // scrapes exporter and vLLM; the recording rule (GPU metric only) copies the latest scrape; the
  // adapter serves the latest rule output (GPU) or scrape (running requests) to each HPA sync.
  // All grids start at 0; at one instant they run in pipeline order (collect, scrape, rule, sync).
  Duration collect_interval = std::chrono::seconds(1);  // dcgm-exporter -c 1000
  Duration scrape_interval = std::chrono::seconds(15);  // ServiceMonitor interval
  Duration rule_interval = std::chrono::seconds(30);    // Prometheus evaluation_interval
  Duration sync_period = std::chrono::seconds(15);      // --horizontal-pod-autoscaler-sync-period
  hpa::Options hpa;                                     // controller settings
  // SLO: a request meets it when TTFT <= slo_ttft and its mean inter-token latency <= slo_itl.
  Duration slo_ttft = std::chrono::seconds(2);
  Duration slo_itl = std::chrono::milliseconds(100);
  double slo_target = 0.95;  // fraction of requests that must meet it (the oracle's bar)
  Duration oracle_interval = std::chrono::seconds(60);  // the oracle's replica-count granularity
  Duration horizon{0};     // arrivals at or after this are not sent (0: when they end)
  std::uint64_t seed = 1;  // pod start-up draws (arrivals carry their own generator)
};

struct RequestRecord {
  double arrival_s = 0;
  double queue_s = 0;  // router wait (no ready pod) + engine waiting queue
  double ttft_s = 0;
  double itl_s = 0;  // mean inter-token latency (0 with one output token)
  double e2e_s = 0;
  int prompt_tokens = 0;
  int output_tokens = 0;
  bool met_slo = false;
};

// One HPA sync.
struct SyncSample {
  double time_s = 0;
  int current = 0;  // pods that exist (not draining)
  int desired = 0;  // after this sync
  int ready = 0;
  std::map<std::string, double> metrics;  // metric name -> per-pod average the HPA saw
};

struct ScaleEvent {
  double time_s = 0;
  int from = 0;
  int to = 0;
  std::string reason;
};

struct Result {
  std::vector<RequestRecord> requests;  // in arrival order; unfinished at the end are dropped
  std::vector<SyncSample> syncs;
  std::vector<ScaleEvent> events;
  double gpu_hours = 0;  // pod lifetime (creation to removal or end) summed
  double end_s = 0;      // virtual time when the last request finished
  std::uint64_t events_processed = 0;
  int max_replicas = 0;
};

// Runs one simulation of `arrivals` (consumed) through the HPA `spec`. Requests without token
// counts get `default_prompt`/`default_output`. InvalidArgument on bad options.
core::Result<Result> Simulate(const Options& options, const hpa::HpaSpec& spec,
                              load::ArrivalProcess& arrivals, int default_prompt = 256,
                              int default_output = 128);

// Summaries.
struct Summary {
  std::size_t requests = 0;
  double slo_attainment = 0;
  double ttft_p50_s = 0, ttft_p99_s = 0;
  double itl_p50_s = 0, itl_p99_s = 0;
  double e2e_p50_s = 0, e2e_p99_s = 0;
  double queue_p50_s = 0, queue_p99_s = 0;
  double gpu_hours = 0;
  int scale_events = 0;
  int max_replicas = 0;
};
Summary Summarize(const Result& result);
// Nearest-rank percentile (q in 0..1) of `values` (copied); 0 when empty.
double Percentile(std::vector<double> values, double q);

}  // namespace gpuscale::sim
