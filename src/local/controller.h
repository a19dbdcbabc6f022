// The HPA controller of `gpuscale up`: turns the replicas and the metrics read this sync into
// the hpa library's observed State, as kube-controller-manager would see them through the pod
// list and the custom metrics API, and asks the Autoscaler for a decision. Pure: no clock, no
// I/O; the up loop calls it every sync period.
#pragma once

#include <vector>

#include "hpa/autoscaler.h"
#include "local/metrics_source.h"
#include "local/replicas.h"

namespace gpuscale::local {

// Builds the observed state. `spec_replicas` is the count last decided (the Deployment's
// spec.replicas); `replicas` are the pods that exist.
hpa::State BuildState(const hpa::HpaSpec& spec, int spec_replicas,
                      const std::vector<ReplicaView>& replicas, const PodMetrics& metrics,
                      core::Timestamp now);

}  // namespace gpuscale::local
