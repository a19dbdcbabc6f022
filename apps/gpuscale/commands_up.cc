// `gpuscale up`: flags → local::UpOptions.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <memory>

#include "apps/gpuscale/commands.h"
#include "core/duration.h"
#include "local/up.h"

namespace gpuscale::app {

namespace {
// A CLI11 validator-and-converter for Go durations ("90s", "2m").
bool ParseMillis(const std::string& text, std::chrono::milliseconds* out, std::string* error) {
  auto d = core::ParseDuration(text);
  if (!d.ok()) {
    *error = d.error().message;
    return false;
  }
  *out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  return true;
}
}  // namespace

void RegisterUp(CLI::App& app, core::LogOptions& log, CommandSet& commands) {
  auto* sub = app.add_subcommand(
      "up",
      "Run the whole autoscaling loop on this machine: engine replicas, the exporter, the custom "
      "metrics API, a router and the HPA controller, with a live view");
  auto options = std::make_shared<local::UpOptions>();
  auto durations = std::make_shared<std::map<std::string, std::string>>();
  sub->add_option("--hpa", options->hpa_file,
                  "HorizontalPodAutoscaler spec (autoscaling/v2 YAML or JSON); default: the "
                  "guide's GPU HPA (gpu_utilization_percent, AverageValue 20, 1..5 replicas)");
  sub->add_option("--engine-cmd", options->engine_cmd,
                  "Replica command, with {port} {gpu} {index} {pod} {emu_dir} placeholders "
                  "(e.g. 'vllm serve google/gemma-3-1b-it --port {port}'); CUDA_VISIBLE_DEVICES "
                  "is set to the replica's GPU. Default: gpuscale engine on an emulated GPU");
  sub->add_option(
      "--engine-args", options->engine_args,
      "Extra flags for the default engine command (e.g. '--profile gemma-3-1b-it-h100')");
  sub->add_option("--prometheus-url", options->prometheus_url,
                  "Read metrics from this Prometheus (which must scrape the replicas and the "
                  "exporter) instead of scraping them directly");
  sub->add_option("--address", options->address, "Address every server listens on")
      ->capture_default_str();
  sub->add_option("--router-port", options->router_port, "Router (the vLLM Service) port")
      ->capture_default_str();
  sub->add_option("--metrics-api-port", options->metrics_api_port,
                  "Custom metrics API port (HTTPS, self-signed)")
      ->capture_default_str();
  sub->add_option("--ui-port", options->ui_port, "Live web page port (0: no page)")
      ->capture_default_str();
  sub->add_option("--namespace", options->namespace_name, "Namespace the pods appear in")
      ->capture_default_str();
  sub->add_option("--replicas", options->initial_replicas,
                  "Replicas to start with (default: the HPA's minReplicas)");
  (*durations)["sync"] = "1s";
  (*durations)["load"] = "60s";
  (*durations)["duration"] = "150s";
  (*durations)["exporter"] = "500ms";
  sub->add_option("--sync-period", (*durations)["sync"], "HPA sync period")->capture_default_str();
  sub->add_option("--exporter-interval", (*durations)["exporter"],
                  "Exporter collect interval (dcgm-exporter's -c)")
      ->capture_default_str();
  sub->add_option("--load", options->load,
                  "Load through the router: looper | poisson:RATE | trace:FILE | none")
      ->capture_default_str();
  sub->add_option("--load-duration", (*durations)["load"], "How long the load runs")
      ->capture_default_str();
  sub->add_option("--duration", (*durations)["duration"],
                  "Whole run, then stop and write the report (0: until Ctrl-C)")
      ->capture_default_str();
  sub->add_option("--out", options->out_dir,
                  "Directory for the report, event log and logs (default ./gpuscale-up-<time>)");
  auto no_live_view = std::make_shared<bool>(false);
  sub->add_flag("--no-live-view", *no_live_view,
                "Print one line per sync instead of redrawing the terminal");
  commands.Add(sub, [options, durations, no_live_view, &log] {
    options->live_view = !*no_live_view;
    if (!SetUpLogging(log)) return 2;
    std::string error;
    if (!ParseMillis((*durations)["sync"], &options->sync_period, &error) ||
        !ParseMillis((*durations)["load"], &options->load_duration, &error) ||
        !ParseMillis((*durations)["duration"], &options->duration, &error) ||
        !ParseMillis((*durations)["exporter"], &options->exporter_interval, &error)) {
      std::fprintf(stderr, "gpuscale up: %s\n", error.c_str());
      return 2;
    }
    if (options->sync_period.count() <= 0) {
      std::fprintf(stderr, "gpuscale up: --sync-period: must be positive\n");
      return 2;
    }
    return local::RunUp(*options);
  });
}

}  // namespace gpuscale::app
