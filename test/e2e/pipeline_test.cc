// The seed's tutorial on a real control plane: etcd, kube-apiserver and kube-controller-manager
// (its deployment, replicaset and HPA controllers at the seed's 15 s sync period), a test kubelet
// that runs one `gpuscale engine` per pod on its own emulated GPU and serves the pod-resources
// API, `gpuscale exporter` labelling each GPU with its pod, a real Prometheus discovering the
// pods through kube-apiserver, `gpuscale adapter` registered as the custom metrics APIService,
// a router standing in for the vLLM Service, and `gpuscale load looper`.
//
// Every custom metrics call the HPA controller makes passes a recording proxy in front of the
// adapter, which notes the answer with the pods and the scale at that moment; the recorded
// syncs are replayed through `gpuscale hpa replay` and must reproduce the controller's desired
// replicas at every sync.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "gpu/emu_state.h"
#include "gpu/test_kubelet.h"
#include "http/client.h"
#include "http/server.h"
#include "http/tls_certs.h"
#include "local/replicas.h"
#include "local/router.h"
#include "test/support/controlplane.h"
#include "test/support/kube_json.h"
#include "test/support/process.h"
#include "test/support/prometheus.h"

namespace gpuscale::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using SteadyClock = std::chrono::steady_clock;

constexpr std::string_view kNamespace = "vllm-example";
constexpr std::string_view kMonitoring = "monitoring";
constexpr std::string_view kDeployment = "vllm-gemma-deployment";
constexpr std::string_view kAppLabel = "gemma-server";
constexpr int kMaxReplicas = 5;
constexpr int kEnginePort = 8081;  // the seed's containerPort

// The seed's Deployment, reduced to what the controllers read (no image is ever pulled).
constexpr std::string_view kDeploymentJson = R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "vllm-gemma-deployment", "labels": {"app": "gemma-server"}},
  "spec": {
    "replicas": 1,
    "selector": {"matchLabels": {"app": "gemma-server"}},
    "template": {
      "metadata": {"labels": {"app": "gemma-server"}},
      "spec": {"containers": [{"name": "inference-server", "image": "gpuscale/engine",
                               "ports": [{"name": "http", "containerPort": 8081}],
                               "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}
    }
  }
})";

// The seed's GPU HPA (gpu-horizontal-pod-autoscaler.yaml), as the chart renders it with
// hpa.strategy=gpu: gpu_utilization_percent AverageValue 20 with the seed's behavior.
constexpr std::string_view kGpuHpaJson = R"({
  "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
  "metadata": {"name": "gemma-server-gpu-hpa", "namespace": "vllm-example"},
  "spec": {
    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                       "name": "vllm-gemma-deployment"},
    "minReplicas": 1, "maxReplicas": 5,
    "metrics": [{"type": "Pods", "pods": {
      "metric": {"name": "gpu_utilization_percent"},
      "target": {"type": "AverageValue", "averageValue": "20"}}}],
    "behavior": {
      "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                  "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                               {"type": "Percent", "value": 100, "periodSeconds": 15}]},
      "scaleDown": {"stabilizationWindowSeconds": 30, "selectPolicy": "Max",
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    }
  }
})";

// The adapter's rules as the chart renders them by default (templates/_adapter_config.tpl with
// exporter.mode=gpuscale): the two seed metrics, read from series carrying pod and namespace.
constexpr std::string_view kAdapterRules = R"(rules:
- seriesQuery: 'vllm:num_requests_running{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: '^vllm:num_requests_running$', as: vllm_num_requests_running}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
- seriesQuery: 'DCGM_FI_DEV_GPU_UTIL{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: '^DCGM_FI_DEV_GPU_UTIL$', as: gpu_utilization_percent}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
)";

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

json::value ParseOrNull(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return ec ? json::value(nullptr) : v;
}

// One custom metrics call of the HPA controller, with what the cluster looked like then.
struct RecordedSync {
  double time = 0;  // Unix seconds when the call arrived
  std::string target;
  int status = 0;
  std::string body;
  json::value pods;        // PodList of the namespace at that moment
  json::value deployment;  // the Deployment at that moment
};

// One look at the HPA object.
struct HpaSample {
  double time = 0;
  json::value hpa;
};

// A pod the test kubelet runs.
struct RunningPod {
  std::string name;
  int slot = 0;  // GPU index and loopback address 127.0.0.(10+slot)
  std::string ip;
  std::unique_ptr<Subprocess> engine;
  std::shared_ptr<local::Replica> replica;
  bool ready = false;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = ControlPlane::Start({});
    ASSERT_TRUE(started.ok()) << started.error().ToString();
    cp_ = std::move(*started);
    dir_ = cp_->work_dir();
    ASSERT_TRUE(cp_->CreateNamespace(kNamespace).ok());
    ASSERT_TRUE(cp_->CreateNamespace(kMonitoring).ok());

