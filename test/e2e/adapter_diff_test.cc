// `gpuscale adapter` against the real prometheus-adapter v0.12.0 (scripts/build-peers): both run
// with the same rules file and kubeconfig against the same kube-apiserver (etcd + kube-apiserver
// from test/support/controlplane.h; pods created by POST and marked Running by the test) and the
// same Prometheus, and every discovery document, metric answer and error is asked of both and
// compared after removing timestamps and sorting lists whose order is unspecified. Differences
// that docs/adapter.md lists as deliberate are asserted one by one; any other fails the test.
//
// A second test puts both in front of a fake Prometheus that goes down, hangs and answers
// garbage, and checks each answer's Status, that both stay up, and that both recover.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "test/support/adapters.h"
#include "test/support/controlplane.h"
#include "test/support/kube_json.h"
#include "test/support/process.h"
#include "test/support/prometheus.h"

namespace gpuscale::testing {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::string_view kNs = "diff";
constexpr std::string_view kOtherNs = "diff-other";

// The pods in the API: name, namespace, app label. The exposition also has series for pods
// that are not in the API (ghost-0, ghost-1).
struct PodSpec {
  std::string_view ns, name, app;
};
constexpr PodSpec kPods[] = {
    {kNs, "web-0", "web"},      {kNs, "web-1", "web"},     {kNs, "web-2", "web"},
    {kNs, "web-nodata", "web"}, {kNs, "batch-0", "batch"}, {kOtherNs, "web-0", "web"},
};

// Exporter-style and engine-style series (values chosen to exercise quantity formatting:
// milli-units, exact units, thousands, truncation), cAdvisor-style and application series for
// the Helm chart's default rules, and series of pods that are not in the API. Counters do not
// move, so rates are 0 and both adapters see the same values whenever they ask.
std::string Exposition() {
  struct Pod {
    std::string_view ns, name;
    double gpu, running;
  };
  const Pod pods[] = {{kNs, "web-0", 42.5, 3},     {kNs, "web-1", 87, 1234.5},
                      {kNs, "web-2", 0.0005, 0},   {kNs, "batch-0", 1000, 7},
                      {kOtherNs, "web-0", 12, 2},  {kNs, "ghost-0", 99, 9},
                      {kOtherNs, "ghost-1", 50, 5}};
  std::string out;
  out += "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n";
  int gpu = 0;
  for (const Pod& p : pods) {
    out += fmt::format(
        "DCGM_FI_DEV_GPU_UTIL{{gpu=\"{}\",UUID=\"GPU-{:04d}\",Hostname=\"node-a\","
        "container=\"engine\",namespace=\"{}\",pod=\"{}\"}} {}\n",
        gpu, gpu, p.ns, p.name, p.gpu);
    ++gpu;
  }
  // An unattached GPU: no pod labels (the chart's rules must not expose it).
  out += "DCGM_FI_DEV_GPU_UTIL{gpu=\"9\",UUID=\"GPU-0009\",Hostname=\"node-a\"} 5\n";
  out += "# TYPE vllm:num_requests_running gauge\n";
  for (const Pod& p : pods) {
    out += fmt::format(
        "vllm:num_requests_running{{model_name=\"gemma\",namespace=\"{}\",pod=\"{}\"}} {}\n", p.ns,
        p.name, p.running);
  }
  out += "# TYPE container_cpu_usage_seconds_total counter\n";
  out += "# TYPE container_memory_working_set_bytes gauge\n";
  out += "# TYPE container_network_receive_bytes_total counter\n";
  out += "# TYPE http_requests_total counter\n";
  out += "# TYPE queue_depth gauge\n";
  out += "# TYPE job_duration_seconds_total counter\n";
  int i = 0;
  for (const Pod& p : pods) {
    ++i;
    std::string l = fmt::format("namespace=\"{}\",pod=\"{}\"", p.ns, p.name);
    out += fmt::format("container_cpu_usage_seconds_total{{container=\"engine\",{}}} {}\n", l,
                       100 * i);
    out += fmt::format("container_cpu_usage_seconds_total{{container=\"POD\",{}}} 1\n", l);
    out += fmt::format("container_memory_working_set_bytes{{container=\"engine\",{}}} {}\n", l,
                       1048576 * i);
    out += fmt::format("container_network_receive_bytes_total{{container=\"engine\",{}}} {}\n", l,
                       5000 * i);
    out += fmt::format("http_requests_total{{service=\"web\",{}}} {}\n", l, 10 * i);
    out += fmt::format("queue_depth{{{}}} {}\n", l, i * 1.5);
    out += fmt::format("job_duration_seconds_total{{job=\"import\",{}}} {}\n", l, i);
  }
  return out;
}

// The chart's default rules for the seed's two metrics (templates/_adapter_config.tpl; its third,
// the waiting queue, has the running gauge's shape) plus external rules a values file may add:
// one namespaced through the namespace label, one across namespaces.
constexpr std::string_view kChartRules = R"(rules:
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
externalRules:
- seriesQuery: 'vllm:num_requests_running{namespace!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
  name: {matches: '^vllm:(num_requests_running)$', as: 'vllm_${1}_total'}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (namespace)'
- seriesQuery: 'DCGM_FI_DEV_GPU_UTIL'
  resources:
    namespaced: false
  name: {matches: '^DCGM_FI_DEV_GPU_UTIL$', as: gpu_utilization_by_pod}
  metricsQuery: 'max(<<.Series>>{<<.LabelMatchers>>}) by (namespace, pod)'
)";

