// The real kube-controller-manager against our loopback control plane: the Deployment and
// ReplicaSet controllers create a pod, the test plays the kubelet, and the real HPA controller
// reconciles an autoscaling/v2 HPA over a Pods metric (no metrics API is registered yet, so it
// must say so in its conditions).
#include "test/support/controlplane.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "test/support/kube_json.h"

namespace gpuscale::testing {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

constexpr std::string_view kNamespace = "vllm-example";
constexpr std::string_view kDeployment = "vllm-gemma-deployment";
constexpr std::string_view kHpa = "gemma-server-gpu-hpa";

// The seed's Deployment, reduced to what the controllers read (no image is ever pulled).
constexpr std::string_view kDeploymentJson = R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "vllm-gemma-deployment", "labels": {"app": "gemma-server"}},
  "spec": {
    "replicas": 1,
    "selector": {"matchLabels": {"app": "gemma-server"}},
    "template": {
      "metadata": {"labels": {"app": "gemma-server"}},
      "spec": {"containers": [{"name": "inference-server", "image": "gpuscale/engine",
                               "ports": [{"name": "http", "containerPort": 8081}]}]}
    }
  }
})";

// The seed's HPA: average gpu_utilization_percent of 20 per pod.
constexpr std::string_view kHpaJson = R"({
  "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
  "metadata": {"name": "gemma-server-gpu-hpa"},
  "spec": {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                       "name": "vllm-gemma-deployment"},
    "minReplicas": 1, "maxReplicas": 5,
    "metrics": [{"type": "Pods", "pods": {
      "metric": {"name": "gpu_utilization_percent"},
      "target": {"type": "AverageValue", "averageValue": "20"}}}]
  }
})";

// GETs `path` and parses the JSON body; a null value when the call or the parse fails.
json::value GetJson(ControlPlane& cp, const std::string& path) {
  auto r = cp.Get(path);
  if (!r.ok() || r->status != 200) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  return ec ? json::value(nullptr) : v;
}

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = ControlPlane::Start({});
    ASSERT_TRUE(started.ok()) << started.error().ToString();
    cp_ = std::move(*started);
    hpa_timeline_ = cp_->work_dir() + "/hpa-timeline.jsonl";
  }

  // A failure leaves the work directory (certificates, component logs, the HPA timeline) and
  // prints where it is; success removes it.
  void TearDown() override {
    if (!cp_) return;
    cp_->Finish(HasFailure());
  }

  // Reads the HPA and appends it to the timeline file of the bundle.
  json::value SnapshotHpa() {
    json::value hpa =
        GetJson(*cp_, std::string("/apis/autoscaling/v2/namespaces/") + std::string(kNamespace) +
                          "/horizontalpodautoscalers/" + std::string(kHpa));
    std::ofstream(hpa_timeline_, std::ios::app) << json::serialize(hpa) << "\n";
    return hpa;
  }

  std::unique_ptr<ControlPlane> cp_;
  std::string hpa_timeline_;
};

TEST_F(ControlPlaneTest, RealControllersRunTheDeploymentAndTheHpa) {
  const std::string ns(kNamespace);
  ASSERT_TRUE(cp_->CreateNamespace(ns).ok());
  auto created = cp_->Create("/apis/apps/v1/namespaces/" + ns + "/deployments", kDeploymentJson);
  ASSERT_TRUE(created.ok()) << created.ToString();
  created =
      cp_->Create("/apis/autoscaling/v2/namespaces/" + ns + "/horizontalpodautoscalers", kHpaJson);
  ASSERT_TRUE(created.ok()) << created.ToString();

  // The deployment controller makes a ReplicaSet, the replicaset controller its pod.
  std::vector<std::string> replica_sets, pods;
  ASSERT_TRUE(WaitFor(
      [&] {
        replica_sets =
            OwnedBy(GetJson(*cp_, "/apis/apps/v1/namespaces/" + ns + "/replicasets"), kDeployment);
        return replica_sets.size() == 1;
      },
      seconds(60), std::chrono::milliseconds(200)))
      << "no ReplicaSet owned by " << kDeployment;
  ASSERT_TRUE(WaitFor(
      [&] {
        pods = OwnedBy(GetJson(*cp_, "/api/v1/namespaces/" + ns + "/pods"), replica_sets[0]);
        return pods.size() == 1;
      },
      seconds(60), std::chrono::milliseconds(200)))
      << "no pod owned by " << replica_sets[0];

  // Play the kubelet; the replicaset and deployment controllers must see the pod as available.
  auto marked = cp_->MarkPodRunning(ns, pods[0], "127.0.0.2");
  ASSERT_TRUE(marked.ok()) << marked.ToString();
  json::value pod = GetJson(*cp_, "/api/v1/namespaces/" + ns + "/pods/" + pods[0]);
  EXPECT_EQ(StringAt(pod, "status.phase"), "Running");
  EXPECT_EQ(StringAt(pod, "status.podIP"), "127.0.0.2");
  EXPECT_TRUE(WaitFor(
      [&] {
        json::value d = GetJson(
            *cp_, "/apis/apps/v1/namespaces/" + ns + "/deployments/" + std::string(kDeployment));
        return IntAt(d, "status.availableReplicas") == 1;
      },
      seconds(60), std::chrono::milliseconds(200)))
      << "the Deployment never reported the pod available";

  // The HPA controller reconciles within a sync period (15 s) of the HPA's creation: with no
  // custom metrics API it cannot get the Pods metric and says so.
  std::string reason, message;
  bool reported = WaitFor(
      [&] {
        json::value hpa = SnapshotHpa();
        const json::value* conditions = At(hpa, "status.conditions");
        if (!conditions || !conditions->is_array()) return false;
        for (const auto& c : conditions->as_array()) {
          if (StringAt(c, "type") == "ScalingActive") {
            reason = StringAt(c, "reason");
            message = StringAt(c, "message");
            return StringAt(c, "status") == "False";
          }
        }
        return false;
      },
      seconds(90), std::chrono::milliseconds(500));
  ASSERT_TRUE(reported) << "no ScalingActive=False condition; timeline in " << hpa_timeline_;
  EXPECT_EQ(reason, "FailedGetPodsMetric") << message;
  EXPECT_NE(message.find("gpu_utilization_percent"), std::string::npos) << message;

  // Without a metric the HPA leaves the Deployment alone.
  json::value d =
      GetJson(*cp_, "/apis/apps/v1/namespaces/" + ns + "/deployments/" + std::string(kDeployment));
  EXPECT_EQ(IntAt(d, "spec.replicas"), 1);
  json::value hpa = SnapshotHpa();
  EXPECT_EQ(IntAt(hpa, "status.currentReplicas"), 1);
}

}  // namespace
}  // namespace gpuscale::testing