    // Emulated GPUs, one per possible replica, and the kubelet's pod-resources socket.
    emu_dir_ = dir_ + "/gpus";
    for (int i = 0; i < kMaxReplicas; ++i) {
      ASSERT_TRUE(gpu::emu::CreateGpu(emu_dir_, i, {}).ok());
      auto config = gpu::emu::ReadConfig(gpu::emu::ConfigPath(emu_dir_, i));
      ASSERT_TRUE(config.ok());
      gpu_uuids_.push_back(config->uuid);
    }
    std::filesystem::create_directories(dir_ + "/pod-resources");
    auto kubelet = gpu::TestKubelet::Start(dir_ + "/pod-resources/kubelet.sock");
    ASSERT_TRUE(kubelet.ok()) << kubelet.error().ToString();
    pod_resources_ = std::move(*kubelet);

    StartExporter();
    StartPrometheus();
    StartAdapter();
    StartRecordingProxy();
    RegisterApiServices();

    proxy_client_ = http::AsyncClient::Create({}, 1);
    auto router = local::Router::Start({.address = "127.0.0.1", .port = 0}, table_, *proxy_client_);
    ASSERT_TRUE(router.ok()) << router.error().ToString();
    router_ = std::move(*router);

    kubelet_thread_ = std::thread([this] { KubeletLoop(); });
  }

  void TearDown() override {
    stop_ = true;
    if (sampler_thread_.joinable()) sampler_thread_.join();
    if (kubelet_thread_.joinable()) kubelet_thread_.join();
    load_.reset();
    if (router_) router_->Stop(milliseconds(1000));
    {
      std::lock_guard lock(pods_mu_);
      pods_.clear();
    }
    if (proxy_) proxy_->Stop(milliseconds(500));
    adapter_.reset();
    prometheus_.reset();
    exporter_.reset();
    if (pod_resources_) pod_resources_->Stop();
    if (!cp_) return;
    cp_->Stop();
    if (HasFailure()) {
      WriteBundle();
      std::fprintf(stderr, "e2e bundle kept in %s\n", dir_.c_str());
      for (const auto& [name, path] : cp_->LogFiles()) {
        std::string log = ReadFile(path);
        if (log.size() > 3000) log = "..." + log.substr(log.size() - 3000);
        std::fprintf(stderr, "---- %s (%s), tail:\n%s\n", name.c_str(), path.c_str(), log.c_str());
      }
    } else {
      cp_->RemoveWorkDir();
    }
  }

  // ---- components -------------------------------------------------------------------------

  void StartExporter() {
    exporter_port_ = FreePort();
    auto exporter = Subprocess::Start(
        {.argv = {GpuscaleBinary(), "exporter", fmt::format("--address=127.0.0.1:{}", exporter_port_),
                  "--collect-interval=1000", "--emu-dir=" + emu_dir_, "--kubernetes",
                  "--pod-resources-socket=" + pod_resources_->socket_path(),
                  "--pod-resources-interval=500"},
         .log_file = dir_ + "/exporter.log"});
    ASSERT_TRUE(exporter.ok()) << exporter.error().ToString();
    exporter_ = std::move(*exporter);
    ASSERT_TRUE(WaitForPort(exporter_port_, seconds(30))) << ReadFile(dir_ + "/exporter.log");
  }

  // Debian's Prometheus is built without kubernetes_sd, so the test kubelet writes the targets
  // the Prometheus Operator derives for a PodMonitor over the vLLM pods (role pod, port `http`,
  // Running pods only, with namespace, pod and container target labels) to a file_sd file. The
  // exporter is scraped with honor_labels, as the chart's monitor sets it, so its pod labels
  // stay `pod` and `namespace`.
  void StartPrometheus() {
    targets_file_ = dir_ + "/vllm-targets.json";
    std::ofstream(targets_file_) << "[]";
    std::string scrape = fmt::format(
        "  - job_name: gpuscale-exporter\n"
        "    honor_labels: true\n"
        "    static_configs: [{{targets: ['127.0.0.1:{}']}}]\n"
        "  - job_name: podMonitor/{}/vllm/0\n"
        "    file_sd_configs: [{{files: ['{}'], refresh_interval: 1s}}]\n",
        exporter_port_, kNamespace, targets_file_);
    auto prometheus = PrometheusServer::Start(
        {.scrape_configs = scrape, .scrape_interval = seconds(2), .ready_timeout = seconds(60)});
    ASSERT_TRUE(prometheus.ok()) << prometheus.error().ToString();
    prometheus_ = std::move(*prometheus);
  }

  // The Running pods as file_sd targets (written whole, then renamed into place).
  void WriteTargets() {
    json::array groups;
    for (const auto& [name, pod] : pods_) {
      if (!pod.ready) continue;
      groups.push_back(json::object{
          {"targets", json::array{json::string(fmt::format("{}:{}", pod.ip, kEnginePort))}},
          {"labels", json::object{{"namespace", std::string(kNamespace)},
                                  {"pod", name},
                                  {"container", "inference-server"}}}});
    }
    std::string tmp = targets_file_ + ".tmp";
    std::ofstream(tmp) << json::serialize(groups);
    std::filesystem::rename(tmp, targets_file_);
  }

  // Starts (or restarts, on the same port) the adapter.
  void StartAdapter() {
    std::string rules = dir_ + "/adapter-rules.yaml";
    std::ofstream(rules) << kAdapterRules;
    if (adapter_port_ == 0) adapter_port_ = FreePort();
    const std::string& kubeconfig = cp_->admin_kubeconfig();
    auto adapter = Subprocess::Start(
        {.argv = {GpuscaleBinary(), "adapter", "--config=" + rules,
                  "--prometheus-url=" + prometheus_->url(), "--bind-address=127.0.0.1",
                  fmt::format("--secure-port={}", adapter_port_), "--cert-dir=" + dir_ + "/adapter-certs",
                  "--lister-kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig,
                  "--authorization-kubeconfig=" + kubeconfig,
                  // No --requestheader-* flags: as in a cluster, the front-proxy CA and header
                  // names come from kube-system/extension-apiserver-authentication.
                  "--metrics-relist-interval=5s", "--query-timeout=5s"},
         .log_file = fmt::format("{}/adapter-{}.log", dir_, ++adapter_starts_)});
    ASSERT_TRUE(adapter.ok()) << adapter.error().ToString();
    adapter_ = std::move(*adapter);
    ASSERT_TRUE(WaitForPort(adapter_port_, seconds(30))) << adapter_->ReadLog();
  }

  // The APIService's endpoint: forwards every call to the adapter as the aggregator would
  // (front-proxy client certificate, X-Remote-* headers) and records the HPA controller's.
  void StartRecordingProxy() {
    const ControlPlaneCerts& c = cp_->certs();
    http::CertificateAndKey ca{ReadFile(c.ca_cert), ReadFile(c.ca_key)};
    auto serving = http::IssueServerCert(
        ca, {.common_name = "custom-metrics-apiserver",
             .dns_names = {"localhost", "custom-metrics-apiserver.monitoring.svc"},
             .ip_addresses = {"127.0.0.1"}});
    ASSERT_TRUE(serving.ok());
    std::string cert = dir_ + "/proxy/tls.crt", key = dir_ + "/proxy/tls.key";
    ASSERT_TRUE(http::WritePemFiles(*serving, cert, key).ok());

    http::ClientOptions to_adapter;
    to_adapter.request_timeout = seconds(30);
    to_adapter.tls = {.insecure_skip_verify = true,  // the adapter's self-signed certificate
                      .cert_file = c.front_proxy_client_cert,
                      .key_file = c.front_proxy_client_key};
    adapter_client_ = http::Client::Create(to_adapter);

    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.io_threads = 2;
    options.tls = http::TlsServerOptions{cert, key, c.front_proxy_ca_cert, false};
    auto proxy = http::Server::Start(options, http::Sync([this](const http::Request& request) {
                                       return Forward(request);
                                     }));
    ASSERT_TRUE(proxy.ok()) << proxy.error().ToString();
    proxy_ = std::move(*proxy);
  }

  http::Response Forward(const http::Request& request) {
    double now = UnixNow();
    // The HPA controller's lookups (the test's own calls come as "admin").
    std::string user(request.headers.Get("X-Remote-User").value_or(""));
    bool from_controller = user != "admin" && request.target.find("/pods/") != std::string::npos;
    RecordedSync sync;
    if (from_controller) {
      sync.time = now;
      sync.target = request.target;
      sync.pods = GetJson("/api/v1/namespaces/" + std::string(kNamespace) + "/pods");
      sync.deployment = GetJson(DeploymentPath());
    }
    http::Request upstream;
    upstream.method = request.method;
    std::string head = fmt::format("{:.3f} {} {}\n", now, request.method, request.target);
    for (const auto& [name, value] : request.headers.fields()) {
      head += fmt::format("  {}: {}\n", name, value);
      std::string lower = name;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower.rfind("x-remote-", 0) == 0 || lower == "accept") upstream.headers.Add(name, value);
    }
    {
      std::lock_guard lock(record_mu_);
      std::ofstream(dir_ + "/proxy-requests.log", std::ios::app) << head;
    }
    auto answer =
        adapter_client_->Send(fmt::format("https://127.0.0.1:{}{}", adapter_port_, request.target),
                              std::move(upstream));
    http::Response response;
    if (!answer.ok()) {
      response = http::Response::Text(503, answer.error().ToString());
    } else {
      response.status = answer->status;
      response.body = answer->body;
      response.headers.Set("Content-Type", std::string(answer->headers.Get("Content-Type")
                                                           .value_or("application/json")));
    }
    if (from_controller) {
      sync.status = response.status;
      sync.body = response.body;
      std::lock_guard lock(record_mu_);
      syncs_.push_back(std::move(sync));
    }
    return response;
  }

  void RegisterApiServices() {
    std::string service = fmt::format(
        R"({{"apiVersion":"v1","kind":"Service","metadata":{{"name":"custom-metrics-apiserver",)"
        R"("namespace":"{}"}},"spec":{{"type":"ExternalName","externalName":"localhost"}}}})",
        kMonitoring);
    auto created = cp_->Create(fmt::format("/api/v1/namespaces/{}/services", kMonitoring), service);
    ASSERT_TRUE(created.ok()) << created.ToString();
    std::string ca_bundle = Base64(ReadFile(cp_->certs().ca_cert));
    struct Api {
      std::string group, version;
      int version_priority;
    };
    for (const Api& api : {Api{"custom.metrics.k8s.io", "v1beta1", 100},
                           Api{"custom.metrics.k8s.io", "v1beta2", 200},
                           Api{"external.metrics.k8s.io", "v1beta1", 100}}) {
      std::string body = fmt::format(
          R"({{"apiVersion":"apiregistration.k8s.io/v1","kind":"APIService",)"
          R"("metadata":{{"name":"{v}.{g}"}},"spec":{{"group":"{g}","version":"{v}",)"
          R"("groupPriorityMinimum":100,"versionPriority":{p},"caBundle":"{ca}",)"
          R"("service":{{"namespace":"{ns}","name":"custom-metrics-apiserver","port":{port}}}}}}})",
          fmt::arg("v", api.version), fmt::arg("g", api.group),
          fmt::arg("p", api.version_priority), fmt::arg("ca", ca_bundle),
          fmt::arg("ns", kMonitoring), fmt::arg("port", proxy_->port()));
      created = cp_->Create("/apis/apiregistration.k8s.io/v1/apiservices", body);
      ASSERT_TRUE(created.ok()) << created.ToString();
    }
  }

  // ---- the test kubelet ---------------------------------------------------------------------

  // Runs one engine per pod of the Deployment, marks it Running and Ready with its loopback
  // address once it answers, tells the exporter (pod-resources) which GPU it holds, and stops
  // the engine when the pod goes.
  void KubeletLoop() {
    auto probe_options = http::ClientOptions{};
    probe_options.connect_timeout = milliseconds(200);
    probe_options.request_timeout = milliseconds(500);
    auto probe = http::Client::Create(probe_options);
    while (!stop_) {
      json::value list = GetJson("/api/v1/namespaces/" + std::string(kNamespace) +
                                 "/pods?labelSelector=app%3D" + std::string(kAppLabel));
      if (list.is_null()) {  // kube-apiserver busy: look again
        std::this_thread::sleep_for(milliseconds(250));
        continue;
      }
      std::set<std::string> live;
      for (const auto& pod : Items(list)) {
        if (At(pod, "metadata.deletionTimestamp")) continue;
        live.insert(StringAt(pod, "metadata.name"));
      }
      bool changed = false;
      std::unique_lock lock(pods_mu_);
      for (auto it = pods_.begin(); it != pods_.end();) {
        if (live.count(it->first)) {
          ++it;
          continue;
        }
        table_.Remove(it->second.slot);
        it = pods_.erase(it);  // stops the engine (SIGTERM, drain)
        changed = true;
      }
      for (const std::string& name : live) {
        if (pods_.count(name)) continue;
        std::set<int> used;
        for (const auto& [n, p] : pods_) used.insert(p.slot);
        int slot = 0;
        while (used.count(slot)) ++slot;
        if (slot >= kMaxReplicas) continue;
        RunningPod pod;
        pod.name = name;
        pod.slot = slot;
        pod.ip = fmt::format("127.0.0.{}", 10 + slot);
        auto engine = Subprocess::Start(
            {.argv = {GpuscaleBinary(), "engine", "--host=" + pod.ip,
                      fmt::format("--port={}", kEnginePort), "--emu-dir=" + emu_dir_,
                      fmt::format("--gpu-index={}", slot), fmt::format("--seed={}", slot + 1),
                      "--startup-delay=2s", "--served-model-name=google/gemma-3-1b-it"},
             .log_file = fmt::format("{}/engine-{}.log", dir_, name)});
        if (!engine.ok()) {
          ADD_FAILURE() << "engine for " << name << ": " << engine.error().ToString();
          continue;
        }
        pod.engine = std::move(*engine);
        pods_.emplace(name, std::move(pod));
      }
      for (auto& [name, pod] : pods_) {
        if (pod.ready) continue;
        auto health = probe->Send(fmt::format("http://{}:{}/health", pod.ip, kEnginePort), {});
        if (!health.ok() || health->status != 200) continue;
        auto marked = cp_->MarkPodRunning(kNamespace, name, pod.ip);
        if (!marked.ok()) continue;  // e.g. deleted meanwhile; the next round sees it
        pod.ready = true;
        pod.replica = std::make_shared<local::Replica>();
        pod.replica->index = pod.slot;
        pod.replica->pod = name;
        pod.replica->host = pod.ip;
        pod.replica->port = kEnginePort;
        pod.replica->gpu = pod.slot;
        pod.replica->phase = local::Phase::kReady;
        table_.Add(pod.replica);
        changed = true;
      }
      if (changed) {
        std::vector<gpu::ContainerDevices> devices;
        for (const auto& [name, pod] : pods_) {
          devices.push_back({.pod = name,
                             .namespace_ = std::string(kNamespace),
                             .container = "inference-server",
                             .resource_name = "nvidia.com/gpu",
                             .device_ids = {gpu_uuids_[static_cast<std::size_t>(pod.slot)]}});
        }
        pod_resources_->SetContainers(std::move(devices));
        WriteTargets();
      }
      lock.unlock();
      std::this_thread::sleep_for(milliseconds(250));
    }
  }

  // ---- observation --------------------------------------------------------------------------

  json::value GetJson(const std::string& path) {
    auto r = cp_->Get(path);
    if (!r.ok() || r->status != 200) return nullptr;
    return ParseOrNull(r->body);
  }

  std::string DeploymentPath() const {
    return fmt::format("/apis/apps/v1/namespaces/{}/deployments/{}", kNamespace, kDeployment);
  }
  std::string HpaPath(std::string_view name) const {
    return fmt::format("/apis/autoscaling/v2/namespaces/{}/horizontalpodautoscalers/{}", kNamespace, name);
  }

  std::int64_t SpecReplicas() { return IntAt(GetJson(DeploymentPath()), "spec.replicas"); }

  // Samples the HPA twice a second for the differential and the bundle.
  void StartSampler(std::string hpa_name) {
    sampler_thread_ = std::thread([this, hpa_name] {
      std::ofstream timeline(dir_ + "/hpa-timeline.jsonl", std::ios::app);
      while (!stop_) {
        json::value hpa = GetJson(HpaPath(hpa_name));
        if (!hpa.is_null()) {
          double now = UnixNow();
          timeline << json::serialize(json::object{{"time", now}, {"hpa", hpa}}) << "\n";
          timeline.flush();
          std::lock_guard lock(record_mu_);
          samples_.push_back({now, std::move(hpa)});
        }
        std::this_thread::sleep_for(milliseconds(500));
      }
    });
  }

  // Waits for `condition` on the HPA (re-read every half second).
  bool WaitHpa(std::string_view name, const std::function<bool(const json::value&)>& condition,
               milliseconds timeout) {
    return WaitFor([&] { return condition(GetJson(HpaPath(name))); }, timeout, milliseconds(500));
  }

  void StartLoad() {
    auto load = Subprocess::Start({.argv = {GpuscaleBinary(), "load", "looper",
                                            std::to_string(router_->port()), "--duration=10m"},
                                   .log_file = dir_ + "/load.log"});
    ASSERT_TRUE(load.ok()) << load.error().ToString();
    load_ = std::move(*load);
  }

  // Prometheus' answer to an instant query (for the bundle and the checks).
  std::string PromQuery(const std::string& query) {
    if (!prometheus_) return "";
    auto client = http::Client::Create();
    std::string url = prometheus_->url() + "/api/v1/query?query=";
    for (char ch : query) {
      if (std::isalnum(static_cast<unsigned char>(ch))) {
        url += ch;
      } else {
        url += fmt::format("%{:02X}", static_cast<unsigned char>(ch));
      }
    }
    auto r = client->Send(url, {});
    return r.ok() ? r->body : r.error().ToString();
  }

  // ---- the differential ---------------------------------------------------------------------

  // The recorded syncs as `gpuscale hpa replay` states (docs/hpa-state.md).
  std::string StatesJsonl(const std::string& metric) {
    std::lock_guard lock(record_mu_);
    std::string out;
    for (const RecordedSync& s : syncs_) {
      json::object state;
      state["time"] = s.time;
      state["replicas"] = IntAt(s.deployment, "spec.replicas");
      state["statusReplicas"] = IntAt(s.deployment, "status.replicas");
      state["selector"] = fmt::format("app={}", kAppLabel);
      std::map<std::string, std::string> values;
      json::value body = ParseOrNull(s.body);
      for (const auto& item : Items(body)) {
        values[StringAt(item, "describedObject.name")] = StringAt(item, "value");
      }
      json::array pods;
      for (const auto& pod : Items(s.pods)) {
        json::object p;
        std::string name = StringAt(pod, "metadata.name");
        p["name"] = name;
        if (const json::value* labels = At(pod, "metadata.labels")) p["labels"] = *labels;
        std::string phase = StringAt(pod, "status.phase");
        p["phase"] = phase.empty() ? "Pending" : phase;
        const json::value* ready = Condition(pod, "Ready");
        if (ready) {
          std::string status = StringAt(*ready, "status");
          if (status == "True") {
            p["ready"] = true;
          } else if (status == "False") {
            p["ready"] = false;
          } else {
            p["ready"] = "Unknown";
          }
          std::string since = StringAt(*ready, "lastTransitionTime");
          if (!since.empty()) p["readyTransitionTime"] = since;
        } else {
          p["ready"] = nullptr;
        }
        std::string start = StringAt(pod, "status.startTime");
        if (!start.empty()) p["startTime"] = start;
        std::string deleted = StringAt(pod, "metadata.deletionTimestamp");
        if (!deleted.empty()) p["deletionTimestamp"] = deleted;
        if (s.status == 200 && values.count(name)) {
          p["metrics"] = json::object{{metric, values[name]}};
        }
        pods.push_back(std::move(p));
      }
      state["pods"] = std::move(pods);
      if (s.status != 200) {
        std::string message = StringAt(ParseOrNull(s.body), "message");
        state["podMetrics"] = json::object{
            {metric, json::object{{"error", message.empty() ? s.body : message}}}};
      }
      out += json::serialize(state) + "\n";
    }
    return out;
  }

  // The controller's desired replicas after the sync at `time`: the HPA's status as last seen
  // before the next sync (or within 10 s), once the status reflects a sync after `time`.
  std::optional<std::int64_t> ControllerDesired(double time, double next_time) {
    std::lock_guard lock(record_mu_);
    std::optional<std::int64_t> desired;
    for (const HpaSample& sample : samples_) {
      if (sample.time <= time + 1.0) continue;
      if (sample.time >= next_time || sample.time > time + 10.0) break;
      desired = IntAt(sample.hpa, "status.desiredReplicas");
    }
    return desired;
  }

  void WriteBundle() {
    std::ofstream(dir_ + "/states.jsonl") << StatesJsonl("gpu_utilization_percent");
    std::ofstream(dir_ + "/prometheus-gpu-util.json") << PromQuery("DCGM_FI_DEV_GPU_UTIL");
    std::ofstream(dir_ + "/prometheus-running.json") << PromQuery("vllm:num_requests_running");
    std::ofstream(dir_ + "/prometheus-targets.json") << PromQuery("up");
  }


  std::unique_ptr<ControlPlane> cp_;
  std::string dir_, emu_dir_, targets_file_;
  std::vector<std::string> gpu_uuids_;
  std::unique_ptr<gpu::TestKubelet> pod_resources_;
  std::uint16_t exporter_port_ = 0, adapter_port_ = 0;
  std::unique_ptr<Subprocess> exporter_, adapter_, load_;
  std::unique_ptr<PrometheusServer> prometheus_;
  std::unique_ptr<http::Client> adapter_client_;
  std::unique_ptr<http::Server> proxy_;
  int adapter_starts_ = 0;
  std::unique_ptr<http::AsyncClient> proxy_client_;
  local::ReplicaTable table_;
  std::unique_ptr<local::Router> router_;
  std::mutex pods_mu_;
  std::map<std::string, RunningPod> pods_;
  std::thread kubelet_thread_, sampler_thread_;
  std::atomic<bool> stop_{false};
  std::mutex record_mu_;
  std::vector<RecordedSync> syncs_;
  std::vector<HpaSample> samples_;
};