// One request asked of both adapters, with how to compare the answers.
struct Probe {
  std::string name;
  std::string target;
  // Sort `items` before comparing (external lists come in Prometheus's order, which neither
  // adapter defines).
  bool sort_items = false;
  // Who asks; null: admin through the front proxy.
  AggregatorClient* caller = nullptr;
};

struct Difference {
  Probe probe;
  core::Result<http::Response> ours = core::Internal("not asked");
  core::Result<http::Response> theirs = core::Internal("not asked");
};

// A deliberate difference (docs/adapter.md, "Differences from prometheus-adapter"): the probes
// it applies to and a check of both answers that says what is expected of each.
struct KnownDifference {
  std::string what;
  std::function<bool(std::string_view probe)> applies;
  std::function<bool(const http::Response& ours, const http::Response& theirs, std::string* why)>
      check;
};

// A JSON value with object keys sorted, `timestamp` fields dropped and, where the order is
// unspecified (discovery resources, groups, sorted-on-request items), arrays sorted.
json::value Canonical(const json::value& v, bool sort_items, std::string_view key = {}) {
  if (const json::object* o = v.if_object()) {
    std::vector<std::string> keys;
    for (const auto& kv : *o) keys.emplace_back(kv.key());
    std::sort(keys.begin(), keys.end());
    json::object out;
    for (const auto& k : keys) {
      if (k == "timestamp") continue;
      out[k] = Canonical(o->at(k), sort_items, k);
    }
    return out;
  }
  if (const json::array* a = v.if_array()) {
    std::vector<std::string> serialized;
    json::array out;
    for (const auto& e : *a) out.push_back(Canonical(e, sort_items));
    if (key == "resources" || key == "groups" || (key == "items" && sort_items)) {
      std::vector<json::value> sorted(out.begin(), out.end());
      std::sort(sorted.begin(), sorted.end(), [](const json::value& x, const json::value& y) {
        return json::serialize(x) < json::serialize(y);
      });
      out = json::array(sorted.begin(), sorted.end());
    }
    return out;
  }
  return v;
}

// "HTTP <status> <canonical body>" (the raw body when it is not JSON).
std::string Answer(const core::Result<http::Response>& r, bool sort_items) {
  if (!r.ok()) return "transport error: " + r.error().ToString();
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  return fmt::format("HTTP {} {}", r->status,
                     ec ? r->body : json::serialize(Canonical(v, sort_items)));
}

json::value Json(const core::Result<http::Response>& r) {
  if (!r.ok()) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  return ec ? json::value(nullptr) : v;
}

