#include "kube/client.h"

#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>

#include "http/message.h"

namespace gpuscale::kube {
namespace {

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  *ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  return s.substr(b);
}

core::Result<std::string> Base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  int buf = 0, bits = 0;
  for (char c : in) {
    if (c == '=' || std::isspace(static_cast<unsigned char>(c))) continue;
    int v = val(c);
    if (v < 0) return core::InvalidArgument("invalid base64");
    buf = (buf << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buf >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace

core::Result<RestConfig> LoadKubeconfig(const std::string& path, std::string scratch_dir) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return core::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                                 std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  auto fail = [&](const std::string& m) { return core::InvalidArgument(path + ": " + m); };
  auto find_named = [&](const char* list, const std::string& name,
                        const char* inner) -> YAML::Node {
    if (!root[list].IsSequence()) return YAML::Node();
    for (const auto& e : root[list]) {
      if (e["name"] && e["name"].as<std::string>() == name) return e[inner];
    }
    return YAML::Node();
  };
  try {
    std::string ctx_name = root["current-context"] ? root["current-context"].as<std::string>() : "";
    if (ctx_name.empty()) return fail("current-context is not set");
    YAML::Node ctx = find_named("contexts", ctx_name, "context");
    if (!ctx.IsMap()) return fail("contexts: no context named \"" + ctx_name + "\"");
    const std::string cluster_name = ctx["cluster"] ? ctx["cluster"].as<std::string>() : "";
    const std::string user_name = ctx["user"] ? ctx["user"].as<std::string>() : "";
    YAML::Node cluster = find_named("clusters", cluster_name, "cluster");
    if (!cluster.IsMap()) return fail("clusters: no cluster named \"" + cluster_name + "\"");
    YAML::Node user = find_named("users", user_name, "user");
    RestConfig c;
    if (!cluster["server"]) return fail("clusters[" + cluster_name + "].server is missing");
    c.server = cluster["server"].as<std::string>();
    while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
    const std::string base_dir =
        path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
    auto rel = [&](std::string p) { return !p.empty() && p[0] != '/' ? base_dir + "/" + p : p; };
    auto inline_file = [&](const YAML::Node& n, const char* name) -> core::Result<std::string> {
      GPUSCALE_ASSIGN_OR_RETURN(std::string data, Base64Decode(n.as<std::string>()));
      if (scratch_dir.empty()) {
        char tmpl[] = "/tmp/gpuscale-kube-XXXXXX";
        if (!mkdtemp(tmpl)) return core::Internal("cannot create a temporary directory");
        scratch_dir = tmpl;
      }
      std::string file = scratch_dir + "/" + name;
      std::ofstream out(file, std::ios::binary | std::ios::trunc);
      out << data;
      if (!out) return core::Internal("cannot write " + file);
      return file;
    };
    if (cluster["certificate-authority-data"]) {
      auto f = inline_file(cluster["certificate-authority-data"], "ca.crt");
      if (!f.ok()) return fail("certificate-authority-data: " + f.error().message);
      c.tls.ca_file = *f;
    } else if (cluster["certificate-authority"]) {
      c.tls.ca_file = rel(cluster["certificate-authority"].as<std::string>());
    }
    if (cluster["insecure-skip-tls-verify"])
      c.tls.insecure_skip_verify = cluster["insecure-skip-tls-verify"].as<bool>();
    if (cluster["tls-server-name"])
      c.tls.server_name = cluster["tls-server-name"].as<std::string>();
    if (user.IsMap()) {
      if (user["client-certificate-data"]) {
        auto f = inline_file(user["client-certificate-data"], "client.crt");
        if (!f.ok()) return fail("client-certificate-data: " + f.error().message);
        c.tls.cert_file = *f;
      } else if (user["client-certificate"]) {
        c.tls.cert_file = rel(user["client-certificate"].as<std::string>());
      }
      if (user["client-key-data"]) {
        auto f = inline_file(user["client-key-data"], "client.key");
        if (!f.ok()) return fail("client-key-data: " + f.error().message);
        c.tls.key_file = *f;
      } else if (user["client-key"]) {
        c.tls.key_file = rel(user["client-key"].as<std::string>());
      }
      if (user["token"]) c.token = user["token"].as<std::string>();
      if (user["tokenFile"]) c.token_file = rel(user["tokenFile"].as<std::string>());
      if (user["exec"] || user["auth-provider"]) {
        return fail("users[" + user_name +
                    "]: exec and auth-provider credentials are not supported");
      }
    }
    return c;
  } catch (const YAML::Exception& e) {
    return core::InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ":" +
                                 std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

core::Result<RestConfig> InClusterConfig() {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !port || !*host || !*port) {
    return core::FailedPrecondition(
        "not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset); give a kubeconfig");
  }
  RestConfig c;
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  c.server = "https://" + h + ":" + port;
  c.token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
  c.tls.ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
  return c;
}

Client::Client(RestConfig config) : config_(std::move(config)) {
  http::ClientOptions o;
  o.tls = config_.tls;
  o.request_timeout = config_.timeout;
  http_ = http::Client::Create(o);
}

Client::~Client() = default;

core::Result<std::unique_ptr<Client>> Client::Create(RestConfig config) {
  auto url = http::ParseUrl(config.server);
  if (!url.ok())
    return core::InvalidArgument("server \"" + config.server + "\": " + url.error().message);
  return std::unique_ptr<Client>(new Client(std::move(config)));
}

core::Result<std::unique_ptr<Client>> Client::FromKubeconfigOrInCluster(
    const std::string& kubeconfig) {
  core::Result<RestConfig> c = kubeconfig.empty() ? InClusterConfig() : LoadKubeconfig(kubeconfig);
  if (!c.ok()) return c.error();
  return Create(std::move(*c));
}

http::Headers Client::AuthHeaders() const {
  http::Headers h;
  h.Set("Accept", "application/json");
  std::string token = config_.token;
  if (token.empty() && !config_.token_file.empty()) {
    bool ok = false;
    token = Trim(ReadFile(config_.token_file, &ok));
  }
  if (!token.empty()) h.Set("Authorization", "Bearer " + token);
  return h;
}

namespace {
core::Result<std::string> Check(core::Result<http::Response> r, const std::string& what) {
  if (!r.ok()) return r.error().WithContext(what);
  if (r->status / 100 == 2) return std::move(r->body);
  std::string msg = r->body.substr(0, 300);
  // Pull the Status message out without a JSON parser: good enough for an error text.
  if (auto p = msg.find("\"message\":\""); p != std::string::npos) {
    auto e = msg.find('"', p + 11);
    msg = msg.substr(p + 11, e == std::string::npos ? std::string::npos : e - p - 11);
  }
  return core::MakeError(core::CodeFromHttpStatus(r->status),
                         what + ": HTTP " + std::to_string(r->status) + ": " + msg);
}
}  // namespace

core::Result<std::string> Client::Get(const std::string& path) {
  http::Request req;
  req.method = "GET";
  req.headers = AuthHeaders();
  return Check(http_->Send(config_.server + path, std::move(req)), "GET " + path);
}

core::Result<std::string> Client::Post(const std::string& path, const std::string& json) {
  http::Request req;
  req.method = "POST";
  req.headers = AuthHeaders();
  req.headers.Set("Content-Type", "application/json");
  req.body = json;
  return Check(http_->Send(config_.server + path, std::move(req)), "POST " + path);
}

std::string Client::ResourcePath(std::string_view group, std::string_view version,
                                 std::string_view resource, std::string_view namespace_) {
  std::string p = group.empty() ? "/api/" + std::string(version)
                                : "/apis/" + std::string(group) + "/" + std::string(version);
  if (!namespace_.empty()) p += "/namespaces/" + http::PercentEncode(namespace_);
  return p + "/" + std::string(resource);
}

core::Result<std::vector<std::string>> Client::ListNames(std::string_view group,
                                                         std::string_view version,
                                                         std::string_view resource,
                                                         std::string_view namespace_,
                                                         std::string_view label_selector) {
  std::string path = ResourcePath(group, version, resource, namespace_);
  if (!label_selector.empty()) path += "?labelSelector=" + http::PercentEncode(label_selector);
  GPUSCALE_ASSIGN_OR_RETURN(std::string body, Get(path));
  GPUSCALE_ASSIGN_OR_RETURN(ObjectList list, DecodeObjectList(body));
  std::vector<std::string> names;
  for (auto& m : list.items) names.push_back(std::move(m.name));
  return names;
}

core::Status Client::Watch(const std::string& path_and_query,
                           const std::function<bool(std::string_view)>& on_line,
                           const std::function<bool()>& cancelled) {
  auto url = http::ParseUrl(config_.server + path_and_query);
  if (!url.ok()) return url.error();
  http::Request req;
  req.method = "GET";
  req.headers = AuthHeaders();
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  core::Status result;
  std::string pending;
  int status = 0;
  http::AsyncCallbacks cb;
  cb.on_headers = [&](const http::Response& head) { status = head.status; };
  cb.on_data = [&](std::string_view data) {
    if (cancelled()) return false;
    if (status / 100 != 2) {
      pending.append(data);
      return true;
    }
    pending.append(data);
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (!line.empty() && !on_line(line)) return false;
    }
    return true;
  };
  cb.on_done = [&](core::Result<http::Response> r) {
    std::lock_guard lock(mu);
    if (!r.ok() && r.error().code != core::Code::kCancelled) result = r.error();
    if (r.ok() && r->status / 100 != 2) {
      result = core::MakeError(core::CodeFromHttpStatus(r->status),
                               "watch " + path_and_query + ": HTTP " + std::to_string(r->status) +
                                   ": " + pending.substr(0, 200));
    }
    done = true;
    cv.notify_all();
  };
  // A client per watch, so cancelling one (destroying its client) ends it at once.
  http::ClientOptions wo;
  wo.tls = config_.tls;
  wo.request_timeout = std::chrono::hours(24);
  auto async = http::AsyncClient::Create(wo, 1);
  async->Send(*url, std::move(req), std::move(cb), std::chrono::hours(24));
  std::unique_lock lock(mu);
  while (!done) {
    cv.wait_for(lock, std::chrono::milliseconds(100));
    if (!done && cancelled()) {
      lock.unlock();
      async.reset();  // cancels the request: on_done runs with kCancelled
      lock.lock();
    }
  }
  lock.unlock();
  async.reset();
  return result;
}

}  // namespace gpuscale::kube
