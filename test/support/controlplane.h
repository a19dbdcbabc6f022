// A real Kubernetes control plane on loopback for e2e tests: etcd, kube-apiserver and
// kube-controller-manager (built by scripts/build-peers) on free 127.0.0.1 ports, with their own
// certificates (cluster CA, front-proxy CA and aggregator client, service-account keys, admin
// client and kubeconfig) in a work directory that also holds every component's log.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "test/support/process.h"

namespace gpuscale::http {
class Client;
}

namespace gpuscale::testing {

// The path of a peer binary built by `scripts/build-peers` (e.g. "etcd", "kube-apiserver").
// Builds nothing: a peer that is not built yet is a kFailedPrecondition error naming the
// command to run.
core::Result<std::string> PeerBinary(std::string_view name);

// Files written by MakeControlPlaneCertificates, all PEM, all under one directory.
struct ControlPlaneCerts {
  std::string dir;
  std::string ca_cert, ca_key;                // cluster CA (serving + client certs)
  std::string apiserver_cert, apiserver_key;  // kube-apiserver serving cert
  std::string admin_cert, admin_key;          // CN=admin, O=system:masters
  std::string controller_manager_cert, controller_manager_key;  // CN=system:kube-controller-manager
  std::string front_proxy_ca_cert, front_proxy_ca_key;          // requestheader client CA
  std::string front_proxy_client_cert, front_proxy_client_key;  // CN=front-proxy-client
  std::string service_account_key, service_account_pub;         // token signing key pair
};

// Creates the certificates above in `dir` (EC P-256 keys, valid for two days). The serving cert
// names localhost, 127.0.0.1, the kubernetes Service's DNS names and `service_ip`.
core::Result<ControlPlaneCerts> MakeControlPlaneCertificates(const std::string& dir,
                                                             std::string_view service_ip);

struct ControlPlaneOptions {
  // Certificates, etcd data, kubeconfigs and logs go here; empty: a fresh temporary directory.
  // The directory is left in place (it is the failure bundle); RemoveWorkDir() deletes it.
  std::string work_dir;
  // kube-controller-manager --horizontal-pod-autoscaler-sync-period (a seed cluster has 15s).
  std::string hpa_sync_period = "15s";
  // --horizontal-pod-autoscaler-downscale-stabilization; empty: the upstream default (5m).
  std::string hpa_downscale_stabilization;
  // false: etcd and kube-apiserver only.
  bool start_controller_manager = true;
  std::vector<std::string> extra_apiserver_flags;
  std::vector<std::string> extra_controller_manager_flags;
  // Deadline for each component to become healthy.
  std::chrono::milliseconds start_timeout{120000};
};

// One answer from kube-apiserver.
struct ApiResponse {
  int status = 0;    // HTTP status
  std::string body;  // usually JSON (an object or a metav1.Status)
};

// A running control plane. Destruction stops kube-controller-manager, kube-apiserver and etcd
// (in that order). Request() is thread-safe.
class ControlPlane {
 public:
  static core::Result<std::unique_ptr<ControlPlane>> Start(ControlPlaneOptions options);
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  // Stops every component (idempotent).
  void Stop();
  // Deletes the work directory (after Stop()).
  void RemoveWorkDir();
  // The end of a test: stops every component; then, when `keep` (the test failed), prints
  // where the work directory (the failure bundle) is and each component log's tail to
  // stderr, else deletes the directory.
  void Finish(bool keep);

  // https://127.0.0.1:<port>
  const std::string& url() const { return url_; }
  const std::string& work_dir() const { return work_dir_; }
  // A kubeconfig with the admin (system:masters) client certificate.
  const std::string& admin_kubeconfig() const { return admin_kubeconfig_; }
  const ControlPlaneCerts& certs() const { return certs_; }
  // Log file paths of the components started, by name ("etcd", "kube-apiserver", ...).
  std::vector<std::pair<std::string, std::string>> LogFiles() const;

  // One HTTPS call to kube-apiserver as admin. `path` starts with '/'. A non-2xx answer is
  // returned as a response; transport failures are errors.
  core::Result<ApiResponse> Request(std::string_view method, std::string_view path,
                                    std::string_view body = {},
                                    std::string_view content_type = "application/json");
  core::Result<ApiResponse> Get(std::string_view path) { return Request("GET", path); }
  // POST of a JSON object; a non-2xx answer is an error carrying the status and body.
  core::Status Create(std::string_view collection_path, std::string_view json);

  // Creates a namespace and waits until its `default` ServiceAccount exists (pods are refused
  // before that by the ServiceAccount admission plugin).
  core::Status CreateNamespace(std::string_view name,
                               std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // Plays the kubelet for one pod: patches its status to Running and Ready with `pod_ip`.
  core::Status MarkPodRunning(std::string_view ns, std::string_view pod, std::string_view pod_ip);

 private:
  ControlPlane();
  core::Status StartAll(const ControlPlaneOptions& options);

  std::string work_dir_;
  std::string url_;
  std::string admin_kubeconfig_;
  ControlPlaneCerts certs_;
  std::unique_ptr<http::Client> client_;  // admin
  std::unique_ptr<Subprocess> etcd_;
  std::unique_ptr<Subprocess> apiserver_;
  std::unique_ptr<Subprocess> controller_manager_;
};

}  // namespace gpuscale::testing
