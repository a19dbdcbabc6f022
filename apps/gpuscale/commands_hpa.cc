// `gpuscale hpa recommend|replay`: kube-controller-manager's HPA flags mapped onto
// hpa::Options; the work is in hpa::RunRecommend / hpa::RunReplay.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "apps/gpuscale/commands.h"
#include "core/duration.h"
#include "hpa/cli.h"

namespace gpuscale::app {
namespace {

struct HpaFlags {
  hpa::RunOptions run;
  std::string downscale_stabilization = "5m";
  std::string cpu_initialization_period = "5m";
  std::string initial_readiness_delay = "30s";
  bool disable_configurable_tolerance = false;
};

void AddFlags(CLI::App* sub, HpaFlags& f, const char* input_help) {
  sub->add_option("--hpa", f.run.hpa_path, "HorizontalPodAutoscaler manifest (YAML or JSON)")
      ->required();
  sub->add_option("--input", f.run.input_path, input_help)->required();
  sub->add_option("--horizontal-pod-autoscaler-tolerance", f.run.controller.tolerance,
                  "Global tolerance around a usage ratio of 1.0")
      ->capture_default_str();
  sub->add_option("--horizontal-pod-autoscaler-downscale-stabilization", f.downscale_stabilization,
                  "Scale-down stabilization window (legacy path, and behavior.scaleDown when "
                  "its window is unset)")
      ->capture_default_str();
  sub->add_option("--horizontal-pod-autoscaler-cpu-initialization-period",
                  f.cpu_initialization_period,
                  "Period after pod start when CPU samples might be skipped")
      ->capture_default_str();
  sub->add_option("--horizontal-pod-autoscaler-initial-readiness-delay", f.initial_readiness_delay,
                  "Period after pod start during which readiness changes count as initial")
      ->capture_default_str();
  sub->add_flag("--disable-configurable-tolerance", f.disable_configurable_tolerance,
                "Ignore behavior.*.tolerance (feature gate HPAConfigurableTolerance off, as "
                "before Kubernetes 1.35)");
  sub->add_flag("--legacy-tolerance", f.run.controller.legacy_tolerance_formula,
                "Use |1 - ratio| <= tolerance, as controllers before Kubernetes 1.33 do");
}

int Run(HpaFlags& f, bool replay) {
  struct {
    const std::string* text;
    core::Duration* out;
    const char* flag;
  } durations[] = {
      {&f.downscale_stabilization, &f.run.controller.downscale_stabilization,
       "--horizontal-pod-autoscaler-downscale-stabilization"},
      {&f.cpu_initialization_period, &f.run.controller.cpu_initialization_period,
       "--horizontal-pod-autoscaler-cpu-initialization-period"},
      {&f.initial_readiness_delay, &f.run.controller.initial_readiness_delay,
       "--horizontal-pod-autoscaler-initial-readiness-delay"},
  };
  for (auto& d : durations) {
    auto v = core::ParseDuration(*d.text);
    if (!v.ok()) {
      std::fprintf(stderr, "gpuscale hpa: %s: %s\n", d.flag, v.error().message.c_str());
      return 2;
    }
    *d.out = *v;
  }
  f.run.controller.configurable_tolerance = !f.disable_configurable_tolerance;
  core::Status s = replay ? hpa::RunReplay(f.run, std::cout) : hpa::RunRecommend(f.run, std::cout);
  std::cout.flush();
  if (!s.ok()) {
    std::fprintf(stderr, "gpuscale hpa: %s\n", s.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterHpa(CLI::App& app, CommandSet& commands) {
  CLI::App* hpa = app.add_subcommand(
      "hpa", "Predict the Kubernetes HorizontalPodAutoscaler's decisions (autoscaling/v2)");
  hpa->require_subcommand(1);
  auto recommend_flags = std::make_shared<HpaFlags>();
  CLI::App* recommend = hpa->add_subcommand(
      "recommend", "Print the decision for one observed state as JSON (docs/hpa.md)");
  AddFlags(recommend, *recommend_flags, "Observed state, JSON or YAML (docs/hpa-state.md)");
  commands.Add(recommend, [recommend_flags] { return Run(*recommend_flags, false); });
  auto replay_flags = std::make_shared<HpaFlags>();
  CLI::App* replay = hpa->add_subcommand(
      "replay", "Feed a time series of states and print each sync's decision, one JSON per line");
  AddFlags(replay, *replay_flags, "Observed states, one JSON object per line (docs/hpa-state.md)");
  commands.Add(replay, [replay_flags] { return Run(*replay_flags, true); });
}

}  // namespace gpuscale::app
