// The library side of `gpuscale hpa recommend` and `gpuscale hpa replay`: read the HPA and the
// observed state(s), run the Autoscaler, write one JSON decision per sync.
#pragma once

#include <ostream>
#include <string>

#include "core/result.h"
#include "hpa/autoscaler.h"

namespace gpuscale::hpa {

struct RunOptions {
  std::string hpa_path;    // HorizontalPodAutoscaler manifest (YAML or JSON)
  std::string input_path;  // recommend: one state (JSON/YAML); replay: JSON Lines
  Options controller;      // kube-controller-manager settings and gates
};

// Prints one decision for the state in input_path. The state's recommendations and scale
// events, when given, are the controller's memory before this sync.
core::Status RunRecommend(const RunOptions& options, std::ostream& out);
// Feeds each line of input_path to one Autoscaler in order and prints each decision on its own
// line. History fields are honoured on the first line only.
core::Status RunReplay(const RunOptions& options, std::ostream& out);

}  // namespace gpuscale::hpa
