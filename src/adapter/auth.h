// Authentication and authorization as an aggregated API server does them: a front-proxy client
// certificate (verified against the requestheader CA by the TLS layer) with an allowed CN gives
// the user and groups from the configured headers; otherwise a bearer token goes to TokenReview;
// otherwise the caller is anonymous. Then system:masters and the always-allowed paths pass, and
// everything else goes to SubjectAccessReview. Reviews are cached for a TTL.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/message.h"

namespace gpuscale::adapter {

struct UserInfo {
  std::string name;
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;
};

// What a request asks to do, as the apiserver's RequestInfo describes it.
struct RequestAttributes {
  bool resource_request = false;
  std::string verb;  // get, list; for non-resource requests the lower-case HTTP method
  std::string path;
  std::string group, version, resource, subresource, name, namespace_;
};
RequestAttributes AttributesFor(const std::string& method, const std::string& path);

// The Kubernetes side of the decisions (kube-apiserver's TokenReview and SubjectAccessReview).
class Reviewer {
 public:
  virtual ~Reviewer() = default;
  // nullopt: the token is not valid.
  virtual core::Result<std::optional<UserInfo>> ReviewToken(const std::string& token) = 0;
  // true: allowed. `reason` gets the reviewer's explanation.
  virtual core::Result<bool> ReviewAccess(const UserInfo& user, const RequestAttributes& attrs,
                                          std::string* reason) = 0;
};

struct AuthOptions {
  bool front_proxy = false;  // a requestheader CA is configured (the TLS layer verifies certs)
  std::vector<std::string> allowed_names;  // empty: any CN the CA signed
  std::vector<std::string> username_headers = {"X-Remote-User"};
  std::vector<std::string> group_headers = {"X-Remote-Group"};
  std::vector<std::string> extra_headers_prefix = {"X-Remote-Extra-"};
  std::vector<std::string> always_allow_paths = {"/healthz", "/readyz", "/livez"};
  std::chrono::milliseconds cache_ttl{10000};
};

struct AuthResult {
  bool allowed = false;
  int status = 200;  // 401 or 403 when not allowed (500 when a review failed)
  std::string body;  // a Status when not allowed
  UserInfo user;
};

// Thread-safe. `reviewer` and `clock` must outlive it.
class Authorizer {
 public:
  Authorizer(AuthOptions options, Reviewer& reviewer, const core::Clock& clock);
  AuthResult Check(const http::Request& request);

 private:
  std::optional<UserInfo> FromFrontProxy(const http::Request& request, bool* rejected) const;
  AuthOptions options_;
  Reviewer& reviewer_;
  const core::Clock& clock_;
  std::mutex mu_;
  std::map<std::string, std::pair<core::Timestamp, std::optional<UserInfo>>> token_cache_;
  std::map<std::string, std::pair<core::Timestamp, bool>> access_cache_;
};

}  // namespace gpuscale::adapter