std::string Pct(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
        c == '~' || c == '*') {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

json::value Json(const http::Response& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  return ec ? json::value(nullptr) : v;
}

// prometheus-adapter's group documents as gpuscale writes them: custom.metrics.k8s.io/v1beta2
// listed after v1beta1 (prometheus-adapter serves v1beta2 but lists only v1beta1), no
// serverAddressByClientCIDRs, apiVersion on the group list, and the external group listed even
// without externalRules.
json::value AsGpuscaleDiscovery(json::value doc) {
  auto fix_group = [](json::object& g) {
    g.erase("serverAddressByClientCIDRs");
    if (g["name"] == "custom.metrics.k8s.io") {
      g["versions"].as_array().push_back(
          json::object{{"groupVersion", "custom.metrics.k8s.io/v1beta2"}, {"version", "v1beta2"}});
    }
  };
  json::object& o = doc.as_object();
  if (o["kind"] == "APIGroupList") {
    o["apiVersion"] = "v1";
    json::array& groups = o["groups"].as_array();
    bool external = false;
    for (auto& g : groups) {
      fix_group(g.as_object());
      external |= g.as_object()["name"] == "external.metrics.k8s.io";
    }
    if (!external) {
      json::object v{{"groupVersion", "external.metrics.k8s.io/v1beta1"}, {"version", "v1beta1"}};
      groups.push_back(json::object{{"name", "external.metrics.k8s.io"},
                                    {"versions", json::array{v}},
                                    {"preferredVersion", v}});
    }
  } else {
    fix_group(o);
  }
  return doc;
}

// The differences docs/adapter.md lists for the custom and external metrics APIs.
std::vector<KnownDifference> CustomApiDifferences() {
  return {
      {"group documents: gpuscale lists custom.metrics.k8s.io v1beta2 (prometheus-adapter serves "
       "it but lists only v1beta1), and writes no serverAddressByClientCIDRs",
       [](std::string_view p) { return p == "apis" || p == "custom group"; },
       [](const http::Response& ours, const http::Response& theirs, std::string* why) {
         json::value o = Json(ours), t = Json(theirs);
         if (!o.is_object() || !t.is_object()) return *why = "not JSON objects", false;
         *why = "expected gpuscale: " + json::serialize(AsGpuscaleDiscovery(t));
         return ours.status == 200 && theirs.status == 200 &&
                json::serialize(Canonical(o, false)) ==
                    json::serialize(Canonical(AsGpuscaleDiscovery(t), false));
       }},
      {"label selector syntax errors: same code and reason; gpuscale's message names the "
       "position instead of the token",
       [](std::string_view p) {
         return EndsWith(p, "bad labelSelector") || EndsWith(p, "bad metricLabelSelector");
       },
       [](const http::Response& ours, const http::Response& theirs, std::string* why) {
         json::value o = Json(ours), t = Json(theirs);
         const std::string prefix = "unable to parse requirement: ";
         *why = "codes, reasons or message prefixes differ";
         return ours.status == theirs.status && StringAt(o, "reason") == StringAt(t, "reason") &&
                IntAt(o, "code") == IntAt(t, "code") &&
                StringAt(o, "message").rfind(prefix, 0) == 0 &&
                StringAt(t, "message").rfind(prefix, 0) == 0 &&
                StringAt(o, "message").find("at position") != std::string::npos;
       }},
      {"a resource kube-apiserver does not serve: gpuscale answers 404 (no metric can exist for "
       "it), prometheus-adapter 500 'unable to list matching resources'",
       [](std::string_view p) { return EndsWith(p, "unknown resource"); },
       [](const http::Response& ours, const http::Response& theirs, std::string* why) {
         json::value o = Json(ours), t = Json(theirs);
         *why = "not 404 NotFound against 500 InternalError";
         return ours.status == 404 && StringAt(o, "reason") == "NotFound" &&
                StringAt(o, "message") ==
                    "the server could not find the metric gpu_utilization_percent for widgets" &&
                theirs.status == 500 && StringAt(t, "reason") == "InternalError" &&
                StringAt(t, "message") ==
                    "Internal error occurred: unable to list matching resources";
       }},
  };
}

class AdapterDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = ControlPlane::Start({.start_controller_manager = false});
    ASSERT_TRUE(started.ok()) << started.error().ToString();
    cp_ = std::move(*started);
    dir_ = cp_->work_dir();
    client_ = std::make_unique<AggregatorClient>(cp_->certs());
    for (std::string_view ns : {kNs, kOtherNs}) CreateNamespace(ns);
    int ip = 10;
    for (const PodSpec& p : kPods) {
      auto created = cp_->Create(
          fmt::format("/api/v1/namespaces/{}/pods", p.ns),
          fmt::format(R"({{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{}",)"
                      R"("labels":{{"app":"{}"}}}},"spec":{{"automountServiceAccountToken":false,)"
                      R"("containers":[{{"name":"engine","image":"gpuscale/engine"}}]}}}})",
                      p.name, p.app));
      ASSERT_TRUE(created.ok()) << created.ToString();
      auto marked = cp_->MarkPodRunning(p.ns, p.name, fmt::format("127.0.0.{}", ip++));
      ASSERT_TRUE(marked.ok()) << marked.ToString();
    }
  }

  void TearDown() override {
    for (auto& a : adapters_) {
      if (HasFailure()) {
        std::string log = a->process().ReadLog();
        if (log.size() > 4000) log = "..." + log.substr(log.size() - 4000);
        std::fprintf(stderr, "---- %s log (%s), tail:\n%s\n", std::string(a->name()).c_str(),
                     a->process().log_path().c_str(), log.c_str());
      }
    }
    adapters_.clear();
    prometheus_.reset();
    if (exposition_) exposition_->Stop(milliseconds(200));
    if (!cp_) return;
    cp_->Stop();
    if (HasFailure()) {
      std::fprintf(stderr, "bundle kept in %s\n", dir_.c_str());
    } else {
      cp_->RemoveWorkDir();
    }
  }

  // CreateNamespace waits for the ServiceAccount controller, which does not run here: create
  // the namespace and its `default` ServiceAccount (the admission plugin wants it) directly.
  void CreateNamespace(std::string_view ns) {
    auto created = cp_->Create(
        "/api/v1/namespaces",
        fmt::format(R"({{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{}"}}}})", ns));
    ASSERT_TRUE(created.ok()) << created.ToString();
    created =
        cp_->Create(fmt::format("/api/v1/namespaces/{}/serviceaccounts", ns),
                    R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}})");
    ASSERT_TRUE(created.ok()) << created.ToString();
  }

  // The exposition server and a Prometheus scraping it every 500 ms.
  void StartPrometheus() {
    http::ServerOptions options;
    options.address = "127.0.0.1";
    const std::string body = Exposition();
    auto server =
        http::Server::Start(options, http::Sync([body](const http::Request&) {
                              return http::Response::Text(200, body, "text/plain; version=0.0.4");
                            }));
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    exposition_ = std::move(*server);
    auto prometheus = PrometheusServer::Start(
        {.scrape_configs = fmt::format("  - job_name: exposition\n"
                                       "    honor_labels: true\n"
                                       "    static_configs: [{{targets: ['127.0.0.1:{}']}}]\n",
                                       exposition_->port()),
         .scrape_interval = milliseconds(500),
         .ready_timeout = seconds(60)});
    ASSERT_TRUE(prometheus.ok()) << prometheus.error().ToString();
    prometheus_ = std::move(*prometheus);
  }

  // Starts both adapters with `rules` and the same flags (plus gpuscale's own flags).
  void StartBoth(std::string_view rules, const std::string& prometheus_url,
                 const std::vector<std::string>& gpuscale_args = {}) {
    const std::string config = dir_ + "/rules.yaml";
    std::ofstream(config) << rules;
    for (AdapterKind kind : {AdapterKind::kGpuscale, AdapterKind::kPrometheusAdapter}) {
      auto adapter = AdapterProcess::Start(
          kind,
          {.config_file = config,
           .prometheus_url = prometheus_url,
           .kubeconfig = cp_->admin_kubeconfig(),
           .work_dir = dir_,
           .relist_interval = "2s",
           .extra_args =
               kind == AdapterKind::kGpuscale ? gpuscale_args : std::vector<std::string>{}},
          *client_);
      ASSERT_TRUE(adapter.ok()) << adapter.error().ToString();
      adapters_.push_back(std::move(*adapter));
    }
  }

  AdapterProcess& gpuscale() { return *adapters_[0]; }
  AdapterProcess& upstream() { return *adapters_[1]; }

  // Waits until both list every one of `resources` in `group_version`'s discovery document.
  void WaitForDiscovery(const std::string& group_version, const std::vector<std::string>& names) {
    for (auto& a : adapters_) {
      std::string last;
      bool found = WaitFor(
          [&] {
            auto r = client_->Get(a->port(), "/apis/" + group_version);
            last = r.ok() ? r->body : r.error().ToString();
            json::value doc = Json(r);
            const json::value* list = At(doc, "resources");
            if (!list || !list->is_array()) return false;
            for (const auto& want : names) {
              bool seen = false;
              for (const auto& res : list->as_array()) seen |= StringAt(res, "name") == want;
              if (!seen) return false;
            }
            return true;
          },
          seconds(60), milliseconds(250));
      ASSERT_TRUE(found) << a->name() << " never listed every expected metric in " << group_version
                         << "; last answer: " << last;
    }
  }

  // Asks every probe of both; writes both answers of each to the work directory (diff.log) and
  // returns the probes whose answers differ, with both raw answers.
  std::vector<Difference> Compare(const std::vector<Probe>& probes) {
    std::vector<Difference> differences;
    std::ofstream log(dir_ + "/diff.log", std::ios::app);
    for (const Probe& p : probes) {
      Difference d{p};
      for (int attempt = 0; attempt < 2; ++attempt) {
        // A second look before calling it a difference: a value may move if Prometheus
        // scraped between the two calls (rates of still counters are 0 either way).
        AggregatorClient& caller = p.caller ? *p.caller : *client_;
        d.ours = caller.Get(gpuscale().port(), p.target);
        d.theirs = caller.Get(upstream().port(), p.target);
        if (Answer(d.ours, p.sort_items) == Answer(d.theirs, p.sort_items)) break;
      }
      const std::string ours = Answer(d.ours, p.sort_items);
      const std::string theirs = Answer(d.theirs, p.sort_items);
      log << "== " << p.name << ": " << p.target << "\n  gpuscale:           " << ours
          << "\n  prometheus-adapter: " << theirs << "\n";
      if (ours != theirs) differences.push_back(std::move(d));
    }
    return differences;
  }

  // Fails on every difference that is not one of `known`, on a known difference whose
  // answers are not the documented ones, and on a known difference that did not show up.
  void ExpectOnly(const std::vector<Difference>& differences,
                  const std::vector<KnownDifference>& known) {
    std::vector<int> seen(known.size(), 0);
    for (const Difference& d : differences) {
      const std::string both = "\n  gpuscale:           " + Answer(d.ours, d.probe.sort_items) +
                               "\n  prometheus-adapter: " + Answer(d.theirs, d.probe.sort_items);
      bool explained = false;
      for (std::size_t i = 0; i < known.size(); ++i) {
        if (!known[i].applies(d.probe.name)) continue;
        explained = true;
        ++seen[i];
        std::string why;
        EXPECT_TRUE(d.ours.ok() && d.theirs.ok() && known[i].check(*d.ours, *d.theirs, &why))
            << d.probe.name << " (" << d.probe.target << "): not the documented difference ("
            << known[i].what << "): " << why << both;
      }
      if (!explained) {
        ADD_FAILURE() << "undocumented difference: " << d.probe.name << " (" << d.probe.target
                      << ")" << both;
      }
    }
    for (std::size_t i = 0; i < known.size(); ++i) {
      EXPECT_GT(seen[i], 0) << "documented difference not seen: " << known[i].what;
    }
  }

  std::unique_ptr<ControlPlane> cp_;
  std::string dir_;
  std::unique_ptr<AggregatorClient> client_;
  std::unique_ptr<http::Server> exposition_;
  std::unique_ptr<PrometheusServer> prometheus_;
  std::vector<std::unique_ptr<AdapterProcess>> adapters_;
};

