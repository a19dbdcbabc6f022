#include "hpa/cli.h"

#include "hpa/decision_json.h"
#include "hpa/spec.h"
#include "hpa/state.h"

namespace gpuscale::hpa {
namespace {

void ApplyHistory(const ControllerHistory& h, Autoscaler* a) {
  if (h.recommendations) a->SetRecommendations(*h.recommendations);
  a->SetScaleEvents(h.scale_up_events, h.scale_down_events);
}

}  // namespace

core::Status RunRecommend(const RunOptions& options, std::ostream& out) {
  GPUSCALE_ASSIGN_OR_RETURN(HpaSpec spec, LoadHpaSpecFile(options.hpa_path));
  GPUSCALE_ASSIGN_OR_RETURN(StateInput in, LoadStateFile(options.input_path));
  Autoscaler a(spec, options.controller);
  ApplyHistory(in.history, &a);
  Decision d = a.Sync(in.state);
  out << EncodeDecision(a.spec(), d) << "\n";
  return core::Status::Ok();
}

core::Status RunReplay(const RunOptions& options, std::ostream& out) {
  GPUSCALE_ASSIGN_OR_RETURN(HpaSpec spec, LoadHpaSpecFile(options.hpa_path));
  GPUSCALE_ASSIGN_OR_RETURN(std::vector<StateInput> states, LoadStateLinesFile(options.input_path));
  Autoscaler a(spec, options.controller);
  ApplyHistory(states.front().history, &a);
  for (const StateInput& in : states) {
    Decision d = a.Sync(in.state);
    out << EncodeDecision(a.spec(), d) << "\n";
  }
  return core::Status::Ok();
}

}  // namespace gpuscale::hpa
