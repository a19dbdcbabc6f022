// `gpuscale up`: the whole autoscaling loop on one machine. Starts engine replicas as child
// processes (gpuscale engine on emulated GPUs by default, or any OpenAI-compatible server),
// the exporter, a metrics source, the custom metrics API, a router, and a controller loop that
// applies an HPA spec with the hpa library; optionally drives load through the router; shows a
// live view in the terminal and on a web page; writes an event log and a report.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace gpuscale::local {

struct UpOptions {
  std::string hpa_file;        // autoscaling/v2 HPA (YAML or JSON); empty: the guide's GPU HPA
  std::string engine_cmd;      // replica command with {port} {gpu} ...; empty: gpuscale engine
  std::string engine_args;     // extra flags appended to the default engine command
  std::string prometheus_url;  // read metrics from Prometheus instead of scraping directly
  std::string address = "127.0.0.1";  // where every server listens
  std::uint16_t router_port = 8081;
  std::uint16_t metrics_api_port = 6443;  // custom metrics API (HTTPS, self-signed)
  std::uint16_t ui_port = 8090;           // live web page; 0 disables it
  std::string namespace_name = "vllm-example";
  int initial_replicas = 0;                          // 0: the HPA's minReplicas
  std::chrono::milliseconds sync_period{1000};       // --sync-period
  std::chrono::milliseconds exporter_interval{500};  // exporter collect interval (-c)
  std::string load = "looper";                       // looper | poisson:RATE | trace:FILE | none
  std::chrono::milliseconds load_duration{60000};    // how long the load runs
  std::chrono::milliseconds duration{150000};        // whole run; 0: until Ctrl-C
  std::string out_dir;    // report, logs, event log; empty: ./gpuscale-up-<time>
  bool live_view = true;  // redraw the terminal view (plain lines when not a terminal)
  std::string self_path;  // the gpuscale binary (for default commands); empty: /proc/self/exe
};

// Runs until the duration passes or SIGINT/SIGTERM arrives, then stops everything. Returns
// the process exit code (0 on a clean run; 1 with a message on stderr when start-up fails).
int RunUp(const UpOptions& options);

// The guide's GPU-utilization HPA (gemma-server-gpu-hpa), the default spec.
std::string_view DefaultHpaYaml();

}  // namespace gpuscale::local
