// The seed's tutorial on a real control plane: etcd, kube-apiserver and kube-controller-manager
// (its deployment, replicaset and HPA controllers at the seed's 15 s sync period), a test kubelet
// that runs one `gpuscale engine` per pod on its own emulated GPU and serves the pod-resources
// API, `gpuscale exporter` labelling each GPU with its pod, a real Prometheus, `gpuscale adapter`
// registered as the custom metrics APIService, a router standing in for the vLLM Service, and
// `gpuscale load looper`. The HPA, the adapter's rules and flags, the APIServices, the monitors'
// scrape settings and the relabel rule come from the Helm chart (deploy/helm/gpuscale, rendered
// by helm); the Deployment is deploy/example/vllm.yaml.
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
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

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
#include "test/support/yaml_json.h"

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
constexpr std::string_view kRelease = "gpuscale";
constexpr int kMaxReplicas = 5;
constexpr int kEnginePort = 8081;  // the seed's containerPort

const std::string kChart = std::string(GPUSCALE_SOURCE_DIR) + "/deploy/helm/gpuscale";

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
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

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (std::isalnum(static_cast<unsigned char>(ch))) {
      out += ch;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(ch));
    }
  }
  return out;
}

// "15s" / "1m" (the monitors' intervals) as milliseconds; 0 when unreadable.
milliseconds Interval(std::string_view text) {
  if (text.size() < 2) return milliseconds(0);
  int n = std::atoi(std::string(text.substr(0, text.size() - 1)).c_str());
  switch (text.back()) {
    case 's':
      return seconds(n);
    case 'm':
      return std::chrono::minutes(n);
    default:
      return milliseconds(0);
  }
}

// The chart rendered by helm, as JSON objects.
struct Chart {
  std::vector<json::value> objects;

  // The first object of `kind` whose name contains `name_part`, or nullptr.
  const json::value* Find(std::string_view kind, std::string_view name_part = "") const {
    for (const auto& o : objects) {
      if (StringAt(o, "kind") == kind &&
          StringAt(o, "metadata.name").find(name_part) != std::string::npos) {
        return &o;
      }
    }
    return nullptr;
  }
};

// Which exporter pipeline a metrics stack reproduces.
enum class ExporterScrape {
  kAsChart,    // the chart's exporter monitor: honorLabels as it renders it
  kFastChart,  // the same, with 2 s scrapes and rule evaluations for quick scenarios
};

// One metrics pipeline: Prometheus configured as the chart's monitors would make the
// Prometheus Operator configure it, and the adapter with the chart's flags and rules.
struct MetricsStack {
  std::string name;
  std::unique_ptr<PrometheusServer> prometheus;
  std::unique_ptr<Subprocess> adapter;
  std::uint16_t adapter_port = 0;
  std::vector<std::string> adapter_argv;
  int adapter_starts = 0;
};

// One custom metrics call of the HPA controller, with what the cluster looked like then.
struct RecordedCall {
  double time = 0;  // Unix seconds when the call arrived
  std::string metric;
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
    auto helm = PeerBinary("helm");
    ASSERT_TRUE(helm.ok()) << helm.error().ToString();
    helm_ = *helm;
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
    targets_file_ = dir_ + "/vllm-targets.json";
    std::ofstream(targets_file_) << "[]";

    // One serving certificate from the cluster CA for the adapters and the proxy; its CA is the
    // APIServices' caBundle. The aggregator checks the name <service>.<namespace>.svc.
    const ControlPlaneCerts& c = cp_->certs();
    http::CertificateAndKey ca{ReadFile(c.ca_cert), ReadFile(c.ca_key)};
    auto serving = http::IssueServerCert(
        ca, {.common_name = "gpuscale-adapter",
             // The chart names the Service <fullname>-adapter; fullname is the release name
             // when it contains the chart's.
             .dns_names = {"localhost", fmt::format("{}-adapter.{}.svc", kRelease, kMonitoring)},
             .ip_addresses = {"127.0.0.1"}});
    ASSERT_TRUE(serving.ok());
    serving_cert_ = dir_ + "/serving-cert/tls.crt";
    serving_key_ = dir_ + "/serving-cert/tls.key";
    ASSERT_TRUE(http::WritePemFiles(*serving, serving_cert_, serving_key_).ok());

    StartExporter();

    proxy_client_ = http::AsyncClient::Create({}, 1);
    auto router = local::Router::Start({.address = "127.0.0.1", .port = 0}, table_, *proxy_client_);
    ASSERT_TRUE(router.ok()) << router.error().ToString();
    router_ = std::move(*router);

