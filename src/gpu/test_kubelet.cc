#include "gpu/test_kubelet.h"

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "gpu/pod_resources.grpc.pb.h"

namespace gpuscale::gpu {

core::Result<std::vector<ContainerDevices>> ParseMapping(const std::string& text,
                                                         const std::string& source_name) {
  std::vector<ContainerDevices> out;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::istringstream fields(line);
    std::string who, resource, ids, extra;
    fields >> who;
    if (who.empty() || who[0] == '#') continue;
    fields >> resource >> ids >> extra;
    std::string where = fmt::format("{}:{}", source_name, line_no);
    if (ids.empty() || !extra.empty()) {
      return core::InvalidArgument(fmt::format(
          "{}: expected '<namespace>/<pod>/<container> <resource> <id>[,<id>...]', found '{}'",
          where, line));
    }
    size_t a = who.find('/');
    size_t b = a == std::string::npos ? a : who.find('/', a + 1);
    if (b == std::string::npos || a == 0 || b == a + 1 || b + 1 == who.size() ||
        who.find('/', b + 1) != std::string::npos) {
      return core::InvalidArgument(
          fmt::format("{}: expected <namespace>/<pod>/<container>, found '{}'", where, who));
    }
    ContainerDevices c{
        who.substr(a + 1, b - a - 1), who.substr(0, a), who.substr(b + 1), resource, {}};
    std::istringstream list(ids);
    std::string id;
    while (std::getline(list, id, ',')) {
      if (id.empty()) {
        return core::InvalidArgument(fmt::format("{}: empty device id in '{}'", where, ids));
      }
      c.device_ids.push_back(id);
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::string FormatMapping(const std::vector<ContainerDevices>& containers) {
  std::string out;
  for (const ContainerDevices& c : containers) {
    std::string ids;
    for (const std::string& id : c.device_ids) ids += (ids.empty() ? "" : ",") + id;
    out += fmt::format("{}/{}/{} {} {}\n", c.namespace_, c.pod, c.container, c.resource_name, ids);
  }
  return out;
}

namespace {

class Service final : public v1::PodResourcesLister::Service {
 public:
  grpc::Status List(grpc::ServerContext*, const v1::ListPodResourcesRequest*,
                    v1::ListPodResourcesResponse* resp) override {
    ++calls_;
    std::lock_guard lock(mu_);
    (void)Reload();  // a broken file keeps the last good mapping
    // Group containers into pods in first-seen order.
    std::map<std::pair<std::string, std::string>, v1::PodResources*> pods;
    for (const ContainerDevices& c : containers_) {
      v1::PodResources*& pod = pods[{c.namespace_, c.pod}];
      if (pod == nullptr) {
        pod = resp->add_pod_resources();
        pod->set_name(c.pod);
        pod->set_namespace_(c.namespace_);
      }
      v1::ContainerResources* cr = nullptr;
      for (auto& existing : *pod->mutable_containers()) {
        if (existing.name() == c.container) cr = &existing;
      }
      if (cr == nullptr) {
        cr = pod->add_containers();
        cr->set_name(c.container);
      }
      v1::ContainerDevices* d = cr->add_devices();
      d->set_resource_name(c.resource_name);
      for (const std::string& id : c.device_ids) d->add_device_ids(id);
    }
    for (std::size_t filled = 0, k = 0; filled < padding_; ++k) {
      v1::PodResources* pod = resp->add_pod_resources();
      pod->set_name(fmt::format("filler-{}", k));
      pod->set_namespace_("filler");
      v1::ContainerResources* cr = pod->add_containers();
      cr->set_name(std::string(1000, 'x'));
      filled += 1024;
    }
    return grpc::Status::OK;
  }

  void Set(std::vector<ContainerDevices> c) {
    std::lock_guard lock(mu_);
    file_.clear();
    containers_ = std::move(c);
  }
  core::Status ServeFile(const std::string& path) {
    std::lock_guard lock(mu_);
    file_ = path;
    mtime_ = {};
    ino_ = 0;
    return Reload();
  }
  void SetPadding(std::size_t bytes) {
    std::lock_guard lock(mu_);
    padding_ = bytes;
  }
  int calls() const { return calls_; }

 private:
  core::Status Reload() {
    if (file_.empty()) return core::Status::Ok();
    struct stat st {};
    if (::stat(file_.c_str(), &st) != 0) {
      return core::NotFound(fmt::format("{}: cannot stat mapping file", file_));
    }
    // Modification times are coarse (one kernel tick): a rename also changes the inode.
    if (st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec &&
        st.st_ino == ino_ && st.st_size == size_) {
      return core::Status::Ok();
    }
    mtime_ = st.st_mtim;
    ino_ = st.st_ino;
    size_ = st.st_size;
    std::ifstream in(file_);
    std::stringstream buf;
    buf << in.rdbuf();
    auto parsed = ParseMapping(buf.str(), file_);
    if (!parsed.ok()) return std::move(parsed).error();
    containers_ = std::move(parsed).value();
    return core::Status::Ok();
  }

  std::mutex mu_;
  std::vector<ContainerDevices> containers_;
  std::string file_;
  timespec mtime_{};
  ino_t ino_ = 0;
  off_t size_ = -1;
  std::size_t padding_ = 0;
  std::atomic<int> calls_{0};
};

class GrpcTestKubelet final : public TestKubelet {
 public:
  explicit GrpcTestKubelet(std::string path) : path_(std::move(path)) {}
  ~GrpcTestKubelet() override { Stop(); }

  core::Status Start() {
    ::unlink(path_.c_str());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix:" + path_, grpc::InsecureServerCredentials());
    builder.SetMaxSendMessageSize(256 << 20);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    if (!server_) {
      return core::Unavailable(fmt::format("{}: test kubelet cannot listen", path_));
    }
    return core::Status::Ok();
  }

  void SetContainers(std::vector<ContainerDevices> containers) override {
    service_.Set(std::move(containers));
  }
  core::Status ServeFile(const std::string& path) override { return service_.ServeFile(path); }
  void SetPadding(std::size_t bytes) override { service_.SetPadding(bytes); }
  int list_calls() const override { return service_.calls(); }
  const std::string& socket_path() const override { return path_; }
  void Stop() override {
    std::lock_guard lock(stop_mu_);
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
      server_->Wait();
      server_.reset();
      ::unlink(path_.c_str());
    }
  }

 private:
  std::string path_;
  Service service_;
  std::mutex stop_mu_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace

core::Result<std::unique_ptr<TestKubelet>> TestKubelet::Start(const std::string& socket_path) {
  auto k = std::make_unique<GrpcTestKubelet>(socket_path);
  GPUSCALE_RETURN_IF_ERROR(k->Start());
  return std::unique_ptr<TestKubelet>(std::move(k));
}

}  // namespace gpuscale::gpu
