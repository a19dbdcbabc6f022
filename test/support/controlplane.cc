#include "test/support/controlplane.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <utility>

#include "http/client.h"
#include "http/tls_certs.h"

namespace gpuscale::testing {

namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

core::Status WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return core::Internal(fmt::format("{}: cannot write", path));
  return {};
}

std::string LogTail(const std::string& path, std::size_t bytes = 3000) {
  std::string log = ReadFile(path);
  if (log.size() > bytes) log = "..." + log.substr(log.size() - bytes);
  return log;
}

// RFC 3339 UTC time, as Kubernetes writes metav1.Time.
std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The public half of a PEM private key, as a PEM "PUBLIC KEY".
core::Result<std::string> PublicKeyPem(const std::string& private_key_pem) {
  BIO* in = BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (!key) return core::Internal("cannot parse the service-account private key");
  BIO* out = BIO_new(BIO_s_mem());
  int ok = PEM_write_bio_PUBKEY(out, key);
  EVP_PKEY_free(key);
  char* data = nullptr;
  long len = BIO_get_mem_data(out, &data);
  std::string pem = ok == 1 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
  BIO_free(out);
  if (pem.empty()) return core::Internal("cannot write the service-account public key");
  return pem;
}

std::string Kubeconfig(const std::string& server, const ControlPlaneCerts& certs,
                       const std::string& cert, const std::string& key) {
  return fmt::format(
      "apiVersion: v1\n"
      "kind: Config\n"
      "clusters:\n"
      "- name: gpuscale-e2e\n"
      "  cluster:\n"
      "    server: {}\n"
      "    certificate-authority: {}\n"
      "users:\n"
      "- name: user\n"
      "  user:\n"
      "    client-certificate: {}\n"
      "    client-key: {}\n"
      "contexts:\n"
      "- name: gpuscale-e2e\n"
      "  context: {{cluster: gpuscale-e2e, user: user}}\n"
      "current-context: gpuscale-e2e\n",
      server, certs.ca_cert, cert, key);
}

// Starts a component with its log in the work directory. setpriv's parent-death signal takes
// the component down with the test process even when the test crashes.
core::Result<std::unique_ptr<Subprocess>> StartComponent(const std::string& work_dir,
                                                         const std::string& name,
                                                         std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"setpriv", "--pdeathsig", "KILL", "--"});
  Subprocess::Options options;
  options.argv = std::move(argv);
  options.log_file = work_dir + "/" + name + ".log";
  options.cwd = work_dir;
  auto proc = Subprocess::Start(std::move(options));
  if (!proc.ok()) return proc.error().WithContext(name);
  return proc;
}

// Polls `healthy` until it holds; fails early (with the log's tail) if the process exits.
core::Status WaitHealthy(Subprocess& proc, const std::string& name,
                         const std::function<bool()>& healthy, milliseconds timeout) {
  bool exited = false;
  bool ok = WaitFor(
      [&] {
        if (!proc.Running()) {
          exited = true;
          return true;
        }
        return healthy();
      },
      timeout, milliseconds(200));
  if (exited) {
    return core::Unavailable(fmt::format("{} exited during start-up; log {}:\n{}", name,
                                         proc.log_path(), LogTail(proc.log_path())));
  }
  if (!ok) {
    return core::DeadlineExceeded(fmt::format("{} not healthy after {} ms; log {}:\n{}", name,
                                              timeout.count(), proc.log_path(),
                                              LogTail(proc.log_path())));
  }
  return {};
}

// A GET that only reports its HTTP status (0 when the call failed).
int StatusOf(http::Client& client, const std::string& url) {
  auto r = client.Send(url, http::Request{}, milliseconds(5000));
  return r.ok() ? r->status : 0;
}

}  // namespace

core::Result<std::string> PeerBinary(std::string_view name) {
  std::string output;
  GPUSCALE_ASSIGN_OR_RETURN(
      int status, RunCommand({std::string(GPUSCALE_SOURCE_DIR) + "/scripts/build-peers", "--cached",
                              std::string(name)},
                             &output));
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  if (status != 0 || output.empty() || output.find('\n') != std::string::npos) {
    return core::FailedPrecondition(
        fmt::format("peer '{}' is not available ({}); build it once with: scripts/build-peers {}",
                    name, output, name));
  }
  return output;
}

