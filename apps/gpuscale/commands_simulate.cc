// `gpuscale simulate run|compare`: flags mapped onto sim::Options; the simulator, oracle and
// reports live in src/sim.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "apps/gpuscale/commands.h"
#include "core/duration.h"
#include "engine/profile.h"
#include "hpa/spec.h"
#include "load/arrivals.h"
#include "load/trace.h"
#include "sim/oracle.h"
#include "sim/report.h"
#include "sim/simulator.h"

namespace gpuscale::app {
namespace {

constexpr const char* kTraceAttribution =
    "Trace: Azure LLM inference trace 2023 (Azure/AzurePublicDataset), CC-BY-4.0. Patel et al., "
    "\"Splitwise: Efficient generative LLM inference using phase splitting\", ISCA 2024.";

struct SimFlags {
  std::vector<std::string> hpa;
  std::string trace;
  bool looper = false;
  double poisson = 0;
  double rate = 0;
  std::string steps;
  double time_scale = 1.0;
  double rate_scale = 1.0;
  std::string duration = "10m";
  std::string profile = "gemma-3-1b-it-l4";
  std::string router = "round-robin";
  int replicas = 1;
  int prompt_tokens = 256;
  int output_tokens = 128;
  std::string scheduling, image_pull, model_load, readiness;
  std::string collect = "1s", scrape = "15s", rule = "30s", sync = "15s";
  std::string slo_ttft = "2s", slo_itl = "100ms", oracle_interval = "1m";
  double slo_target = 0.95;
  bool no_oracle = false;
  std::uint64_t seed = 1;
  std::string json, html;
  bool with_requests = false;
};

int Fail(std::string_view flag, const std::string& message) {
  std::fprintf(stderr, "gpuscale simulate: %.*s: %s\n", static_cast<int>(flag.size()), flag.data(),
               message.c_str());
  return 2;
}

void AddFlags(CLI::App* sub, SimFlags* f, bool many) {
  if (many) {
    sub->add_option("--hpa", f->hpa, "HPA YAML files to compare (repeat)")->required();
  } else {
    sub->add_option("--hpa", f->hpa, "The HorizontalPodAutoscaler YAML")->required()->expected(1);
  }
  auto* mode = sub->add_option_group("load", "How requests arrive (exactly one)");
  mode->add_option("--trace", f->trace, "Replay an Azure LLM inference trace CSV");
  mode->add_flag("--looper", f->looper, "The seed's request-looper: one request per second");
  mode->add_option("--poisson", f->poisson, "Poisson arrivals at this mean rate (req/s)");
  mode->add_option("--rate", f->rate, "Constant rate (req/s)");
  mode->add_option("--steps", f->steps, "Rate steps RATE:DURATION,... (e.g. 2:5m,20:10m,2:5m)");
  mode->require_option(1);
  sub->add_option("--time-scale", f->time_scale, "Trace time multiplier")->capture_default_str();
  sub->add_option("--rate-scale", f->rate_scale, "Requests per trace row")->capture_default_str();
  sub->add_option("--duration", f->duration,
                  "No arrival at or after this, as load run (Go duration; 0: the whole trace)")
      ->capture_default_str();
  sub->add_option("--profile", f->profile, "Engine profile")->capture_default_str();
  sub->add_option("--router", f->router, "round-robin (a Service) or least-loaded (a gateway)")
      ->capture_default_str();
  sub->add_option("--replicas", f->replicas, "Ready replicas at the start")->capture_default_str();
  sub->add_option("--prompt-tokens", f->prompt_tokens, "Prompt length without a trace")
      ->capture_default_str();
  sub->add_option("--output-tokens", f->output_tokens,
                  "Output tokens without a trace (generated exactly)")
      ->capture_default_str();
  sub->add_option("--scheduling", f->scheduling, "Pod scheduling time (fixed:S, uniform:LO:HI..)");
  sub->add_option("--image-pull", f->image_pull, "Image pull time distribution, seconds");
  sub->add_option("--model-load", f->model_load, "Model load time distribution, seconds");
  sub->add_option("--readiness", f->readiness, "Readiness probe delay distribution, seconds");
  sub->add_option("--collect-interval", f->collect, "Exporter collect interval")
      ->capture_default_str();
  sub->add_option("--scrape-interval", f->scrape, "Prometheus scrape interval")
      ->capture_default_str();
  sub->add_option("--rule-interval", f->rule, "Recording rule evaluation interval")
      ->capture_default_str();
  sub->add_option("--sync-period", f->sync, "HPA sync period")->capture_default_str();
  sub->add_option("--slo-ttft", f->slo_ttft, "SLO: time to first token")->capture_default_str();
  sub->add_option("--slo-itl", f->slo_itl, "SLO: mean inter-token latency")->capture_default_str();
  sub->add_option("--slo-target", f->slo_target, "Fraction of requests that must meet the SLO")
      ->capture_default_str();
  sub->add_option("--oracle-interval", f->oracle_interval, "Oracle granularity")
      ->capture_default_str();
  sub->add_flag("--no-oracle", f->no_oracle, "Skip the oracle");
  sub->add_option("--seed", f->seed, "Random seed (arrivals and start-up)")->capture_default_str();
  sub->add_option("--json", f->json, "Write the JSON report here");
  sub->add_flag("--with-requests", f->with_requests, "Per-request records in the JSON");
  sub->add_option("--html", f->html, "Write the HTML report here");
}

bool WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  if (!out) std::fprintf(stderr, "gpuscale simulate: cannot write %s\n", path.c_str());
  return static_cast<bool>(out);
}

int Execute(const SimFlags& f) {
  sim::Options o;
  auto profile = engine::FindProfile(f.profile);
  if (!profile.ok()) return Fail("--profile", profile.error().message);
  o.profile = *profile;
  if (f.router == "round-robin") {
    o.router = sim::RouterKind::kRoundRobin;
  } else if (f.router == "least-loaded") {
    o.router = sim::RouterKind::kLeastLoaded;
  } else {
    return Fail("--router", "expected round-robin or least-loaded, found '" + f.router + "'");
  }
  o.initial_replicas = f.replicas;
  o.seed = f.seed;
  o.slo_target = f.slo_target;
  struct DistFlag {
    const char* name;
    const std::string& text;
    sim::DurationDist* out;
  };
  for (const DistFlag& d : {DistFlag{"--scheduling", f.scheduling, &o.scheduling},
                            DistFlag{"--image-pull", f.image_pull, &o.image_pull},
                            DistFlag{"--model-load", f.model_load, &o.model_load},
                            DistFlag{"--readiness", f.readiness, &o.readiness}}) {
    if (d.text.empty()) continue;
    auto v = sim::ParseDurationDist(d.text);
    if (!v.ok()) return Fail(d.name, v.error().message);
    *d.out = *v;
  }
  struct DurFlag {
    const char* name;
    const std::string& text;
    core::Duration* out;
  };
  core::Duration horizon{0};
  for (const DurFlag& d :
       {DurFlag{"--collect-interval", f.collect, &o.collect_interval},
        DurFlag{"--scrape-interval", f.scrape, &o.scrape_interval},
        DurFlag{"--rule-interval", f.rule, &o.rule_interval},
        DurFlag{"--sync-period", f.sync, &o.sync_period},
        DurFlag{"--slo-ttft", f.slo_ttft, &o.slo_ttft}, DurFlag{"--slo-itl", f.slo_itl, &o.slo_itl},
        DurFlag{"--oracle-interval", f.oracle_interval, &o.oracle_interval},
        DurFlag{"--duration", f.duration, &horizon}}) {
    auto v = core::ParseDuration(d.text);
    if (!v.ok()) return Fail(d.name, v.error().message);
    *d.out = *v;
  }
  o.horizon = horizon;

  load::Trace trace;
  std::string load_name, attribution;
  if (!f.trace.empty()) {
    auto t = load::ReadAzureTrace(f.trace);
    if (!t.ok()) return Fail("--trace", t.error().message);
    trace = std::move(*t);
    load_name = "trace " + f.trace;
    attribution = kTraceAttribution;
    if (f.duration == "10m") o.horizon = core::Duration{0};  // a trace runs whole by default
  } else if (f.looper) {
    load_name = "looper (1 req/s)";
  } else if (f.poisson > 0) {
    load_name = "poisson " + std::to_string(f.poisson) + " req/s";
  } else if (f.rate > 0) {
    load_name = "constant " + std::to_string(f.rate) + " req/s";
  } else if (!f.steps.empty()) {
    load_name = "steps " + f.steps;
  } else {
    return Fail("load", "a rate must be positive");
  }
  if (f.trace.empty() && o.horizon <= core::Duration{0}) {
    return Fail("--duration", "synthetic load needs a positive duration");
  }
  auto make_arrivals = [&]() -> core::Result<std::unique_ptr<load::ArrivalProcess>> {
    core::Rng rng(f.seed);
    if (!f.trace.empty()) {
      return load::MakeTraceArrivals(trace, {f.time_scale, f.rate_scale}, rng.Fork());
    }
    if (f.looper) return load::MakeConstantArrivals(1.0);
    if (f.poisson > 0) return load::MakePoissonArrivals(f.poisson, rng.Fork());
    if (f.rate > 0) return load::MakeConstantArrivals(f.rate);
    GPUSCALE_ASSIGN_OR_RETURN(auto steps, load::ParseSteps(f.steps));
    return load::MakeStepArrivals(steps, true, rng.Fork());
  };

  sim::ReportInput report;
  report.load = load_name;
  report.attribution = attribution;
  report.seed = f.seed;
  int max_replicas = 1;
  for (const std::string& path : f.hpa) {
    auto spec = hpa::LoadHpaSpecFile(path);
    if (!spec.ok()) return Fail("--hpa", spec.error().message);
    max_replicas = std::max(max_replicas, static_cast<int>(spec->max_replicas));
    auto arrivals = make_arrivals();
    if (!arrivals.ok()) return Fail("--steps", arrivals.error().message);
    auto result = sim::Simulate(o, *spec, **arrivals, f.prompt_tokens, f.output_tokens);
    if (!result.ok()) return Fail("options", result.error().message);
    sim::Run run;
    run.name = path;
    run.summary = sim::Summarize(*result);
    run.result = std::move(*result);
    report.runs.push_back(std::move(run));
  }
  if (!f.no_oracle && !report.runs.empty()) {
    auto oracle =
        sim::ComputeOracle(o, report.runs.front().result.requests, std::max(1024, max_replicas));
    if (!oracle.ok()) return Fail("--oracle-interval", oracle.error().message);
    report.oracle = std::move(*oracle);
  }
  std::fputs(sim::FormatSummary(report).c_str(), stdout);
  if (!f.json.empty() && !WriteFile(f.json, sim::FormatJson(report, f.with_requests))) return 1;
  if (!f.html.empty() && !WriteFile(f.html, sim::FormatHtml(report))) return 1;
  return 0;
}

}  // namespace

void RegisterSimulate(CLI::App& app, core::LogOptions& log, CommandSet& commands) {
  (void)log;
  CLI::App* simulate = app.add_subcommand(
      "simulate", "Simulate the autoscaling loop in virtual time before paying for GPUs");
  simulate->require_subcommand(1);
  auto run_flags = std::make_shared<SimFlags>();
  CLI::App* run = simulate->add_subcommand("run", "Simulate one HPA on a load");
  AddFlags(run, run_flags.get(), false);
  commands.Add(run, [run_flags] { return Execute(*run_flags); });
  auto cmp_flags = std::make_shared<SimFlags>();
  CLI::App* compare =
      simulate->add_subcommand("compare", "Simulate several HPAs on the same load and tabulate");
  AddFlags(compare, cmp_flags.get(), true);
  commands.Add(compare, [cmp_flags] { return Execute(*cmp_flags); });
}

}  // namespace gpuscale::app
