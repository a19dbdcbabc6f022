// A minimal Kubernetes REST client: kubeconfig (client certificates, bearer tokens, CA, inline
// *-data) or the in-cluster service account, GET/POST of JSON, LIST of object names, and
// line-by-line WATCH streams. Objects are decoded into the few fields gpuscale needs.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "http/client.h"

namespace gpuscale::kube {

struct RestConfig {
  std::string server;  // https://host:port
  http::TlsClientOptions tls;
  std::string token;       // bearer token (inline)
  std::string token_file;  // bearer token file, re-read on every request
  std::chrono::milliseconds timeout{10000};
};

// Reads a kubeconfig's current context. Inline *-data fields are written to files under
// `scratch_dir` (created; default: a fresh temporary directory). Errors name the file and field.
core::Result<RestConfig> LoadKubeconfig(const std::string& path, std::string scratch_dir = "");
// The in-cluster service account (KUBERNETES_SERVICE_HOST/PORT, the mounted token and CA).
core::Result<RestConfig> InClusterConfig();

// Object metadata, the part of any object gpuscale reads.
struct ObjectMeta {
  std::string namespace_;
  std::string name;
  std::string resource_version;
  std::map<std::string, std::string> labels;
};
struct ObjectList {
  std::string resource_version;
  std::vector<ObjectMeta> items;
};
struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK, ERROR
  ObjectMeta object;
  int error_code = 0;  // for ERROR events (410: resource version too old)
};
// JSON codecs; errors are kDataLoss naming the field.
core::Result<ObjectList> DecodeObjectList(std::string_view json);
core::Result<WatchEvent> DecodeWatchEvent(std::string_view json);
core::Result<std::map<std::string, std::string>> DecodeConfigMapData(std::string_view json);
// A JSON array of strings ("[\"X-Remote-User\"]"), as extension-apiserver-authentication keeps
// its requestheader-* values.
core::Result<std::vector<std::string>> DecodeStringArray(std::string_view json);

// TokenReview and SubjectAccessReview (authentication.k8s.io/v1, authorization.k8s.io/v1).
struct ReviewedUser {
  bool authenticated = false;
  std::string username;
  std::vector<std::string> groups;
  std::string error;
};
std::string EncodeTokenReview(std::string_view token);
core::Result<ReviewedUser> DecodeTokenReview(std::string_view json);
struct AccessRequest {
  std::string user;
  std::vector<std::string> groups;
  bool resource = true;
  std::string verb, group, version, resource_name, subresource, name, namespace_, path;
};
std::string EncodeSubjectAccessReview(const AccessRequest& request);
// `allowed`, with the reason in *reason.
core::Result<bool> DecodeSubjectAccessReview(std::string_view json, std::string* reason);

// Thread-safe.
class Client {
 public:
  static core::Result<std::unique_ptr<Client>> Create(RestConfig config);
  // `kubeconfig` empty: in-cluster.
  static core::Result<std::unique_ptr<Client>> FromKubeconfigOrInCluster(
      const std::string& kubeconfig);
  ~Client();

  // A non-2xx answer is an Error whose code follows the HTTP status and whose message carries
  // the Status message.
  core::Result<std::string> Get(const std::string& path);
  core::Result<std::string> Post(const std::string& path, const std::string& json);
  // "/api/v1" or "/apis/<group>/<version>" + "/namespaces/<ns>" (if any) + "/<resource>".
  static std::string ResourcePath(std::string_view group, std::string_view version,
                                  std::string_view resource, std::string_view namespace_);
  core::Result<std::vector<std::string>> ListNames(std::string_view group, std::string_view version,
                                                   std::string_view resource,
                                                   std::string_view namespace_,
                                                   std::string_view label_selector);
  // Streams a watch: calls `on_line` for each JSON line until the server ends the stream,
  // `on_line` returns false, or `cancelled()` turns true (checked per chunk). Blocks.
  core::Status Watch(const std::string& path_and_query,
                     const std::function<bool(std::string_view line)>& on_line,
                     const std::function<bool()>& cancelled);
  const RestConfig& config() const { return config_; }

 private:
  explicit Client(RestConfig config);
  http::Headers AuthHeaders() const;
  RestConfig config_;
  std::unique_ptr<http::Client> http_;
};

}  // namespace gpuscale::kube