core::Result<ControlPlaneCerts> MakeControlPlaneCertificates(const std::string& dir,
                                                             std::string_view service_ip) {
  ControlPlaneCerts c;
  c.dir = dir;
  auto path = [&](std::string_view f) { return dir + "/" + std::string(f); };
  c.ca_cert = path("ca.crt");
  c.ca_key = path("ca.key");
  c.apiserver_cert = path("apiserver.crt");
  c.apiserver_key = path("apiserver.key");
  c.admin_cert = path("admin.crt");
  c.admin_key = path("admin.key");
  c.controller_manager_cert = path("controller-manager.crt");
  c.controller_manager_key = path("controller-manager.key");
  c.front_proxy_ca_cert = path("front-proxy-ca.crt");
  c.front_proxy_ca_key = path("front-proxy-ca.key");
  c.front_proxy_client_cert = path("front-proxy-client.crt");
  c.front_proxy_client_key = path("front-proxy-client.key");
  c.service_account_key = path("sa.key");
  c.service_account_pub = path("sa.pub");

  constexpr auto kValidity = std::chrono::hours(48);
  GPUSCALE_ASSIGN_OR_RETURN(
      http::CertificateAndKey ca,
      http::CreateCa({.common_name = "gpuscale-e2e-ca", .validity = kValidity}));
  GPUSCALE_RETURN_IF_ERROR(http::WritePemFiles(ca, c.ca_cert, c.ca_key));
  GPUSCALE_ASSIGN_OR_RETURN(
      http::CertificateAndKey front_proxy_ca,
      http::CreateCa({.common_name = "gpuscale-e2e-front-proxy-ca", .validity = kValidity}));
  GPUSCALE_RETURN_IF_ERROR(
      http::WritePemFiles(front_proxy_ca, c.front_proxy_ca_cert, c.front_proxy_ca_key));

  GPUSCALE_ASSIGN_OR_RETURN(
      http::CertificateAndKey serving,
      http::IssueServerCert(
          ca, {.common_name = "kube-apiserver",
               .dns_names = {"localhost", "kubernetes", "kubernetes.default",
                             "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
               .ip_addresses = {"127.0.0.1", std::string(service_ip)},
               .validity = kValidity}));
  GPUSCALE_RETURN_IF_ERROR(http::WritePemFiles(serving, c.apiserver_cert, c.apiserver_key));
  struct Client {
    const http::CertificateAndKey& ca;
    std::string name;
    std::vector<std::string> groups;
    std::string cert, key;
  };
  for (const Client& client : {
           Client{ca, "admin", {"system:masters"}, c.admin_cert, c.admin_key},
           Client{ca,
                  "system:kube-controller-manager",
                  {"system:masters"},
                  c.controller_manager_cert,
                  c.controller_manager_key},
           // The aggregator's identity towards APIService backends: signed by the
           // front-proxy CA, never by the cluster CA.
           Client{front_proxy_ca,
                  "front-proxy-client",
                  {},
                  c.front_proxy_client_cert,
                  c.front_proxy_client_key},
       }) {
    GPUSCALE_ASSIGN_OR_RETURN(http::CertificateAndKey issued,
                              http::IssueClientCert(client.ca, {.common_name = client.name,
                                                                .organizations = client.groups,
                                                                .validity = kValidity}));
    GPUSCALE_RETURN_IF_ERROR(http::WritePemFiles(issued, client.cert, client.key));
  }

  // Service-account tokens: any private key; a CA's fresh P-256 key will do.
  GPUSCALE_ASSIGN_OR_RETURN(http::CertificateAndKey sa,
                            http::CreateCa({.common_name = "service-accounts"}));
  GPUSCALE_ASSIGN_OR_RETURN(std::string sa_pub, PublicKeyPem(sa.key_pem));
  GPUSCALE_RETURN_IF_ERROR(http::WritePemFiles({.cert_pem = sa_pub, .key_pem = sa.key_pem},
                                               c.service_account_pub, c.service_account_key));
  return c;
}

core::Result<std::unique_ptr<ControlPlane>> ControlPlane::Start(ControlPlaneOptions options) {
  std::unique_ptr<ControlPlane> cp(new ControlPlane());
  core::Status status = cp->StartAll(options);
  if (!status.ok()) {
    cp->Stop();
    return std::move(status).error().WithContext(fmt::format("control plane in {}", cp->work_dir_));
  }
  return cp;
}

core::Status ControlPlane::StartAll(const ControlPlaneOptions& options) {
  work_dir_ = options.work_dir.empty() ? MakeTempDir("gpuscale-controlplane") : options.work_dir;
  std::error_code ec;
  fs::create_directories(work_dir_, ec);
  if (ec) return core::Internal(fmt::format("{}: {}", work_dir_, ec.message()));

  GPUSCALE_ASSIGN_OR_RETURN(std::string etcd_bin, PeerBinary("etcd"));
  GPUSCALE_ASSIGN_OR_RETURN(std::string apiserver_bin, PeerBinary("kube-apiserver"));
  std::string kcm_bin;
  if (options.start_controller_manager) {
    GPUSCALE_ASSIGN_OR_RETURN(kcm_bin, PeerBinary("kube-controller-manager"));
  }

  constexpr std::string_view kServiceRange = "10.96.0.0/16";
  constexpr std::string_view kServiceIp = "10.96.0.1";  // the `kubernetes` Service
  GPUSCALE_ASSIGN_OR_RETURN(certs_, MakeControlPlaneCertificates(work_dir_ + "/pki", kServiceIp));

  // etcd: one throw-away member; fsync off, since the data dies with the test.
  std::uint16_t etcd_port = FreePort();
  std::uint16_t etcd_peer_port = FreePort();
  std::string etcd_url = fmt::format("http://127.0.0.1:{}", etcd_port);
  std::string etcd_peer_url = fmt::format("http://127.0.0.1:{}", etcd_peer_port);
  GPUSCALE_ASSIGN_OR_RETURN(
      etcd_,
      StartComponent(
          work_dir_, "etcd",
          {etcd_bin, "--name=e2e", "--data-dir=" + work_dir_ + "/etcd-data",
           "--listen-client-urls=" + etcd_url, "--advertise-client-urls=" + etcd_url,
           "--listen-peer-urls=" + etcd_peer_url, "--initial-advertise-peer-urls=" + etcd_peer_url,
           "--initial-cluster=e2e=" + etcd_peer_url, "--unsafe-no-fsync", "--log-level=warn"}));
  auto plain = http::Client::Create();
  GPUSCALE_RETURN_IF_ERROR(WaitHealthy(
      *etcd_, "etcd", [&] { return StatusOf(*plain, etcd_url + "/health") == 200; },
      options.start_timeout));

  std::uint16_t api_port = FreePort();
  url_ = fmt::format("https://127.0.0.1:{}", api_port);
  std::vector<std::string> api_argv = {
      apiserver_bin,
      "--etcd-servers=" + etcd_url,
      "--bind-address=127.0.0.1",
      fmt::format("--secure-port={}", api_port),
      "--advertise-address=127.0.0.1",
      // Endpoints may not hold loopback addresses, so the `kubernetes` Service gets none.
      "--endpoint-reconciler-type=none",
      "--service-cluster-ip-range=" + std::string(kServiceRange),
      "--cert-dir=" + work_dir_ + "/pki",
      "--tls-cert-file=" + certs_.apiserver_cert,
      "--tls-private-key-file=" + certs_.apiserver_key,
      "--client-ca-file=" + certs_.ca_cert,
      "--authorization-mode=RBAC",
      "--service-account-issuer=https://kubernetes.default.svc",
      "--service-account-signing-key-file=" + certs_.service_account_key,
      "--service-account-key-file=" + certs_.service_account_pub,
      // The aggregator: front-proxy CA, allowed names and the client cert it presents to
      // APIService backends.
      "--requestheader-client-ca-file=" + certs_.front_proxy_ca_cert,
      "--requestheader-allowed-names=front-proxy-client",
      "--requestheader-username-headers=X-Remote-User",
      "--requestheader-group-headers=X-Remote-Group",
      "--requestheader-extra-headers-prefix=X-Remote-Extra-",
      "--proxy-client-cert-file=" + certs_.front_proxy_client_cert,
      "--proxy-client-key-file=" + certs_.front_proxy_client_key,
      "--profiling=false",
  };
  api_argv.insert(api_argv.end(), options.extra_apiserver_flags.begin(),
                  options.extra_apiserver_flags.end());
  GPUSCALE_ASSIGN_OR_RETURN(apiserver_, StartComponent(work_dir_, "kube-apiserver", api_argv));
  http::ClientOptions admin;
  admin.tls = {
      .ca_file = certs_.ca_cert, .cert_file = certs_.admin_cert, .key_file = certs_.admin_key};
  client_ = http::Client::Create(admin);
  GPUSCALE_RETURN_IF_ERROR(WaitHealthy(
      *apiserver_, "kube-apiserver",
      [&] {
        return StatusOf(*client_, url_ + "/readyz") == 200 &&
               StatusOf(*client_, url_ + "/api/v1/namespaces/default") == 200;
      },
      options.start_timeout));

  admin_kubeconfig_ = work_dir_ + "/admin.kubeconfig";
  GPUSCALE_RETURN_IF_ERROR(
      WriteFile(admin_kubeconfig_, Kubeconfig(url_, certs_, certs_.admin_cert, certs_.admin_key)));
  if (!options.start_controller_manager) return {};

  std::string kcm_kubeconfig = work_dir_ + "/controller-manager.kubeconfig";
  GPUSCALE_RETURN_IF_ERROR(WriteFile(
      kcm_kubeconfig,
      Kubeconfig(url_, certs_, certs_.controller_manager_cert, certs_.controller_manager_key)));
  std::uint16_t kcm_port = FreePort();
  std::vector<std::string> kcm_argv = {
      kcm_bin,
      "--kubeconfig=" + kcm_kubeconfig,
      "--authentication-kubeconfig=" + kcm_kubeconfig,
      "--authorization-kubeconfig=" + kcm_kubeconfig,
      "--bind-address=127.0.0.1",
      fmt::format("--secure-port={}", kcm_port),
      "--cert-dir=" + work_dir_ + "/pki/controller-manager",
      "--leader-elect=false",
      // No endpoint controllers: Endpoints may not hold the pods' loopback addresses.
      "--controllers=deployment-controller,replicaset-controller,"
      "horizontal-pod-autoscaler-controller,serviceaccount-controller,"
      "garbage-collector-controller,namespace-controller",
      "--horizontal-pod-autoscaler-sync-period=" + options.hpa_sync_period,
      "--profiling=false",
  };
  if (!options.hpa_downscale_stabilization.empty()) {
    kcm_argv.push_back("--horizontal-pod-autoscaler-downscale-stabilization=" +
                       options.hpa_downscale_stabilization);
  }
  kcm_argv.insert(kcm_argv.end(), options.extra_controller_manager_flags.begin(),
                  options.extra_controller_manager_flags.end());
  GPUSCALE_ASSIGN_OR_RETURN(controller_manager_,
                            StartComponent(work_dir_, "kube-controller-manager", kcm_argv));
  // Its serving certificate is self-signed in memory.
  http::ClientOptions insecure;
  insecure.tls.insecure_skip_verify = true;
  auto kcm_client = http::Client::Create(insecure);
  std::string kcm_healthz = fmt::format("https://127.0.0.1:{}/healthz", kcm_port);
  return WaitHealthy(
      *controller_manager_, "kube-controller-manager",
      [&] { return StatusOf(*kcm_client, kcm_healthz) == 200; }, options.start_timeout);
}

ControlPlane::ControlPlane() = default;
ControlPlane::~ControlPlane() { Stop(); }

void ControlPlane::Stop() {
  if (controller_manager_) controller_manager_->Stop(milliseconds(5000));
  if (apiserver_) apiserver_->Stop(milliseconds(10000));
  if (etcd_) etcd_->Stop(milliseconds(5000));
}

void ControlPlane::RemoveWorkDir() {
  Stop();
  std::error_code ec;
  if (!work_dir_.empty()) fs::remove_all(work_dir_, ec);
}

void ControlPlane::Finish(bool keep) {
  Stop();
  if (!keep) {
    RemoveWorkDir();
    return;
  }
  std::fprintf(stderr, "bundle kept in %s\n", work_dir_.c_str());
  for (const auto& [name, path] : LogFiles()) {
    std::fprintf(stderr, "---- %s (%s), tail:\n%s\n", name.c_str(), path.c_str(),
                 LogTail(path).c_str());
  }
}

std::vector<std::pair<std::string, std::string>> ControlPlane::LogFiles() const {
  std::vector<std::pair<std::string, std::string>> logs;
  if (etcd_) logs.emplace_back("etcd", etcd_->log_path());
  if (apiserver_) logs.emplace_back("kube-apiserver", apiserver_->log_path());
  if (controller_manager_) {
    logs.emplace_back("kube-controller-manager", controller_manager_->log_path());
  }
  return logs;
}

core::Result<ApiResponse> ControlPlane::Request(std::string_view method, std::string_view path,
                                                std::string_view body,
                                                std::string_view content_type) {
  if (!client_) return core::FailedPrecondition("the control plane is not running");
  http::Request request;
  request.method = std::string(method);
  request.headers.Set("Accept", "application/json");
  if (!body.empty()) {
    request.headers.Set("Content-Type", std::string(content_type));
    request.body = std::string(body);
  }
  auto r = client_->Send(url_ + std::string(path), std::move(request));
  if (!r.ok()) return r.error().WithContext(fmt::format("{} {}{}", method, url_, path));
  return ApiResponse{.status = r->status, .body = std::move(r->body)};
}

core::Status ControlPlane::Create(std::string_view collection_path, std::string_view json) {
  GPUSCALE_ASSIGN_OR_RETURN(ApiResponse r, Request("POST", collection_path, json));
  if (r.status == 200 || r.status == 201 || r.status == 202) return {};
  return core::MakeError(
      r.status == 409 ? core::Code::kAlreadyExists : core::CodeFromHttpStatus(r.status),
      fmt::format("POST {}: HTTP {}: {}", collection_path, r.status, r.body));
}

core::Status ControlPlane::CreateNamespace(std::string_view name, milliseconds timeout) {
  GPUSCALE_RETURN_IF_ERROR(Create(
      "/api/v1/namespaces",
      fmt::format(R"({{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{}"}}}})", name)));
  std::string sa_path = fmt::format("/api/v1/namespaces/{}/serviceaccounts/default", name);
  int last = 0;
  bool ok = WaitFor(
      [&] {
        auto r = Get(sa_path);
        last = r.ok() ? r->status : 0;
        return last == 200;
      },
      timeout, milliseconds(100));
  if (!ok) {
    return core::DeadlineExceeded(fmt::format(
        "namespace {}: no default ServiceAccount after {} ms (last GET: HTTP {}); is the "
        "serviceaccount controller running?",
        name, timeout.count(), last));
  }
  return {};
}

