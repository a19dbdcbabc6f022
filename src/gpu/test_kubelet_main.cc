// gpuscale-test-kubelet: serves the pod-resources API on a unix socket from a mapping file
// (see gpu/test_kubelet.h for its format), re-reading the file when it changes. Stops on
// SIGTERM or SIGINT.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "gpu/test_kubelet.h"

int main(int argc, char** argv) {
  std::string socket, mapping;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--socket" && i + 1 < argc) {
      socket = argv[++i];
    } else if (a == "--mapping" && i + 1 < argc) {
      mapping = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s --socket PATH [--mapping FILE]\n", argv[0]);
      return 2;
    }
  }
  if (socket.empty()) {
    std::fprintf(stderr, "usage: %s --socket PATH [--mapping FILE]\n", argv[0]);
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before gRPC starts its threads
  auto kubelet = gpuscale::gpu::TestKubelet::Start(socket);
  if (!kubelet.ok()) {
    std::fprintf(stderr, "gpuscale-test-kubelet: %s\n", kubelet.error().message.c_str());
    return 1;
  }
  if (!mapping.empty()) {
    gpuscale::core::Status s = (*kubelet)->ServeFile(mapping);
    if (!s.ok()) {
      std::fprintf(stderr, "gpuscale-test-kubelet: %s\n", s.error().message.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "gpuscale-test-kubelet: serving %s\n", socket.c_str());
  int sig = 0;
  sigwait(&set, &sig);
  (*kubelet)->Stop();
  return 0;
}