// Scenario 1, the seed's GPU HPA, then scenario 4, broken setups, on the same cluster; the
// differential covers every sync of the run.
TEST_F(PipelineTest, SeedGpuHpaScalesUpUnderLoadAndBackDownAndReplayAgrees) {
  const std::string ns(kNamespace);
  const std::string hpa_name = "gemma-server-gpu-hpa";
  ASSERT_TRUE(cp_->Create("/apis/apps/v1/namespaces/" + ns + "/deployments", kDeploymentJson).ok());
  ASSERT_TRUE(
      cp_->Create("/apis/autoscaling/v2/namespaces/" + ns + "/horizontalpodautoscalers", kGpuHpaJson)
          .ok());
  StartSampler(hpa_name);

  // The metric reaches the custom metrics API through Prometheus and the aggregator.
  std::string discovery;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = cp_->Get("/apis/custom.metrics.k8s.io/v1beta1");
        discovery = r.ok() ? r->body : r.error().ToString();
        return r.ok() && r->status == 200 &&
               discovery.find("pods/gpu_utilization_percent") != std::string::npos;
      },
      seconds(90), milliseconds(1000)))
      << "the custom metrics API never listed pods/gpu_utilization_percent: " << discovery;
  std::string value_path =
      "/apis/custom.metrics.k8s.io/v1beta1/namespaces/" + ns + "/pods/*/gpu_utilization_percent";
  std::string answer;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = cp_->Get(value_path);
        answer = r.ok() ? fmt::format("HTTP {}: {}", r->status, r->body) : r.error().ToString();
        return r.ok() && r->status == 200 && !Items(ParseOrNull(r->body)).empty();
      },
      seconds(60), milliseconds(1000)))
      << "no value for the pod: " << answer;
  EXPECT_EQ(SpecReplicas(), 1) << "no load yet: one replica";

  // Under the looper, the HPA sees the GPU busy against the target of 20 and scales up.
  auto load_started = SteadyClock::now();
  StartLoad();
  ASSERT_TRUE(WaitFor([&] { return SpecReplicas() > 1; }, seconds(150), milliseconds(500)))
      << "replicas never rose above 1 under load";
  double reaction_s = std::chrono::duration<double>(SteadyClock::now() - load_started).count();
  std::fprintf(stderr, "reaction time, load start to first scale-up: %.1f s\n", reaction_s);

  // `kubectl describe hpa`: the current value against the target of 20.
  json::value hpa = GetJson(HpaPath(hpa_name));
  const json::value* current = At(hpa, "status.currentMetrics");
  ASSERT_TRUE(current && current->is_array() && !current->as_array().empty())
      << json::serialize(hpa);
  const json::value& m = current->as_array()[0];
  EXPECT_EQ(StringAt(m, "pods.metric.name"), "gpu_utilization_percent");
  EXPECT_FALSE(StringAt(m, "pods.current.averageValue").empty()) << json::serialize(m);
  const json::value* active = Condition(hpa, "ScalingActive");
  ASSERT_NE(active, nullptr);
  EXPECT_EQ(StringAt(*active, "status"), "True") << json::serialize(*active);
  EXPECT_EQ(StringAt(*active, "reason"), "ValidMetricFound");

  // New pods become ready and get traffic: every replica's engine serves.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(pods_mu_);
        int ready = 0;
        for (const auto& [n, p] : pods_) ready += p.ready;
        return ready == SpecReplicas() && ready > 1;
      },
      seconds(60), milliseconds(500)))
      << "the new pods never became ready";

  // While the looper runs, the load spread over the replicas keeps them above the target.
  std::this_thread::sleep_for(seconds(30));
  EXPECT_GT(SpecReplicas(), 1) << "the HPA scaled down while the load was still running";

  // The load stops; after the 30 s scale-down window the HPA returns to one replica.
  load_->Stop(milliseconds(2000));
  ASSERT_TRUE(WaitFor([&] { return SpecReplicas() == 1; }, seconds(180), milliseconds(1000)))
      << "replicas never returned to 1 after the load stopped";

  // Scenario 4: broken setups leave replicas alone, and the conditions say why.
  auto failed_with = [&](std::string_view text) {
    return [this, hpa_name, text](const json::value& h) {
      const json::value* c = Condition(h, "ScalingActive");
      return c && StringAt(*c, "status") == "False" &&
             StringAt(*c, "reason") == "FailedGetPodsMetric" &&
             StringAt(*c, "message").find(text) != std::string::npos;
    };
  };
  // (a) The adapter is down: its endpoint answers 503, as the aggregator does when it cannot
  // reach a backend.
  adapter_->Signal(SIGKILL);
  adapter_->Wait(milliseconds(5000));
  EXPECT_TRUE(WaitHpa(hpa_name, failed_with("gpu_utilization_percent"), seconds(60)))
      << json::serialize(GetJson(HpaPath(hpa_name)));
  EXPECT_EQ(SpecReplicas(), 1);
  StartAdapter();
  EXPECT_TRUE(WaitHpa(
      hpa_name,
      [](const json::value& h) {
        const json::value* c = Condition(h, "ScalingActive");
        return c && StringAt(*c, "status") == "True";
      },
      seconds(60)))
      << "the HPA did not recover once the adapter was back";
  // (b) Prometheus is down: the adapter answers 503 and says so.
  prometheus_->process().Stop(milliseconds(2000));
  EXPECT_TRUE(WaitHpa(hpa_name, failed_with("gpu_utilization_percent"), seconds(60)))
      << json::serialize(GetJson(HpaPath(hpa_name)));
  EXPECT_EQ(SpecReplicas(), 1);

  // The differential: replay every recorded sync through the hpa library.
  stop_ = true;
  sampler_thread_.join();
  std::string hpa_file = dir_ + "/hpa.json", states_file = dir_ + "/states.jsonl";
  std::ofstream(hpa_file) << kGpuHpaJson;
  std::ofstream(states_file) << StatesJsonl("gpu_utilization_percent");
  std::string output;
  auto replayed = RunCommand(
      {GpuscaleBinary(), "hpa", "replay", "--hpa", hpa_file, "--input", states_file}, &output);
  ASSERT_TRUE(replayed.ok()) << replayed.error().ToString();
  ASSERT_EQ(*replayed, 0) << output;
  std::vector<json::value> decisions;
  std::size_t pos = 0;
  while (pos < output.size()) {
    std::size_t end = output.find('\n', pos);
    if (end == std::string::npos) end = output.size();
    json::value line = ParseOrNull(output.substr(pos, end - pos));
    if (line.is_object()) decisions.push_back(std::move(line));
    pos = end + 1;
  }
  std::vector<RecordedSync> syncs;
  {
    std::lock_guard lock(record_mu_);
    syncs = syncs_;
  }
  ASSERT_EQ(decisions.size(), syncs.size()) << output;
  ASSERT_GE(syncs.size(), 6u) << "too few syncs recorded";
  int compared = 0, scale_ups = 0, failed_syncs = 0;
  for (std::size_t i = 0; i < syncs.size(); ++i) {
    double next = i + 1 < syncs.size() ? syncs[i + 1].time : syncs[i].time + 15;
    // A sync whose metric failed leaves status.desiredReplicas as it was (and the controller's
    // memory untouched): there is no decision to compare.
    if (!At(decisions[i], "error") || !At(decisions[i], "error")->is_null()) {
      ++failed_syncs;
      continue;
    }
    auto controller = ControllerDesired(syncs[i].time, next);
    if (!controller) continue;  // the status was not seen between syncs
    ++compared;
    std::int64_t predicted = IntAt(decisions[i], "desiredReplicas");
    scale_ups += predicted > IntAt(syncs[i].deployment, "spec.replicas");
    EXPECT_EQ(predicted, *controller)
        << "sync " << i << " at " << fmt::format("{:.3f}", syncs[i].time) << ": replay "
        << json::serialize(decisions[i]);
  }
  EXPECT_GE(compared, static_cast<int>(syncs.size()) - failed_syncs - 2)
      << "too few syncs compared";
  // With the adapter down the controller's discovery finds no metric and sends nothing; with
  // Prometheus down the adapter answers, with an error.
  EXPECT_GE(failed_syncs, 1) << "the Prometheus outage should show as a failed sync";
  EXPECT_GE(scale_ups, 1) << "the replay never predicted the scale-up";
  std::fprintf(stderr,
               "differential: %zu syncs, %d compared (all equal unless reported), %d failed\n",
               syncs.size(), compared, failed_syncs);
}

}  // namespace
}  // namespace gpuscale::testing