core::Status ControlPlane::MarkPodRunning(std::string_view ns, std::string_view pod,
                                          std::string_view pod_ip) {
  std::string now = NowRfc3339();
  // A strategic merge patch merges conditions by type, so other conditions stay.
  std::string patch =
      fmt::format(R"({{"status":{{"phase":"Running","podIP":"{ip}","podIPs":[{{"ip":"{ip}"}}],)"
                  R"("startTime":"{now}","conditions":[)"
                  R"({{"type":"Initialized","status":"True","lastTransitionTime":"{now}"}},)"
                  R"({{"type":"ContainersReady","status":"True","lastTransitionTime":"{now}"}},)"
                  R"({{"type":"Ready","status":"True","lastTransitionTime":"{now}"}}]}}}})",
                  fmt::arg("ip", pod_ip), fmt::arg("now", now));
  std::string path = fmt::format("/api/v1/namespaces/{}/pods/{}/status", ns, pod);
  GPUSCALE_ASSIGN_OR_RETURN(
      ApiResponse r, Request("PATCH", path, patch, "application/strategic-merge-patch+json"));
  if (r.status != 200) {
    return core::MakeError(core::CodeFromHttpStatus(r.status),
                           fmt::format("PATCH {}: HTTP {}: {}", path, r.status, r.body));
  }
  return {};
}

}  // namespace gpuscale::testing
