// A stand-in kubelet serving the pod-resources API v1 (gRPC over a unix socket), for unit,
// integration and e2e tests. It answers List from an in-memory mapping that a test replaces at
// will, or from a mapping file it re-reads whenever the file changes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "gpu/pod_resources.h"

namespace gpuscale::gpu {

// Mapping file: one allocation per line, '#' comments and blank lines ignored:
//   <namespace>/<pod>/<container> <resource-name> <device-id>[,<device-id>...]
// e.g. "default/vllm-0/vllm nvidia.com/gpu GPU-8f3e...". Errors name file:line.
core::Result<std::vector<ContainerDevices>> ParseMapping(const std::string& text,
                                                         const std::string& source_name);
std::string FormatMapping(const std::vector<ContainerDevices>& containers);

// Thread-safe.
class TestKubelet {
 public:
  // Listens on `socket_path` (an existing file there is replaced). Errors: kUnavailable.
  static core::Result<std::unique_ptr<TestKubelet>> Start(const std::string& socket_path);
  virtual ~TestKubelet() = default;

  // Replaces the answer of List.
  virtual void SetContainers(std::vector<ContainerDevices> containers) = 0;
  // Serves `path` instead, re-read when its modification time changes; a file with errors
  // keeps the last good mapping (the error is returned by the first read only).
  virtual core::Status ServeFile(const std::string& path) = 0;
  // Adds `bytes` of filler pods to every answer (to exceed gRPC's default 4 MiB).
  virtual void SetPadding(std::size_t bytes) = 0;
  virtual int list_calls() const = 0;
  virtual const std::string& socket_path() const = 0;
  // Stops serving and removes the socket. Idempotent.
  virtual void Stop() = 0;
};

}  // namespace gpuscale::gpu
