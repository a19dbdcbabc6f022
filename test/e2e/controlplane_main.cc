// gpuscale-controlplane: runs the e2e control plane (etcd, kube-apiserver,
// kube-controller-manager on loopback) until SIGINT or SIGTERM, for people and scripts
// (scripts/controlplane). Once it is up it writes <work-dir>/env (KUBECONFIG, the apiserver URL)
// and prints "ready".
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

#include "test/support/controlplane.h"

int main(int argc, char** argv) {
  CLI::App app{"Runs etcd, kube-apiserver and kube-controller-manager on loopback."};
  gpuscale::testing::ControlPlaneOptions options;
  app.add_option("--work-dir", options.work_dir,
                 "certificates, etcd data, kubeconfigs and logs (default: a new temporary folder)");
  app.add_option("--hpa-sync-period", options.hpa_sync_period,
                 "kube-controller-manager --horizontal-pod-autoscaler-sync-period")
      ->capture_default_str();
  app.add_option("--hpa-downscale-stabilization", options.hpa_downscale_stabilization,
                 "kube-controller-manager --horizontal-pod-autoscaler-downscale-stabilization");
  bool no_kcm = false;
  app.add_flag("--no-controller-manager", no_kcm, "start etcd and kube-apiserver only");
  CLI11_PARSE(app, argc, argv);
  options.start_controller_manager = !no_kcm;

  auto cp = gpuscale::testing::ControlPlane::Start(options);
  if (!cp.ok()) {
    std::fprintf(stderr, "gpuscale-controlplane: %s\n", cp.error().ToString().c_str());
    return 1;
  }
  std::string env_path = (*cp)->work_dir() + "/env";
  {
    std::ofstream env(env_path);
    env << "export KUBECONFIG=" << (*cp)->admin_kubeconfig() << "\n"
        << "export GPUSCALE_APISERVER=" << (*cp)->url() << "\n"
        << "export GPUSCALE_CONTROLPLANE_DIR=" << (*cp)->work_dir() << "\n";
  }
  std::printf("kube-apiserver: %s\nkubeconfig: %s\nlogs: %s\nenv: %s\nready\n",
              (*cp)->url().c_str(), (*cp)->admin_kubeconfig().c_str(), (*cp)->work_dir().c_str(),
              env_path.c_str());
  std::fflush(stdout);
  // Blocked only now: the components inherit the signal mask, and must stay stoppable. A
  // signal during start-up kills this process, and their parent-death signal kills them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  int sig = 0;
  sigwait(&stop, &sig);
  (*cp)->Stop();
  return 0;
}
