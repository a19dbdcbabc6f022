#include "adapter/auth.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "adapter/encode.h"
#include "core/json_escape.h"

namespace gpuscale::adapter {
namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

RequestAttributes AttributesFor(const std::string& method, const std::string& path) {
  RequestAttributes a;
  a.path = path;
  a.verb = Lower(method);
  auto p = Split(path);
  // /apis/<group>/<version>/... with at least a resource is a resource request.
  if (p.size() < 4 || p[0] != "apis") return a;
  a.resource_request = true;
  a.group = p[1];
  a.version = p[2];
  std::vector<std::string> rest(p.begin() + 3, p.end());
  if (rest.size() >= 2 && rest[0] == "namespaces") {
    if (rest.size() == 2) {
      // GET /namespaces/<ns>: the namespace object itself.
      a.resource = "namespaces";
      a.name = rest[1];
      rest.clear();
    } else {
      a.namespace_ = rest[1];
      rest.erase(rest.begin(), rest.begin() + 2);
    }
  }
  if (!rest.empty()) a.resource = rest[0];
  if (rest.size() >= 2) a.name = rest[1];
  if (rest.size() >= 3) a.subresource = rest[2];
  if (a.verb == "get" && a.name.empty()) a.verb = "list";
  return a;
}

Authorizer::Authorizer(AuthOptions options, Reviewer& reviewer, const core::Clock& clock)
    : options_(std::move(options)), reviewer_(reviewer), clock_(clock) {}

std::optional<UserInfo> Authorizer::FromFrontProxy(const http::Request& req, bool* rejected) const {
  *rejected = false;
  if (!options_.front_proxy || !req.peer_certificate) return std::nullopt;
  const auto& cn = req.peer_certificate->common_name;
  if (!options_.allowed_names.empty() &&
      std::find(options_.allowed_names.begin(), options_.allowed_names.end(), cn) ==
          options_.allowed_names.end()) {
    spdlog::warn("front-proxy certificate CN \"{}\" is not in --requestheader-allowed-names", cn);
    *rejected = true;
    return std::nullopt;
  }
  UserInfo u;
  for (const auto& h : options_.username_headers) {
    if (auto v = req.headers.Get(h); v && !v->empty()) {
      u.name = std::string(*v);
      break;
    }
  }
  if (u.name.empty()) return std::nullopt;
  for (const auto& h : options_.group_headers) {
    for (auto v : req.headers.GetAll(h)) u.groups.emplace_back(v);
  }
  for (const auto& prefix : options_.extra_headers_prefix) {
    const std::string lp = Lower(prefix);
    for (const auto& [name, value] : req.headers.fields()) {
      std::string ln = Lower(name);
      if (ln.size() > lp.size() && ln.starts_with(lp)) {
        u.extra[http::PercentDecode(ln.substr(lp.size()))].push_back(value);
      }
    }
  }
  return u;
}

AuthResult Authorizer::Check(const http::Request& req) {
  AuthResult r;
  const std::string path = req.Path();
  const core::Timestamp now = clock_.Now();
  // Authentication.
  bool rejected = false;
  std::optional<UserInfo> user = FromFrontProxy(req, &rejected);
  if (rejected) {
    r.status = 401;
    r.body = EncodeStatus(401, "Unauthorized", "Unauthorized");
    return r;
  }
  if (!user) {
    auto auth = req.headers.Get("Authorization");
    if (auth && auth->size() > 7 && Lower(std::string(auth->substr(0, 7))) == "bearer ") {
      const std::string token(auth->substr(7));
      std::optional<std::optional<UserInfo>> cached;
      {
        std::lock_guard lock(mu_);
        auto it = token_cache_.find(token);
        if (it != token_cache_.end() && now - it->second.first < options_.cache_ttl)
          cached = it->second.second;
      }
      if (!cached) {
        auto reviewed = reviewer_.ReviewToken(token);
        if (!reviewed.ok()) {
          spdlog::error("TokenReview failed: {}", reviewed.error().ToString());
          r.status = 401;
          r.body = EncodeStatus(401, "Unauthorized", "Unauthorized");
          return r;
        }
        cached = *reviewed;
        std::lock_guard lock(mu_);
        token_cache_[token] = {now, *reviewed};
      }
      if (!*cached) {
        r.status = 401;
        r.body = EncodeStatus(401, "Unauthorized", "Unauthorized");
        return r;
      }
      user = **cached;
    }
  }
  if (!user)
    user = UserInfo{"system:anonymous", {"system:unauthenticated"}, {}};
  else if (std::find(user->groups.begin(), user->groups.end(), "system:authenticated") ==
           user->groups.end())
    user->groups.push_back("system:authenticated");
  r.user = *user;
  // Authorization.
  if (std::find(user->groups.begin(), user->groups.end(), "system:masters") != user->groups.end()) {
    r.allowed = true;
    return r;
  }
  for (const auto& p : options_.always_allow_paths) {
    if (path == p || (p.ends_with("*") && path.starts_with(p.substr(0, p.size() - 1))) ||
        path.starts_with(p + "/")) {
      r.allowed = true;
      return r;
    }
  }
  const RequestAttributes attrs = AttributesFor(req.method, path);
  std::string key = user->name + "\n";
  for (const auto& g : user->groups) key += g + ",";
  key += "\n" + attrs.verb + " " + attrs.group + "/" + attrs.resource + "/" + attrs.subresource +
         " " + attrs.namespace_ + "/" + attrs.name + " " + (attrs.resource_request ? "" : path);
  std::optional<bool> allowed;
  {
    std::lock_guard lock(mu_);
    auto it = access_cache_.find(key);
    if (it != access_cache_.end() && now - it->second.first < options_.cache_ttl)
      allowed = it->second.second;
  }
  std::string reason;
  if (!allowed) {
    auto reviewed = reviewer_.ReviewAccess(*user, attrs, &reason);
    if (!reviewed.ok()) {
      spdlog::error("SubjectAccessReview failed: {}", reviewed.error().ToString());
      r.status = 500;
      r.body = EncodeStatus(500, "InternalError",
                            "Internal error occurred: " + reviewed.error().message);
      return r;
    }
    allowed = *reviewed;
    std::lock_guard lock(mu_);
    access_cache_[key] = {now, *reviewed};
  }
  if (*allowed) {
    r.allowed = true;
    return r;
  }
  r.status = 403;
  std::string message;
  if (attrs.resource_request) {
    std::string res =
        attrs.subresource.empty() ? attrs.resource : attrs.resource + "/" + attrs.subresource;
    // As apierrors.NewForbidden: a list (no name) names only the resource.
    message = attrs.resource + "." + attrs.group +
              (attrs.name.empty() ? "" : " \"" + attrs.name + "\"") + " is forbidden: User \"" +
              user->name + "\" cannot " + attrs.verb + " resource \"" + res + "\" in API group \"" +
              attrs.group + "\"" +
              (attrs.namespace_.empty() ? " at the cluster scope"
                                        : " in the namespace \"" + attrs.namespace_ + "\"");
  } else {
    message =
        "forbidden: User \"" + user->name + "\" cannot " + attrs.verb + " path \"" + path + "\"";
  }
  if (!reason.empty()) message += ": " + reason;
  // Details as Kubernetes writes them: empty fields left out, so a path gets "details":{}.
  std::string details;
  if (attrs.resource_request) {
    if (!attrs.name.empty()) details = "\"name\":" + core::JsonString(attrs.name) + ",";
    details += "\"group\":" + core::JsonString(attrs.group) +
               ",\"kind\":" + core::JsonString(attrs.resource);
  }
  r.body = EncodeStatus(403, "Forbidden", message, "{" + details + "}");
  return r;
}

}  // namespace gpuscale::adapter