std::string CustomPath(std::string_view version, std::string_view rest) {
  return fmt::format("/apis/custom.metrics.k8s.io/{}/{}", version, rest);
}

// Probes of the custom metrics API for the chart's rules, in both versions.
std::vector<Probe> ChartProbes() {
  std::vector<Probe> probes = {
      {"apis", "/apis"},
      {"custom group", "/apis/custom.metrics.k8s.io"},
      {"custom v1beta1", "/apis/custom.metrics.k8s.io/v1beta1"},
      {"custom v1beta2", "/apis/custom.metrics.k8s.io/v1beta2"},
      {"external group", "/apis/external.metrics.k8s.io"},
      {"external v1beta1", "/apis/external.metrics.k8s.io/v1beta1"},
  };
  for (std::string_view v : {"v1beta1", "v1beta2"}) {
    auto add = [&](std::string name, std::string_view rest) {
      probes.push_back({std::string(v) + " " + name, CustomPath(v, rest)});
    };
    add("pods * app=web gpu",
        "namespaces/diff/pods/*/gpu_utilization_percent?labelSelector=" + Pct("app=web"));
    add("pods * app=web running",
        "namespaces/diff/pods/*/vllm_num_requests_running?labelSelector=" + Pct("app=web"));
    add("pods * all gpu", "namespaces/diff/pods/*/gpu_utilization_percent");
    add("pods * set selector", "namespaces/diff/pods/*/gpu_utilization_percent?labelSelector=" +
                                   Pct("app in (web,batch),app!=nothing"));
    add("pods * other ns", "namespaces/diff-other/pods/*/gpu_utilization_percent");
    add("pods * selector matches none",
        "namespaces/diff/pods/*/gpu_utilization_percent?labelSelector=" + Pct("app=none"));
    add("pods * metricLabelSelector",
        "namespaces/diff/pods/*/gpu_utilization_percent?metricLabelSelector=" +
            Pct("container=engine"));
    add("pods * metricLabelSelector no match",
        "namespaces/diff/pods/*/gpu_utilization_percent?metricLabelSelector=" +
            Pct("container=sidecar"));
    add("pods * metricLabelSelector exists",
        "namespaces/diff/pods/*/vllm_num_requests_running?metricLabelSelector=" +
            Pct("model_name,!lora"));
    add("pod by name", "namespaces/diff/pods/web-1/gpu_utilization_percent");
    add("pod by name, value 0.0005", "namespaces/diff/pods/web-2/gpu_utilization_percent");
    add("pod by name, no data", "namespaces/diff/pods/web-nodata/gpu_utilization_percent");
    add("pod by name, not in the API", "namespaces/diff/pods/ghost-0/gpu_utilization_percent");
    add("pod by name, unknown", "namespaces/diff/pods/nobody/gpu_utilization_percent");
    add("unknown metric", "namespaces/diff/pods/*/no_such_metric");
    add("unknown metric by name", "namespaces/diff/pods/web-0/no_such_metric");
    add("namespace metric", "namespaces/diff/metrics/gpu_utilization_percent");
    add("namespace metric other", "namespaces/diff-other/metrics/vllm_num_requests_running");
    add("namespace metric unknown", "namespaces/diff/metrics/no_such_metric");
    add("root-scoped pods *", "pods/*/gpu_utilization_percent");
    add("root-scoped pod by name", "pods/web-0/gpu_utilization_percent");
    add("root-scoped namespaces *", "namespaces/*/metrics/gpu_utilization_percent");
    add("unknown resource", "namespaces/diff/widgets/*/gpu_utilization_percent");
    add("resource with group", "namespaces/diff/pods./*/gpu_utilization_percent");
    add("bad labelSelector",
        "namespaces/diff/pods/*/gpu_utilization_percent?labelSelector=" + Pct("app=(web"));
    add("bad metricLabelSelector",
        "namespaces/diff/pods/*/gpu_utilization_percent?metricLabelSelector=" + Pct("a=(b"));
    add("unsupported metricLabelSelector op",
        "namespaces/diff/pods/*/gpu_utilization_percent?metricLabelSelector=" + Pct("gpu>1"));
    add("too few path parts", "namespaces/diff/pods");
  }
  // External metrics.
  auto ext = [&](std::string name, std::string rest) {
    probes.push_back(
        {"external " + name, "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + rest, true});
  };
  ext("namespaced", "diff/vllm_num_requests_running_total");
  ext("namespaced, other ns", "diff-other/vllm_num_requests_running_total");
  ext("namespaced, selector",
      "diff/vllm_num_requests_running_total?labelSelector=" + Pct("model_name=gemma"));
  ext("namespaced, selector no match",
      "diff/vllm_num_requests_running_total?labelSelector=" + Pct("model_name=llama"));
  ext("cross-namespace", "default/gpu_utilization_by_pod");
  ext("cross-namespace, selector",
      "diff/gpu_utilization_by_pod?labelSelector=" + Pct("pod in (web-0,ghost-1)"));
  ext("unknown, default ns", "default/no_such_metric");
  ext("unknown, other ns", "diff/no_such_metric");
  return probes;
}

TEST_F(AdapterDiffTest, ChartRulesAnswerAlike) {
  StartPrometheus();
  StartBoth(kChartRules, prometheus_->url());
  WaitForDiscovery("custom.metrics.k8s.io/v1beta2",
                   {"pods/gpu_utilization_percent", "pods/vllm_num_requests_running",
                    "namespaces/gpu_utilization_percent"});
  WaitForDiscovery("external.metrics.k8s.io/v1beta1",
                   {"vllm_num_requests_running_total", "gpu_utilization_by_pod"});
  // Callers the aggregator vouches for but RBAC does not allow, and anonymous callers.
  AggregatorClient nobody(cp_->certs(), "nobody", {"team-a", "team-b"});
  AggregatorClient anonymous(cp_->certs(), "");
  std::vector<Probe> probes = ChartProbes();
  for (auto* caller : {&nobody, &anonymous}) {
    const std::string who = caller == &nobody ? "user nobody: " : "anonymous: ";
    probes.push_back({who + "pods *",
                      CustomPath("v1beta2", "namespaces/diff/pods/*/gpu_utilization_percent"),
                      false, caller});
    probes.push_back({who + "root-scoped",
                      CustomPath("v1beta1", "namespaces/diff/metrics/gpu_utilization_percent"),
                      false, caller});
    probes.push_back({who + "discovery", "/apis/custom.metrics.k8s.io/v1beta1", false, caller});
    probes.push_back({who + "external",
                      "/apis/external.metrics.k8s.io/v1beta1/namespaces/diff/"
                      "vllm_num_requests_running_total",
                      true, caller});
    probes.push_back({who + "healthz", "/healthz", false, caller});
  }
  ExpectOnly(Compare(probes), CustomApiDifferences());

  // Equal is not enough: the answers must also be right. The HPA's lookup lists the pods with
  // data in API order, values as Kubernetes quantities; web-nodata has no series.
  auto r =
      client_->Get(gpuscale().port(), CustomPath("v1beta2",
                                                 "namespaces/diff/pods/*/gpu_utilization_percent"
                                                 "?labelSelector=app%3Dweb"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  std::vector<std::string> got;
  for (const auto& item : Items(Json(*r))) {
    got.push_back(StringAt(item, "describedObject.name") + "=" + StringAt(item, "value"));
  }
  EXPECT_EQ(got, (std::vector<std::string>{"web-0=42500m", "web-1=87", "web-2=0"}));
  // A pod that is not in the API is still answered by name (no LIST for a named lookup).
  r = client_->Get(gpuscale().port(),
                   CustomPath("v1beta1", "namespaces/diff/pods/ghost-0/gpu_utilization_percent"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200) << r->body;
  // Cross-namespace external metric: every GPU, in both namespaces, and the unattached one.
  r = client_->Get(
      gpuscale().port(),
      "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/gpu_utilization_by_pod");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Items(Json(*r)).size(), 8u) << r->body;
}

// The prometheus-adapter Helm chart's default rules (src/adapter/testdata): cAdvisor-style
// series become cpu_usage, memory_working_set_bytes and network_receive_bytes on pods and
// namespaces; the template rules map every label that names a resource (pod, namespace,
// service, and job -> jobs.batch), so the application series appear on those too.
TEST_F(AdapterDiffTest, HelmChartDefaultRulesAnswerAlike) {
  StartPrometheus();
  StartBoth(
      ReadFile(std::string(GPUSCALE_SOURCE_DIR) + "/src/adapter/testdata/helm-default-rules.yaml"),
      prometheus_->url());
  const std::vector<std::string> metrics = {"cpu_usage",
                                            "memory_working_set_bytes",
                                            "network_receive_bytes",
                                            "queue_depth",
                                            "http_requests",
                                            "job_duration",
                                            "DCGM_FI_DEV_GPU_UTIL"};
  std::vector<std::string> resources;
  for (const auto& m : metrics) resources.push_back("pods/" + m);
  resources.push_back("jobs.batch/job_duration");
  resources.push_back("services/http_requests");
  WaitForDiscovery("custom.metrics.k8s.io/v1beta1", resources);
  // Rates need two samples in their window: wait until both answer one.
  for (auto& a : adapters_) {
    ASSERT_TRUE(WaitFor(
        [&] {
          auto r = client_->Get(a->port(),
                                CustomPath("v1beta1", "namespaces/diff/pods/web-0/cpu_usage"));
          return r.ok() && r->status == 200;
        },
        seconds(30), milliseconds(250)))
        << a->name() << " never answered a rate";
  }
  std::vector<Probe> probes = {
      {"apis", "/apis"},
      {"custom v1beta1", "/apis/custom.metrics.k8s.io/v1beta1"},
      {"custom v1beta2", "/apis/custom.metrics.k8s.io/v1beta2"},
  };
  for (std::string_view v : {"v1beta1", "v1beta2"}) {
    auto add = [&](std::string name, std::string_view rest) {
      probes.push_back({std::string(v) + " " + name, CustomPath(v, rest)});
    };
    for (const auto& m : metrics) {
      add("pods * " + m, "namespaces/diff/pods/*/" + m + "?labelSelector=" + Pct("app=web"));
      add("pod by name " + m, "namespaces/diff/pods/web-1/" + m);
      add("namespace " + m, "namespaces/diff-other/metrics/" + m);
    }
    add("pods * colon name", "namespaces/diff/pods/*/vllm:num_requests_running");
    add("pod by name, colon name", "namespaces/diff/pods/web-0/vllm:num_requests_running");
    add("job by name", "namespaces/diff/jobs.batch/import/job_duration");
    add("job by name, no data", "namespaces/diff/jobs.batch/other/job_duration");
    add("jobs * (none in the API)", "namespaces/diff/jobs.batch/*/job_duration");
    add("service by name", "namespaces/diff/services/web/http_requests");
    add("service, metric not on services", "namespaces/diff/services/web/cpu_usage");
    add("cpu_usage metricLabelSelector",
        "namespaces/diff/pods/*/cpu_usage?metricLabelSelector=" + Pct("container=engine"));
    add("unknown metric", "namespaces/diff/pods/*/container_cpu_usage_seconds_total");
  }
  probes.push_back({"external group", "/apis/external.metrics.k8s.io"});
  probes.push_back({"external v1beta1", "/apis/external.metrics.k8s.io/v1beta1"});
  probes.push_back(
      {"external lookup", "/apis/external.metrics.k8s.io/v1beta1/namespaces/diff/queue_depth"});
  ExpectOnly(
      Compare(probes),
      {CustomApiDifferences()[0],
       {"no externalRules: gpuscale still serves external.metrics.k8s.io (an empty "
        "resource list; lookups 404 as unknown metrics), prometheus-adapter does not "
        "install the group (404 for every path)",
        [](std::string_view p) { return p.rfind("external", 0) == 0; },
        [](const http::Response& ours, const http::Response& theirs, std::string* why) {
          json::value o = Json(ours);
          *why = "unexpected answers";
          if (theirs.status != 404) return false;
          if (StringAt(o, "kind") == "APIGroup" || StringAt(o, "kind") == "APIResourceList") {
            const json::value* r = At(o, "resources");
            return ours.status == 200 &&
                   (StringAt(o, "kind") == "APIGroup" || (r && r->as_array().empty()));
          }
          return ours.status == 404 && StringAt(o, "reason") == "NotFound" &&
                 StringAt(o, "message") == "the server could not find the metric queue_depth for ";
        }}});
}

// Prometheus down, hanging past the query timeout, answering garbage and answering an error:
// each answer's Status from both adapters, both stay up, both recover when Prometheus does.
// gpuscale's error codes differ on purpose (docs/adapter.md, "Errors from Prometheus").
TEST_F(AdapterDiffTest, PrometheusFaultsAnswerStatusesAndRecover) {
  auto fake = FakePrometheus::Start();
  ASSERT_TRUE(fake.ok()) << fake.error().ToString();
  FakePrometheus& prometheus = **fake;
  prometheus.SetSeries(
      R"({"__name__":"DCGM_FI_DEV_GPU_UTIL","namespace":"diff","pod":"web-0","gpu":"0"},)"
      R"({"__name__":"DCGM_FI_DEV_GPU_UTIL","namespace":"diff","pod":"web-1","gpu":"1"})");
  prometheus.SetVector(R"({"metric":{"pod":"web-0"},"value":[1700000000,"42"]},)"
                       R"({"metric":{"pod":"web-1"},"value":[1700000000,"87"]})");
  const std::string rules(kChartRules.substr(0, kChartRules.find("externalRules:")));
  StartBoth(rules, prometheus.url(), {"--query-timeout=1s"});
  WaitForDiscovery("custom.metrics.k8s.io/v1beta2", {"pods/gpu_utilization_percent"});
  // The HPA's lookup; timeout=3s bounds prometheus-adapter's wait (it sends Prometheus no
  // timeout of its own; gpuscale's --query-timeout is 30 s by default, 1 s here).
  const std::string target =
      CustomPath("v1beta2",
                 "namespaces/diff/pods/*/gpu_utilization_percent?labelSelector=app%3Dweb"
                 "&timeout=3s");

  struct Seen {
    int status = 0;
    std::string reason, message;
    milliseconds took{0};
  };
  auto ask = [&](AdapterProcess& a) {
    auto start = std::chrono::steady_clock::now();
    auto r = client_->Get(a.port(), target, seconds(20));
    Seen seen;
    seen.took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    if (!r.ok()) {
      seen.message = r.error().ToString();
      return seen;
    }
    json::value v = Json(*r);
    seen.status = r->status;
    seen.reason = StringAt(v, "reason");
    seen.message = StringAt(v, "message");
    if (r->status == 200) seen.message = std::to_string(Items(v).size()) + " items";
    return seen;
  };
  auto expect_healthy = [&](std::string_view when) {
    for (auto& a : adapters_) {
      EXPECT_TRUE(a->process().Running()) << a->name() << " exited " << when;
      Seen seen = ask(*a);
      EXPECT_EQ(seen.status, 200) << a->name() << " " << when << ": " << seen.message;
      EXPECT_EQ(seen.message, "2 items") << a->name() << " " << when;
    }
  };
  expect_healthy("before any fault");

  // Garbage instead of JSON: 500 InternalError from both.
  prometheus.SetMode(FakePrometheus::Mode::kGarbage);
  for (auto& a : adapters_) {
    Seen seen = ask(*a);
    EXPECT_EQ(seen.status, 500) << a->name() << ": " << seen.message;
    EXPECT_EQ(seen.reason, "InternalError") << a->name();
    EXPECT_EQ(seen.message.rfind("Internal error occurred: unable to fetch metrics", 0), 0u)
        << a->name() << ": " << seen.message;
  }
  // An error answer (422, errorType execution): 500 InternalError from both.
  prometheus.SetMode(FakePrometheus::Mode::kError);
  for (auto& a : adapters_) {
    Seen seen = ask(*a);
    EXPECT_EQ(seen.status, 500) << a->name() << ": " << seen.message;
    EXPECT_EQ(seen.reason, "InternalError") << a->name();
  }
  Seen ours = ask(gpuscale());
  EXPECT_NE(ours.message.find("too many samples"), std::string::npos)
      << "gpuscale's message carries Prometheus's: " << ours.message;
  prometheus.SetMode(FakePrometheus::Mode::kOk);
  expect_healthy("after errors");

  // Hanging past the query timeout (answers after 6 s): gpuscale gives up at its 1 s
  // --query-timeout with 504 Timeout; prometheus-adapter waits for the request's 3 s.
  prometheus.SetMode(FakePrometheus::Mode::kSlow, seconds(6));
  ours = ask(gpuscale());
  Seen theirs = ask(upstream());
  EXPECT_EQ(ours.status, 504) << ours.message;
  EXPECT_EQ(ours.reason, "Timeout");
  EXPECT_LT(ours.took, milliseconds(2900)) << "gpuscale waited past its query timeout";
  EXPECT_TRUE(theirs.status == 504 || theirs.status == 500)
      << theirs.status << " " << theirs.message;
  EXPECT_GE(theirs.took, milliseconds(2900)) << "prometheus-adapter gave up early";
  std::ofstream(dir_ + "/diff.log", std::ios::app)
      << "slow: gpuscale " << ours.status << " " << ours.reason << " in " << ours.took.count()
      << " ms; prometheus-adapter " << theirs.status << " " << theirs.reason << " in "
      << theirs.took.count() << " ms: " << theirs.message << "\n";
  prometheus.SetMode(FakePrometheus::Mode::kOk);
  expect_healthy("after a hang");

  // Down (connection refused): gpuscale 503 ServiceUnavailable, prometheus-adapter 500.
  prometheus.Stop();
  ours = ask(gpuscale());
  theirs = ask(upstream());
  EXPECT_EQ(ours.status, 503) << ours.message;
  EXPECT_EQ(ours.reason, "ServiceUnavailable");
  EXPECT_EQ(ours.message.rfind("unable to fetch metrics", 0), 0u) << ours.message;
  EXPECT_EQ(theirs.status, 500) << theirs.message;
  EXPECT_EQ(theirs.reason, "InternalError");
  EXPECT_EQ(theirs.message, "Internal error occurred: unable to fetch metrics");
  // Down across a relist (2 s): both keep the metrics they had.
  auto down_since = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return std::chrono::steady_clock::now() - down_since > seconds(3); },
                      seconds(5), milliseconds(100)));
  for (auto& a : adapters_) {
    auto r = client_->Get(a->port(), "/apis/custom.metrics.k8s.io/v1beta2");
    ASSERT_TRUE(r.ok());
    EXPECT_NE(r->body.find("pods/gpu_utilization_percent"), std::string::npos)
        << a->name() << " forgot its metrics while Prometheus was down: " << r->body;
  }
  auto restarted = prometheus.Restart();
  ASSERT_TRUE(restarted.ok()) << restarted.ToString();
  expect_healthy("after Prometheus came back");
}

}  // namespace
}  // namespace gpuscale::testing