    http::ClientOptions to_adapter;
    to_adapter.request_timeout = seconds(30);
    to_adapter.tls = {.ca_file = c.ca_cert,
                      .cert_file = c.front_proxy_client_cert,
                      .key_file = c.front_proxy_client_key,
                      .server_name = "localhost"};
    adapter_client_ = http::Client::Create(to_adapter);

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
    if (HasFailure() && cp_) WriteBundle();
    stacks_.clear();
    exporter_.reset();
    if (pod_resources_) pod_resources_->Stop();
    if (!cp_) return;
    cp_->Finish(HasFailure());
  }

  // ---- the chart ----------------------------------------------------------------------------

  // `helm template` of the chart with a values file (relative to the chart; empty: defaults)
  // and --set options. The APIServices carry the cluster CA (TLS mode `secret`).
  Chart Render(const std::string& values_file, std::vector<std::string> sets = {}) {
    std::vector<std::string> argv = {helm_, "template", std::string(kRelease), kChart};
    if (!values_file.empty()) argv.insert(argv.end(), {"-f", kChart + "/" + values_file});
    sets.push_back("adapter.tls.mode=secret");
    sets.push_back("adapter.tls.caBundle=" + Base64(ReadFile(cp_->certs().ca_cert)));
    for (const auto& s : sets) argv.insert(argv.end(), {"--set", s});
    Chart chart;
    auto rendered = RunForOutput(argv);
    EXPECT_TRUE(rendered.ok()) << rendered.error().ToString();
    if (!rendered.ok()) return chart;
    auto docs = YamlDocumentsToJson(*rendered, values_file.empty() ? "chart" : values_file);
    EXPECT_TRUE(docs.ok()) << docs.error().ToString();
    if (!docs.ok()) return chart;
    for (const auto& doc : *docs) chart.objects.push_back(ParseOrNull(doc));
    return chart;
  }

  // Creates `object` (YAML or JSON) through its collection path.
  void Apply(const json::value& object) {
    std::string kind = StringAt(object, "kind"), api = StringAt(object, "apiVersion");
    std::string ns = StringAt(object, "metadata.namespace");
    std::string lower = kind;
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string plural = lower.back() == 's'   ? lower + "es"
                         : lower.back() == 'y' ? lower.substr(0, lower.size() - 1) + "ies"
                                               : lower + "s";
    std::string base = api.find('/') == std::string::npos ? "/api/" + api : "/apis/" + api;
    std::string path = ns.empty() ? base + "/" + plural : base + "/namespaces/" + ns + "/" + plural;
    auto created = cp_->Create(path, json::serialize(object));
    ASSERT_TRUE(created.ok()) << kind << " " << StringAt(object, "metadata.name") << ": "
                              << created.ToString();
  }

  // Applies what a cluster would run from the chart and the example: the seed's Deployment,
  // the HPA, the adapter's RBAC and APIServices. The adapter's Service becomes an ExternalName
  // for localhost (the aggregator then dials localhost:<APIService port>, i.e. the proxy); the
  // monitors and the rule (no Prometheus Operator here) are read by StartStack instead.
  void DeployChart(const Chart& chart) {
    auto example = YamlDocumentsToJson(
        ReadFile(std::string(GPUSCALE_SOURCE_DIR) + "/deploy/example/vllm.yaml"), "vllm.yaml");
    ASSERT_TRUE(example.ok()) << example.error().ToString();
    for (const auto& doc : *example) {
      json::value object = ParseOrNull(doc);
      if (StringAt(object, "kind") == "Deployment") {
        object.as_object()["metadata"].as_object()["namespace"] = std::string(kNamespace);
        Apply(object);
      }
    }
    for (json::value object : chart.objects) {
      std::string kind = StringAt(object, "kind");
      if (kind == "ServiceMonitor" || kind == "PodMonitor" || kind == "PrometheusRule" ||
          kind == "DaemonSet" || kind == "Deployment") {
        continue;  // read by StartStack; the test runs the exporter and the adapter itself
      }
      if (kind == "Service" &&
          StringAt(object, "metadata.name").find("adapter") != std::string::npos) {
        object.as_object()["spec"] =
            json::object{{"type", "ExternalName"}, {"externalName", "localhost"}};
      }
      if (kind == "APIService") {
        object.as_object()["spec"].as_object()["service"].as_object()["port"] = proxy_->port();
      }
      if (kind == "HorizontalPodAutoscaler") hpa_ = object;
      Apply(object);
      if (HasFatalFailure()) return;
    }
    ASSERT_FALSE(hpa_.is_null()) << "the chart rendered no HPA";
  }

  // ---- components -------------------------------------------------------------------------

  void StartExporter() {
    exporter_port_ = FreePort();
    auto exporter = Subprocess::Start(
        {.argv = {GpuscaleBinary(), "exporter",
                  fmt::format("--address=127.0.0.1:{}", exporter_port_), "--collect-interval=1000",
                  "--emu-dir=" + emu_dir_, "--kubernetes",
                  "--pod-resources-socket=" + pod_resources_->socket_path(),
                  "--pod-resources-interval=500"},
         .log_file = dir_ + "/exporter.log"});
    ASSERT_TRUE(exporter.ok()) << exporter.error().ToString();
    exporter_ = std::move(*exporter);
    ASSERT_TRUE(WaitForPort(exporter_port_, seconds(30))) << ReadFile(dir_ + "/exporter.log");
  }

  // Prometheus with the scrape jobs the Prometheus Operator renders for the chart's monitors
  // and the chart's PrometheusRule, and the adapter with the chart's flags and rules.
  //
  // Debian's Prometheus has no kubernetes_sd, and the endpoints roles a ServiceMonitor uses
  // need Endpoints, which cannot hold loopback addresses; so the test kubelet writes the vLLM
  // targets (pod address, port `http`, with namespace, pod and container target labels) to a
  // file_sd file. The exporter is scraped with the exporter monitor's honorLabels; without
  // it, the exporter's own pod and namespace (target labels from the Operator) win and the
  // workload's become exported_pod and exported_namespace, as in the seed.
  MetricsStack& StartStack(const std::string& name, const Chart& chart, ExporterScrape scrape) {
    auto stack = std::make_unique<MetricsStack>();
    stack->name = name;
    const json::value* monitor = chart.Find("ServiceMonitor", "exporter");
    if (!monitor) monitor = chart.Find("PodMonitor", "exporter");
    const json::value* endpoint = nullptr;
    if (monitor) {
      for (const char* key : {"spec.endpoints", "spec.podMetricsEndpoints"}) {
        const json::value* eps = At(*monitor, key);
        if (eps && eps->is_array() && !eps->as_array().empty()) endpoint = &eps->as_array()[0];
      }
    }
    bool honor = endpoint && At(*endpoint, "honorLabels") &&
                 At(*endpoint, "honorLabels")->is_bool() && At(*endpoint, "honorLabels")->as_bool();
    milliseconds interval = endpoint ? Interval(StringAt(*endpoint, "interval")) : seconds(15);
    milliseconds evaluation = seconds(30);  // the Prometheus Operator's default
    if (scrape == ExporterScrape::kFastChart) interval = evaluation = seconds(2);

    std::vector<std::string> rule_files;
    if (const json::value* rule = chart.Find("PrometheusRule")) {
      std::string file = fmt::format("{}/{}-rules.json", dir_, name);
      std::ofstream(file) << json::serialize(json::object{{"groups", *At(*rule, "spec.groups")}});
      rule_files.push_back(file);
    }
    std::string exporter_labels =
        honor ? ""
              : fmt::format(", labels: {{namespace: {}, pod: gpu-exporter-x7k2p}}", kMonitoring);
    std::string scrape_configs = fmt::format(
        "  - job_name: serviceMonitor/{mon}/gpu-exporter/0\n"
        "    honor_labels: {honor}\n"
        "    static_configs: [{{targets: ['127.0.0.1:{port}']{labels}}}]\n"
        "  - job_name: serviceMonitor/{mon}/vllm/0\n"
        "    file_sd_configs: [{{files: ['{targets}'], refresh_interval: 1s}}]\n",
        fmt::arg("mon", kMonitoring), fmt::arg("honor", honor), fmt::arg("port", exporter_port_),
        fmt::arg("labels", exporter_labels), fmt::arg("targets", targets_file_));
    auto prometheus = PrometheusServer::Start({.scrape_configs = scrape_configs,
                                               .scrape_interval = interval,
                                               .evaluation_interval = evaluation,
                                               .rule_files = rule_files,
                                               .ready_timeout = seconds(60)});
    EXPECT_TRUE(prometheus.ok()) << prometheus.error().ToString();
    if (!prometheus.ok()) return *stacks_.emplace_back(std::move(stack));
    stack->prometheus = std::move(*prometheus);

    // The adapter: the chart's container args, with the paths and addresses of this machine.
    const json::value* config_map = chart.Find("ConfigMap", "adapter-config");
    EXPECT_NE(config_map, nullptr);
    std::string rules = fmt::format("{}/{}-adapter-config.yaml", dir_, name);
    if (const json::value* data = config_map ? At(*config_map, "data") : nullptr) {
      if (const json::value* file = data->as_object().if_contains("config.yaml")) {
        std::ofstream(rules) << file->as_string().c_str();
      }
    }
    stack->adapter_port = FreePort();
    const std::string& kubeconfig = cp_->admin_kubeconfig();
    std::map<std::string, std::string> overrides = {
        {"--prometheus-url", stack->prometheus->url()},
        {"--config", rules},
        {"--secure-port", std::to_string(stack->adapter_port)},
        {"--tls-cert-file", serving_cert_},
        {"--tls-private-key-file", serving_key_},
        // Faster than the chart's 1m so new series are found within the test's patience. The
        // discovery window must still span a scrape: /api/v1/series only returns series with
        // a sample inside it, and a window shorter than the scrape interval loses them.
        {"--metrics-relist-interval", "5s"},
        {"--metrics-max-age",
         fmt::format("{}s", std::chrono::duration_cast<seconds>(2 * interval).count() + 5)},
    };
    stack->adapter_argv = {GpuscaleBinary()};
    const json::value* deployment = chart.Find("Deployment", "adapter");
    EXPECT_NE(deployment, nullptr);
    const json::value* args =
        deployment ? At(At(*deployment, "spec.template.spec.containers")->as_array()[0], "args")
                   : nullptr;
    std::set<std::string> seen;
    if (args && args->is_array()) {
      for (const auto& a : args->as_array()) {
        std::string arg(a.as_string());
        std::string flag = arg.substr(0, arg.find('='));
        if (overrides.count(flag)) {
          seen.insert(flag);
          arg = flag + "=" + overrides[flag];
        }
        stack->adapter_argv.push_back(arg);
      }
    }
    for (const auto& [flag, value] : overrides) {
      if (!seen.count(flag)) stack->adapter_argv.push_back(flag + "=" + value);
    }
    // Out of the cluster: a kubeconfig instead of the service account, loopback only. The
    // front-proxy CA and header names come from kube-system/extension-apiserver-authentication.
    for (const char* flag :
         {"--lister-kubeconfig", "--authentication-kubeconfig", "--authorization-kubeconfig"}) {
      stack->adapter_argv.push_back(std::string(flag) + "=" + kubeconfig);
    }
    stack->adapter_argv.push_back("--bind-address=127.0.0.1");
    stack->adapter_argv.push_back("--cert-dir=" + dir_ + "/" + name + "-adapter-certs");
    stacks_.push_back(std::move(stack));
    StartAdapter(*stacks_.back());
    return *stacks_.back();
  }

  // Starts (or restarts, on the same port) a stack's adapter.
  void StartAdapter(MetricsStack& stack) {
    auto adapter = Subprocess::Start({.argv = stack.adapter_argv,
                                      .log_file = fmt::format("{}/{}-adapter-{}.log", dir_,
                                                              stack.name, ++stack.adapter_starts)});
    ASSERT_TRUE(adapter.ok()) << adapter.error().ToString();
    stack.adapter = std::move(*adapter);
    ASSERT_TRUE(WaitForPort(stack.adapter_port, seconds(30))) << stack.adapter->ReadLog();
  }

  // A call to a stack's adapter as the aggregator makes it: front-proxy client certificate,
  // the caller in X-Remote-User and one X-Remote-Group field per group.
  core::Result<http::Response> AdapterGet(const MetricsStack& stack, const std::string& target,
                                          const http::Headers* caller = nullptr) {
    http::Request request;
    request.headers.Set("Accept", "application/json");
    if (caller) {
      for (const auto& [name, value] : caller->fields()) {
        std::string lower = name;
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower.rfind("x-remote-", 0) == 0) request.headers.Add(name, value);
      }
    } else {
      request.headers.Add("X-Remote-User", "admin");
      request.headers.Add("X-Remote-Group", "system:masters");
      request.headers.Add("X-Remote-Group", "system:authenticated");
    }
    return adapter_client_->Send(fmt::format("https://127.0.0.1:{}{}", stack.adapter_port, target),
                                 std::move(request));
  }

  // The APIService's endpoint: forwards every call to the main stack's adapter and records the
  // HPA controller's.
  void StartRecordingProxy() {
    http::ServerOptions options;
    options.address = "127.0.0.1";
    options.io_threads = 2;
    options.tls = http::TlsServerOptions{serving_cert_, serving_key_,
                                         cp_->certs().front_proxy_ca_cert, false};
    auto proxy = http::Server::Start(
        options, http::Sync([this](const http::Request& request) { return Forward(request); }));
    ASSERT_TRUE(proxy.ok()) << proxy.error().ToString();
    proxy_ = std::move(*proxy);
  }

  http::Response Forward(const http::Request& request) {
    double now = UnixNow();
    // The HPA controller's lookups (the test's own calls come as "admin").
    std::string user(request.headers.Get("X-Remote-User").value_or(""));
    bool from_controller = user != "admin" && request.target.find("/pods/") != std::string::npos;
    RecordedCall call;
    if (from_controller) {
      std::string path = request.target.substr(0, request.target.find('?'));
      call.time = now;
      call.metric = path.substr(path.rfind('/') + 1);
      call.pods = GetJson("/api/v1/namespaces/" + std::string(kNamespace) + "/pods");
      call.deployment = GetJson(DeploymentPath());
    }
    {
      std::lock_guard lock(record_mu_);
      std::ofstream(dir_ + "/proxy-requests.log", std::ios::app)
          << fmt::format("{:.3f} {} {} ({})\n", now, request.method, request.target, user);
    }
    auto answer = AdapterGet(*stacks_.front(), request.target, &request.headers);
    http::Response response;
    if (!answer.ok()) {
      // What the aggregator answers when a backend cannot be reached.
      response = http::Response::Text(503, answer.error().ToString());
    } else {
      response.status = answer->status;
      response.body = answer->body;
      response.headers.Set(
          "Content-Type",
          std::string(answer->headers.Get("Content-Type").value_or("application/json")));
    }
    if (from_controller) {
      call.status = response.status;
      call.body = response.body;
      std::lock_guard lock(record_mu_);
      calls_.push_back(std::move(call));
    }
    return response;
  }

  // ---- the test kubelet ---------------------------------------------------------------------

  // Runs one engine per pod of the Deployment, marks it Running and Ready with its loopback
  // address once it answers, tells the exporter (pod-resources) which GPU it holds and
  // Prometheus (file_sd) where to scrape it, and stops the engine when the pod goes.
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
                      "--startup-delay=2s", "--served-model-name=google/gemma-3-1b-it",
                      "--output-len-dist=" + output_len_dist_},
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

  int ReadyPods() {
    std::lock_guard lock(pods_mu_);
    int ready = 0;
    for (const auto& [n, p] : pods_) ready += p.ready;
    return ready;
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
  std::string HpaPath() const {
    return fmt::format("/apis/autoscaling/v2/namespaces/{}/horizontalpodautoscalers/{}", kNamespace,
                       StringAt(hpa_, "metadata.name"));
  }
  json::value Hpa() { return GetJson(HpaPath()); }

  std::int64_t SpecReplicas() { return IntAt(GetJson(DeploymentPath()), "spec.replicas"); }

  // Samples the HPA twice a second for the differential and the bundle.
  void StartSampler() {
    sampler_thread_ = std::thread([this] {
      std::ofstream timeline(dir_ + "/hpa-timeline.jsonl", std::ios::app);
      while (!stop_) {
        json::value hpa = Hpa();
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
  bool WaitHpa(const std::function<bool(const json::value&)>& condition, milliseconds timeout) {
    return WaitFor([&] { return condition(Hpa()); }, timeout, milliseconds(500));
  }

  void StartLoad(double rate) {
    auto load = Subprocess::Start(
        {.argv = {GpuscaleBinary(), "load", "looper", std::to_string(router_->port()),
                  "--duration=10m", fmt::format("--rate={}", rate)},
         .log_file = dir_ + "/load.log"});
    ASSERT_TRUE(load.ok()) << load.error().ToString();
    load_ = std::move(*load);
  }

  // Prometheus' answer to an instant query (for the bundle).
  std::string PromQuery(const MetricsStack& stack, const std::string& query) {
    if (!stack.prometheus) return "";
    auto client = http::Client::Create();
    auto r = client->Send(stack.prometheus->url() + "/api/v1/query?query=" + UrlEncode(query), {});
    return r.ok() ? r->body : r.error().ToString();
  }

  // ---- scenario steps -----------------------------------------------------------------------

  // Renders the chart, starts the stack behind the recording proxy, deploys, and waits until
  // the custom metrics API serves every metric of the HPA for the first pod.
  void Deploy(const std::string& values_file) {
    Chart chart = Render(values_file);
    ASSERT_FALSE(chart.objects.empty());
    StartStack("main", chart, ExporterScrape::kFastChart);
    ASSERT_FALSE(HasFatalFailure());
    StartRecordingProxy();
    DeployChart(chart);
    ASSERT_FALSE(HasFatalFailure());
    StartSampler();

    for (const auto& m : At(hpa_, "spec.metrics")->as_array()) {
      std::string metric = StringAt(m, "pods.metric.name");
      metrics_.push_back(metric);
      std::string discovery;
      ASSERT_TRUE(WaitFor(
          [&] {
            // `kubectl get --raw /apis/custom.metrics.k8s.io/v1beta1`, through the aggregator.
            auto r = cp_->Get("/apis/custom.metrics.k8s.io/v1beta1");
            discovery = r.ok() ? r->body : r.error().ToString();
            return r.ok() && r->status == 200 &&
                   discovery.find("\"pods/" + metric + "\"") != std::string::npos;
          },
          seconds(90), milliseconds(1000)))
          << "the custom metrics API never listed pods/" << metric << ": " << discovery;
      std::string answer;
      ASSERT_TRUE(WaitFor(
          [&] {
            auto r = cp_->Get(fmt::format(
                "/apis/custom.metrics.k8s.io/v1beta1/namespaces/{}/pods/*/{}", kNamespace, metric));
            answer = r.ok() ? fmt::format("HTTP {}: {}", r->status, r->body) : r.error().ToString();
            return r.ok() && r->status == 200 && !Items(ParseOrNull(r->body)).empty();
          },
          seconds(60), milliseconds(1000)))
          << "no value of " << metric << " for the pod: " << answer;
    }
    EXPECT_EQ(SpecReplicas(), 1) << "no load yet: one replica";
  }

  // Load at `rate`; replicas rise above 1, hold for `hold`, and return to 1 once the load
  // stops. Returns the seconds from load start to the first scale-up.
  double ScaleUpHoldAndDown(double rate, seconds hold) {
    auto started = SteadyClock::now();
    StartLoad(rate);
    EXPECT_TRUE(WaitFor([&] { return SpecReplicas() > 1; }, seconds(150), milliseconds(500)))
        << "replicas never rose above 1 under load";
    double reaction = std::chrono::duration<double>(SteadyClock::now() - started).count();
    std::fprintf(stderr, "load start to first scale-up: %.1f s\n", reaction);

    // `kubectl describe hpa`: each metric's current value against its target.
    json::value hpa = Hpa();
    const json::value* current = At(hpa, "status.currentMetrics");
    EXPECT_TRUE(current && current->is_array() && current->as_array().size() == metrics_.size())
        << json::serialize(hpa);
    if (current && current->is_array()) {
      for (const auto& m : current->as_array()) {
        EXPECT_FALSE(StringAt(m, "pods.current.averageValue").empty()) << json::serialize(m);
      }
    }
    const json::value* active = Condition(hpa, "ScalingActive");
    EXPECT_TRUE(active && StringAt(*active, "reason") == "ValidMetricFound")
        << json::serialize(hpa);

    // The new pods become ready (the test kubelet starts their engines) and take traffic.
    EXPECT_TRUE(WaitFor([&] { return ReadyPods() == SpecReplicas() && ReadyPods() > 1; },
                        seconds(60), milliseconds(500)))
        << "the new pods never became ready";
    std::this_thread::sleep_for(hold);
    EXPECT_GT(SpecReplicas(), 1) << "the HPA scaled down while the load was still running";

    // The load stops; after the 30 s scale-down window the HPA returns to one replica.
    load_->Stop(milliseconds(2000));
    EXPECT_TRUE(WaitFor([&] { return SpecReplicas() == 1; }, seconds(180), milliseconds(1000)))
        << "replicas never returned to 1 after the load stopped";
    return reaction;
  }

  // ---- the differential ---------------------------------------------------------------------

  // The recorded calls grouped into syncs: a sync's calls (one per metric) come within a
  // moment of each other; syncs are 15 s apart.
  std::vector<std::vector<RecordedCall>> Syncs() {
    std::lock_guard lock(record_mu_);
    std::vector<std::vector<RecordedCall>> syncs;
    for (const RecordedCall& c : calls_) {
      if (syncs.empty() || c.time - syncs.back().front().time > 3.0) syncs.emplace_back();
      syncs.back().push_back(c);
    }
    return syncs;
  }

  // The recorded syncs as `gpuscale hpa replay` states (docs/hpa-state.md).
  std::string StatesJsonl(const std::vector<std::vector<RecordedCall>>& syncs) {
    std::string out;
    for (const auto& calls : syncs) {
      const RecordedCall& first = calls.front();
      json::object state;
      state["time"] = first.time;
      state["replicas"] = IntAt(first.deployment, "spec.replicas");
      state["statusReplicas"] = IntAt(first.deployment, "status.replicas");
      state["selector"] = fmt::format("app={}", kAppLabel);
      std::map<std::string, json::object> values;  // pod -> {metric: value}
      json::object errors;
      for (const RecordedCall& c : calls) {
        if (c.status != 200) {
          std::string message = StringAt(ParseOrNull(c.body), "message");
          errors[c.metric] = json::object{{"error", message.empty() ? c.body : message}};
          continue;
        }
        for (const auto& item : Items(ParseOrNull(c.body))) {
          values[StringAt(item, "describedObject.name")][c.metric] = StringAt(item, "value");
        }
      }
      json::array pods;
      for (const auto& pod : Items(first.pods)) {
        json::object p;
        std::string name = StringAt(pod, "metadata.name");
        p["name"] = name;
        if (const json::value* labels = At(pod, "metadata.labels")) p["labels"] = *labels;
        std::string phase = StringAt(pod, "status.phase");
        p["phase"] = phase.empty() ? "Pending" : phase;
        if (const json::value* ready = Condition(pod, "Ready")) {
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
        if (values.count(name)) p["metrics"] = values[name];
        pods.push_back(std::move(p));
      }
      state["pods"] = std::move(pods);
      if (!errors.empty()) state["podMetrics"] = std::move(errors);
      out += json::serialize(state) + "\n";
    }
    return out;
  }

  // The controller's desired replicas after the sync at `time`: the HPA's status as last seen
  // before the next sync (and within 10 s).
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

  struct Replay {
    int failed = 0;                      // syncs whose metrics failed
    std::vector<json::value> decisions;  // one per sync
  };

  // Replays every recorded sync through `gpuscale hpa replay` and compares its desired
  // replicas with the controller's.
  Replay ExpectReplayAgrees(std::size_t min_syncs) {
    stop_ = true;
    if (sampler_thread_.joinable()) sampler_thread_.join();
    auto syncs = Syncs();
    std::string hpa_file = dir_ + "/hpa.json", states_file = dir_ + "/states.jsonl";
    std::ofstream(hpa_file) << json::serialize(hpa_);
    std::ofstream(states_file) << StatesJsonl(syncs);
    auto output = RunForOutput(
        {GpuscaleBinary(), "hpa", "replay", "--hpa", hpa_file, "--input", states_file});
    EXPECT_TRUE(output.ok()) << output.error().ToString();
    if (!output.ok()) return {};
    std::vector<json::value> decisions;
    std::size_t pos = 0;
    while (pos < output->size()) {
      std::size_t end = output->find('\n', pos);
      if (end == std::string::npos) end = output->size();
      json::value line = ParseOrNull(output->substr(pos, end - pos));
      if (line.is_object()) decisions.push_back(std::move(line));
      pos = end + 1;
    }
    EXPECT_EQ(decisions.size(), syncs.size()) << *output;
    EXPECT_GE(syncs.size(), min_syncs) << "too few syncs recorded";
    if (decisions.size() != syncs.size()) return {};
    int compared = 0, failed = 0, scale_ups = 0;
    for (std::size_t i = 0; i < syncs.size(); ++i) {
      // A sync whose metrics failed leaves status.desiredReplicas as it was (and the
      // controller's memory untouched): there is no decision to compare.
      const json::value* error = At(decisions[i], "error");
      if (!error || !error->is_null()) {
        ++failed;
        continue;
      }
      double next = i + 1 < syncs.size() ? syncs[i + 1].front().time : syncs[i].front().time + 15;
      auto controller = ControllerDesired(syncs[i].front().time, next);
      if (!controller) continue;  // the status was not seen between syncs
      ++compared;
      std::int64_t predicted = IntAt(decisions[i], "desiredReplicas");
      scale_ups += predicted > IntAt(syncs[i].front().deployment, "spec.replicas");
      EXPECT_EQ(predicted, *controller)
          << "sync " << i << " at " << fmt::format("{:.3f}", syncs[i].front().time) << ": replay "
          << json::serialize(decisions[i]);
    }
    EXPECT_GE(compared, static_cast<int>(syncs.size()) - failed - 2) << "too few syncs compared";
    EXPECT_GE(scale_ups, 1) << "the replay never predicted the scale-up";
    std::fprintf(stderr,
                 "differential: %zu syncs, %d compared (all equal unless reported), %d failed\n",
                 syncs.size(), compared, failed);
    return {failed, std::move(decisions)};
  }

  void WriteBundle() {
    std::ofstream(dir_ + "/states.jsonl") << StatesJsonl(Syncs());
    for (const auto& stack : stacks_) {
      for (const char* q : {"DCGM_FI_DEV_GPU_UTIL", "dcgm_fi_dev_gpu_util_relabelled",
                            "vllm:num_requests_running", "up"}) {
        std::string file = fmt::format("{}/{}-prometheus-{}.json", dir_, stack->name, q);
        std::replace(file.begin() + static_cast<std::ptrdiff_t>(dir_.size()), file.end(), ':', '_');
        std::ofstream(file) << PromQuery(*stack, q);
      }
    }
  }

  std::string helm_;
  std::unique_ptr<ControlPlane> cp_;
  std::string dir_, emu_dir_, targets_file_, serving_cert_, serving_key_;
  std::vector<std::string> gpu_uuids_;
  std::unique_ptr<gpu::TestKubelet> pod_resources_;
  std::uint16_t exporter_port_ = 0;
  std::unique_ptr<Subprocess> exporter_, load_;
  std::vector<std::unique_ptr<MetricsStack>> stacks_;
  std::unique_ptr<http::Client> adapter_client_;
  std::unique_ptr<http::Server> proxy_;
  std::unique_ptr<http::AsyncClient> proxy_client_;
  local::ReplicaTable table_;
  std::unique_ptr<local::Router> router_;
  json::value hpa_;
  std::vector<std::string> metrics_;
  // How many tokens an answer has (the engine's EOS position): vLLM's default-like spread.
  std::string output_len_dist_ = "lognormal:4.86:0.93";
  std::mutex pods_mu_;
  std::map<std::string, RunningPod> pods_;
  std::thread kubelet_thread_, sampler_thread_;
  std::atomic<bool> stop_{false};
  std::mutex record_mu_;
  std::vector<RecordedCall> calls_;
  std::vector<HpaSample> samples_;
};

// Scenario 1, the seed's GPU HPA (gpu_utilization_percent, AverageValue 20, the seed's
// behavior), then scenario 4, broken setups, on the same cluster.
TEST_F(PipelineTest, SeedGpuHpaScalesUpUnderLoadAndBackDown) {
  Deploy("values-generic.yaml");
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(metrics_, std::vector<std::string>{"gpu_utilization_percent"});
  ScaleUpHoldAndDown(1.0, seconds(30));
  ASSERT_FALSE(HasFailure());

  // Broken setups leave replicas alone, and the HPA's conditions say why.
  auto failed_with = [](std::string_view text) {
    return [text](const json::value& h) {
      const json::value* c = Condition(h, "ScalingActive");
      return c && StringAt(*c, "status") == "False" &&
             StringAt(*c, "reason") == "FailedGetPodsMetric" &&
             StringAt(*c, "message").find(text) != std::string::npos;
    };
  };
  auto active = [](const json::value& h) {
    const json::value* c = Condition(h, "ScalingActive");
    return c && StringAt(*c, "status") == "True";
  };
  MetricsStack& stack = *stacks_.front();
  // (a) The adapter is down.
  stack.adapter->Signal(SIGKILL);
  stack.adapter->Wait(milliseconds(5000));
  EXPECT_TRUE(WaitHpa(failed_with("gpu_utilization_percent"), seconds(60)))
      << json::serialize(Hpa());
  EXPECT_EQ(SpecReplicas(), 1);
  StartAdapter(stack);
  EXPECT_TRUE(WaitHpa(active, seconds(60))) << "no recovery once the adapter was back";
  // (b) The metric is missing: the exporter stops, its series go stale.
  exporter_->Signal(SIGSTOP);
  EXPECT_TRUE(WaitHpa(failed_with("gpu_utilization_percent"), seconds(120)))
      << json::serialize(Hpa());
  EXPECT_EQ(SpecReplicas(), 1);
  exporter_->Signal(SIGCONT);
  EXPECT_TRUE(WaitHpa(active, seconds(90))) << "no recovery once the metric was back";
  // (c) Prometheus is down: the adapter answers with an error.
  stack.prometheus->process().Stop(milliseconds(2000));
  EXPECT_TRUE(WaitHpa(failed_with("gpu_utilization_percent"), seconds(60)))
      << json::serialize(Hpa());
  EXPECT_EQ(SpecReplicas(), 1);

  // With the adapter down the controller's discovery finds no metric and sends nothing; the
  // missing metric and Prometheus down reach the adapter and fail there.
  EXPECT_GE(ExpectReplayAgrees(8).failed, 1) << "the outages should show as failed syncs";
}

// Scenario 2, the seed's running-requests HPA (vllm_num_requests_running, AverageValue 4): it
// settles where the running requests per pod are at most the target.
TEST_F(PipelineTest, SeedRunningRequestsHpaSettlesAtTheReplicasTheLoadNeeds) {
  // Answers of one length make the running requests steady: rate x duration.
  // At 5 requests/s of ~2.2 s each, about 11 run at once: 3 replicas, clear of the edges
  // where 2 (8 running) or 4 (more than 13) would be right.
  output_len_dist_ = "fixed:200";
  Deploy("values-requests.yaml");
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(metrics_, std::vector<std::string>{"vllm_num_requests_running"});
  StartLoad(5.0);
  ASSERT_TRUE(WaitFor([&] { return SpecReplicas() > 1; }, seconds(150), milliseconds(500)))
      << "replicas never rose above 1 under load";
  // Settled: the same count for three syncs in a row, with the average at or under the
  // target plus the 10 % tolerance, and one replica fewer would be over it.
  std::int64_t settled = 0;
  double average = 0;
  bool stable = WaitFor(
      [&] {
        auto syncs = Syncs();
        if (syncs.size() < 3) return false;
        std::set<std::int64_t> last;
        for (std::size_t i = syncs.size() - 3; i < syncs.size(); ++i) {
          last.insert(IntAt(syncs[i].front().deployment, "spec.replicas"));
        }
        if (last.size() != 1 || *last.begin() < 2) return false;
        settled = *last.begin();
        double sum = 0;
        int pods = 0;
        for (const auto& item : Items(ParseOrNull(syncs.back().front().body))) {
          sum += std::atof(StringAt(item, "value").c_str());
          ++pods;
        }
        average = pods ? sum / static_cast<double>(pods) : 0;
        return pods == settled;
      },
      seconds(240), seconds(1));
  ASSERT_TRUE(stable) << "the replicas never settled under a steady load";
  std::fprintf(stderr, "settled at %lld replicas, %.2f running requests per pod\n",
               static_cast<long long>(settled), average);
  EXPECT_LE(average, 4 * 1.1);
  EXPECT_GT(average * static_cast<double>(settled) / static_cast<double>(settled - 1), 4.0)
      << "one replica fewer would also have met the target";
  load_->Stop(milliseconds(2000));
  ExpectReplayAgrees(4);  // the settle check needs three syncs after the scale-up
}

// Scenario 3, both metrics in one HPA: the larger proposal wins.
TEST_F(PipelineTest, CombinedHpaFollowsTheLargerProposal) {
  Deploy("values-combined.yaml");
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(metrics_.size(), 2u);
  ScaleUpHoldAndDown(1.0, seconds(15));
  Replay replay = ExpectReplayAgrees(4);
  // Under the looper the GPU metric asks for more replicas than the running requests do, and
  // the HPA takes the larger: a sync where both proposals differ and the decision follows the
  // GPU's.
  bool gpu_led = false;
  for (const auto& d : replay.decisions) {
    const json::value* metrics = At(d, "metrics");
    if (!metrics || !metrics->is_array() || metrics->as_array().size() != 2) continue;
    std::map<std::string, std::int64_t> proposals;
    for (const auto& m : metrics->as_array()) proposals[StringAt(m, "name")] = IntAt(m, "replicas");
    std::int64_t gpu = 0, running = 0;
    for (const auto& [name, replicas] : proposals) {
      (name.find("gpu_utilization_percent") != std::string::npos ? gpu : running) = replicas;
    }
    if (gpu > running && IntAt(d, "metricReplicas") == gpu) gpu_led = true;
    EXPECT_EQ(IntAt(d, "metricReplicas"), std::max(gpu, running)) << json::serialize(d);
  }
  EXPECT_TRUE(gpu_led) << "no sync where the GPU metric's larger proposal decided";
}

// Reaction time of the metric pipeline at the chart's intervals (15 s scrapes, 30 s rule
// evaluations): from load start until the custom metrics API reports the pod's GPU above the
// target of 20, for the seed's pipeline (NVIDIA-style exporter scraped without honorLabels,
// the relabel rule, the adapter reading the recorded series) and for gpuscale's (honorLabels,
// no rule), side by side on the same pod and load. The HPA adds up to one sync period.
TEST_F(PipelineTest, ReactionTimeSeedPipelineAgainstGpuscale) {
  Chart seed = Render("values-nvidia-exporter.yaml");
  Chart ours = Render("values-generic.yaml");
  MetricsStack& seed_stack = StartStack("seed", seed, ExporterScrape::kAsChart);
  MetricsStack& our_stack = StartStack("gpuscale", ours, ExporterScrape::kAsChart);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NE(seed.Find("PrometheusRule"), nullptr);
  ASSERT_EQ(ours.Find("PrometheusRule"), nullptr);
  auto example = YamlDocumentsToJson(
      ReadFile(std::string(GPUSCALE_SOURCE_DIR) + "/deploy/example/vllm.yaml"), "vllm.yaml");
  ASSERT_TRUE(example.ok());
  for (const auto& doc : *example) {
    json::value object = ParseOrNull(doc);
    if (StringAt(object, "kind") != "Deployment") continue;
    object.as_object()["metadata"].as_object()["namespace"] = std::string(kNamespace);
    Apply(object);
  }
  ASSERT_TRUE(WaitFor([&] { return ReadyPods() == 1; }, seconds(60), milliseconds(250)));

  std::string path = fmt::format(
      "/apis/custom.metrics.k8s.io/v1beta2/namespaces/{}/pods/*/gpu_utilization_percent",
      kNamespace);
  std::map<std::string, std::string> last_answer;
  auto value = [&](const MetricsStack& stack) -> std::optional<double> {
    auto r = AdapterGet(stack, path);
    last_answer[stack.name] =
        r.ok() ? fmt::format("HTTP {}: {}", r->status, r->body) : r.error().ToString();
    if (!r.ok() || r->status != 200) return std::nullopt;
    auto items = Items(ParseOrNull(r->body));
    if (items.empty()) return std::nullopt;
    return std::atof(StringAt(items[0], "value").c_str());
  };
  // Both pipelines serve the idle pod first (the seed's after its first rule evaluation).
  ASSERT_TRUE(WaitFor([&] { return value(seed_stack) && value(our_stack); }, seconds(150),
                      milliseconds(500)))
      << "the pipelines never served the pod's GPU utilization: seed: " << last_answer["seed"]
      << "; gpuscale: " << last_answer["gpuscale"];
  ASSERT_LT(*value(our_stack), 20.0) << "the GPU is busy before any load";

  auto started = SteadyClock::now();
  StartLoad(1.0);
  std::optional<double> seed_s, our_s;
  WaitFor(
      [&] {
        double now = std::chrono::duration<double>(SteadyClock::now() - started).count();
        if (!our_s && value(our_stack).value_or(0) > 20) our_s = now;
        if (!seed_s && value(seed_stack).value_or(0) > 20) seed_s = now;
        return seed_s && our_s;
      },
      seconds(150), milliseconds(250));
  ASSERT_TRUE(our_s) << "gpuscale's pipeline never reported the load";
  ASSERT_TRUE(seed_s) << "the seed's pipeline never reported the load";
  std::fprintf(stderr,
               "metric reaction, load start to value above target: seed pipeline %.1f s, "
               "gpuscale pipeline %.1f s (the HPA adds 0-15 s)\n",
               *seed_s, *our_s);
  // No ordering is asserted: each Prometheus scrapes at its own phase, so one run can favour
  // either; the rule adds up to one evaluation interval on average.
}

}  // namespace
}  // namespace gpuscale::testing
