#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include <mutex>

#include "gpu/pod_resources.grpc.pb.h"
#include "gpu/pod_resources.h"

namespace gpuscale::gpu {
namespace {

class GrpcPodResourcesClient final : public PodResourcesClient {
 public:
  GrpcPodResourcesClient(std::string socket_path, int max_receive_bytes)
      : socket_path_(std::move(socket_path)), max_receive_bytes_(max_receive_bytes) {}

  core::Result<std::vector<ContainerDevices>> List(std::chrono::milliseconds timeout) override {
    struct stat st {};
    if (::stat(socket_path_.c_str(), &st) != 0) {
      Reset();
      return core::Unavailable(fmt::format("{}: pod-resources socket not found", socket_path_));
    }
    std::shared_ptr<v1::PodResourcesLister::Stub> stub = Stub();
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + timeout);
    v1::ListPodResourcesRequest req;
    v1::ListPodResourcesResponse resp;
    grpc::Status status = stub->List(&ctx, req, &resp);
    if (!status.ok()) {
      // A fresh channel next time: a kubelet restart replaces the socket file.
      Reset();
      auto code = status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
                      ? core::Code::kDeadlineExceeded
                      : core::Code::kUnavailable;
      return core::MakeError(code,
                             fmt::format("{}: List: {} ({})", socket_path_, status.error_message(),
                                         static_cast<int>(status.error_code())));
    }
    std::vector<ContainerDevices> out;
    for (const v1::PodResources& pod : resp.pod_resources()) {
      for (const v1::ContainerResources& c : pod.containers()) {
        for (const v1::ContainerDevices& d : c.devices()) {
          ContainerDevices cd{pod.name(), pod.namespace_(), c.name(), d.resource_name(), {}};
          cd.device_ids.assign(d.device_ids().begin(), d.device_ids().end());
          out.push_back(std::move(cd));
        }
      }
    }
    return out;
  }

 private:
  std::shared_ptr<v1::PodResourcesLister::Stub> Stub() {
    std::lock_guard lock(mu_);
    if (!stub_) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(max_receive_bytes_);
      // Reconnect quickly once the kubelet is back, not after gRPC's default 1 s..120 s backoff.
      args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
      auto channel = grpc::CreateCustomChannel("unix://" + socket_path_,
                                               grpc::InsecureChannelCredentials(), args);
      stub_ = std::shared_ptr<v1::PodResourcesLister::Stub>(
          v1::PodResourcesLister::NewStub(channel).release());
    }
    return stub_;
  }
  void Reset() {
    std::lock_guard lock(mu_);
    stub_.reset();
  }

  const std::string socket_path_;
  const int max_receive_bytes_;
  std::mutex mu_;
  std::shared_ptr<v1::PodResourcesLister::Stub> stub_;
};

}  // namespace

std::unique_ptr<PodResourcesClient> PodResourcesClient::Create(const std::string& socket_path,
                                                               int max_receive_bytes) {
  return std::make_unique<GrpcPodResourcesClient>(socket_path, max_receive_bytes);
}

}  // namespace gpuscale::gpu
