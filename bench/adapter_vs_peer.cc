// gpuscale adapter beside prometheus-adapter v0.12.0 in one run, against the same kube-apiserver
// (etcd + kube-apiserver from test/support/controlplane.h, 1,000 pods created by POST) and the
// same fake Prometheus API (test/support/adapters.h: /api/v1/series and /api/v1/query answers of
// the size under test; a real Prometheus takes minutes to fill with 100k series):
//
//  - the HPA's Pods query (v1beta2 `pods/*` with a labelSelector) for 10, 100 and 1,000 pods:
//    requests per second, p50 and p99 latency under `--concurrency` callers, CPU per request;
//  - discovery of 10k and 100k series under the prometheus-adapter chart's default rules: time
//    from start to the full metric list, RSS then (VmRSS) and at peak (VmHWM).
//
// prometheus-adapter runs twice: with its defaults (its pod LIST per `*` request goes through a
// client limited to 5 QPS, burst 10) and with --client-qps=1000 --client-burst=2000. Prints
// Markdown tables; bench/README.md has the figures.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test/support/adapters.h"
#include "test/support/controlplane.h"
#include "test/support/process.h"

namespace gpuscale::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kNs = "bench";
constexpr int kPods = 1000;

constexpr std::string_view kChartRules = R"(rules:
- seriesQuery: 'DCGM_FI_DEV_GPU_UTIL{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: namespace}
      pod: {resource: pod}
  name: {matches: '^DCGM_FI_DEV_GPU_UTIL$', as: gpu_utilization_percent}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)'
)";

struct Config {
  AdapterKind kind;
  std::string label;
  std::vector<std::string> args;
};

std::string PodName(int i) { return fmt::format("vllm-gemma-deployment-7d9c5b8f6-{:05d}", i); }

// Resident set of `pid` in MiB: anonymous and file-backed (Rss - Anonymous: the binary, its
// libraries and other mapped files), from smaps_rollup.
std::pair<double, double> RssSplit(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/smaps_rollup", pid));
  std::string line;
  double rss = 0, anon = 0;
  while (std::getline(in, line)) {
    if (line.rfind("Rss:", 0) == 0) rss = std::stod(line.substr(4)) / 1024;
    if (line.rfind("Anonymous:", 0) == 0) anon = std::stod(line.substr(10)) / 1024;
  }
  return {anon, rss - anon};
}

// Resident set of `pid` in MiB: current (VmRSS) and peak (VmHWM).
std::pair<double, double> Rss(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/status", pid));
  std::string line;
  double rss = 0, hwm = 0;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) rss = std::stod(line.substr(6)) / 1024;
    if (line.rfind("VmHWM:", 0) == 0) hwm = std::stod(line.substr(6)) / 1024;
  }
  return {rss, hwm};
}

// utime + stime of `pid` in seconds.
double CpuSeconds(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  long utime = 0, stime = 0;
  for (int i = 3; fields >> f; ++i) {
    if (i == 14) utime = std::stol(f);
    if (i == 15) {
      stime = std::stol(f);
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct QueryFigures {
  double rps = 0, p50_ms = 0, p99_ms = 0, cpu_ms_per_request = 0;
  int errors = 0;
  std::string note;
};

// `concurrency` callers repeat `target` for `duration` against `a`.
QueryFigures Load(AdapterProcess& a, const ControlPlaneCerts& certs, const std::string& target,
                  int expected_items, int concurrency, milliseconds duration) {
  QueryFigures f;
  {
    AggregatorClient probe(certs);
    auto r = probe.Get(a.port(), target);
    int items = 0;
    if (r.ok()) {
      for (std::size_t at = r->body.find("describedObject"); at != std::string::npos;
           at = r->body.find("describedObject", at + 1)) {
        ++items;
      }
    }
    if (!r.ok() || r->status != 200 || items != expected_items) {
      f.note = fmt::format("wrong answer: {} items, {}", items,
                           r.ok() ? r->body.substr(0, 300) : r.error().ToString());
    }
    for (int i = 0; i < 5; ++i) (void)probe.Get(a.port(), target);  // warm-up
  }
  std::vector<std::vector<double>> latencies(static_cast<std::size_t>(concurrency));
  std::atomic<int> errors{0};
  const double cpu_before = CpuSeconds(a.process().pid());
  const auto start = Clock::now();
  const auto end = start + duration;
  std::vector<std::thread> threads;
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      AggregatorClient client(certs);
      while (Clock::now() < end) {
        auto t0 = Clock::now();
        auto r = client.Get(a.port(), target);
        auto t1 = Clock::now();
        if (!r.ok() || r->status != 200) {
          ++errors;
          continue;
        }
        latencies[static_cast<std::size_t>(t)].push_back(
            std::chrono::duration<double, std::milli>(t1 - t0).count());
      }
    });
  }
  for (auto& th : threads) th.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = CpuSeconds(a.process().pid()) - cpu_before;
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  f.rps = static_cast<double>(all.size()) / wall;
  f.p50_ms = Percentile(all, 0.50);
  f.p99_ms = Percentile(all, 0.99);
  f.cpu_ms_per_request = all.empty() ? 0 : 1000 * cpu / static_cast<double>(all.size());
  f.errors = errors;
  return f;
}

// `n` series as /api/v1/series returns them, across 500 metric names: 100 cAdvisor-style
// (container_metric_K, every other one a counter) and 400 application ones (app_metric_K, two
// in three counters), n/500 pods each. {container, app} JSON object lists.
std::pair<std::string, std::string> DiscoverySeries(int n) {
  std::string container, app;
  for (int i = 0; i < n; ++i) {
    const int metric = i % 500;
    const int pod = i / 500;
    if (metric < 100) {
      if (!container.empty()) container += ',';
      container += fmt::format(
          R"({{"__name__":"container_metric_{}{}","container":"engine","id":"/kubepods/pod-{}",)"
          R"("image":"gpuscale/engine","instance":"10.0.0.1:10250","job":"kubelet",)"
          R"("namespace":"bench","pod":"pod-{}"}})",
          metric, metric % 2 ? "_total" : "", pod, pod);
    } else {
      if (!app.empty()) app += ',';
      app +=
          fmt::format(R"({{"__name__":"app_metric_{}{}","instance":"10.1.{}.{}:8080","job":"app",)"
                      R"("namespace":"bench","pod":"pod-{}","service":"app"}})",
                      metric, metric % 3 ? "_total" : "", pod / 250, pod % 250, pod);
    }
  }
  return {container, app};
}

int Run(int argc, char** argv) {
  int concurrency = 4;
  double seconds_per_run = 5;
  std::vector<int> sizes = {10, 100, 1000};
  std::vector<int> series_counts = {10000, 100000};
  std::string work_dir;
  std::string only;
  std::string adapter;
  CLI::App app("gpuscale adapter beside prometheus-adapter");
  app.add_option("--concurrency", concurrency, "Callers at once for the Pods query");
  app.add_option("--seconds", seconds_per_run, "Seconds of load per adapter and size");
  app.add_option("--pods", sizes, "Pod counts for the Pods query");
  app.add_option("--series", series_counts, "Series counts for discovery");
  app.add_option("--work-dir", work_dir, "Where logs go (default: a temporary directory)");
  app.add_option("--only", only, "Run only one part")->check(CLI::IsMember({"query", "discovery"}));
  app.add_option("--adapter", adapter, "Run only this adapter")
      ->check(CLI::IsMember({"gpuscale", "prometheus-adapter"}));
  CLI11_PARSE(app, argc, argv);
  const milliseconds duration(static_cast<long>(seconds_per_run * 1000));

  auto started = ControlPlane::Start({.work_dir = work_dir, .start_controller_manager = false});
  if (!started.ok()) {
    std::cerr << started.error().ToString() << "\n";
    return 1;
  }
  ControlPlane& cp = **started;
  const std::string dir = cp.work_dir();
  std::cerr << "work directory: " << dir << "\n";
  auto must = [](const core::Status& st) {
    if (!st.ok()) {
      std::cerr << st.ToString() << "\n";
      std::exit(1);
    }
  };
  must(cp.Create(
      "/api/v1/namespaces",
      fmt::format(R"({{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{}"}}}})", kNs)));
  must(cp.Create(fmt::format("/api/v1/namespaces/{}/serviceaccounts", kNs),
                 R"({"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"default"}})"));
  // 1,000 pods of one Deployment; b10/b100 label the first 10 and 100 so one labelSelector
  // picks each size, as the HPA's selector picks a Deployment's pods.
  auto pods_start = Clock::now();
  for (int i = 0; i < kPods; ++i) {
    std::string labels = R"("app":"gemma-server")";
    if (i < 10) labels += R"(,"b10":"yes")";
    if (i < 100) labels += R"(,"b100":"yes")";
    must(cp.Create(
        fmt::format("/api/v1/namespaces/{}/pods", kNs),
        fmt::format(
            R"({{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{}","labels":{{{}}}}},)"
            R"("spec":{{"automountServiceAccountToken":false,)"
            R"("containers":[{{"name":"engine","image":"gpuscale/engine"}}]}}}})",
            PodName(i), labels)));
  }
  std::cerr << fmt::format("created {} pods in {:.1f} s\n", kPods,
                           std::chrono::duration<double>(Clock::now() - pods_start).count());

  auto fake = FakePrometheus::Start();
  if (!fake.ok()) {
    std::cerr << fake.error().ToString() << "\n";
    return 1;
  }
  FakePrometheus& prometheus = **fake;
  AggregatorClient client(cp.certs());
  // One adapter of `c`'s kind over the rules file `rules` (in the work directory).
  auto start = [&](const Config& c, const std::string& rules, const std::string& relist) {
    return AdapterProcess::Start(c.kind,
                                 {.config_file = dir + "/" + rules,
                                  .prometheus_url = prometheus.url(),
                                  .kubeconfig = cp.admin_kubeconfig(),
                                  .work_dir = dir,
                                  .relist_interval = relist,
                                  .extra_args = c.args},
                                 client);
  };

  const std::vector<Config> configs = {
      {AdapterKind::kGpuscale, "gpuscale", {}},
      {AdapterKind::kPrometheusAdapter, "prometheus-adapter", {}},
      {AdapterKind::kPrometheusAdapter,
       "prometheus-adapter --client-qps=1000 --client-burst=2000",
       {"--client-qps=1000", "--client-burst=2000"}},
  };

  auto skip = [&](const Config& c) { return !adapter.empty() && adapter != AdapterName(c.kind); };

  // ---- the HPA's Pods query --------------------------------------------------------------
  if (only != "discovery") {
    std::string series;
    for (int i = 0; i < kPods; ++i) {
      if (!series.empty()) series += ',';
      series += fmt::format(
          R"({{"__name__":"DCGM_FI_DEV_GPU_UTIL","gpu":"{}","namespace":"bench","pod":"{}"}})",
          i % 8, PodName(i));
    }
    prometheus.SetSeries(series);
    std::ofstream(dir + "/chart-rules.yaml") << kChartRules;
    std::printf(
        "\n| adapter | pods | req/s | p50 ms | p99 ms | CPU ms/req | errors | RSS MiB |\n"
        "|---|---|---|---|---|---|---|---|\n");
    for (const Config& c : configs) {
      if (skip(c)) continue;
      auto a = start(c, "chart-rules.yaml", "30s");
      if (!a.ok()) {
        std::cerr << a.error().ToString() << "\n";
        return 1;
      }
      bool listed = WaitFor(
          [&] {
            auto r = client.Get((*a)->port(), "/apis/custom.metrics.k8s.io/v1beta2");
            return r.ok() && r->body.find("pods/gpu_utilization_percent") != std::string::npos;
          },
          seconds(60), milliseconds(50));
      if (!listed) {
        std::cerr << c.label << ": no metrics listed\n";
        return 1;
      }
      for (int n : sizes) {
        std::string vector;
        for (int i = 0; i < n; ++i) {
          if (!vector.empty()) vector += ',';
          vector += fmt::format(R"({{"metric":{{"pod":"{}"}},"value":[1700000000,"{}"]}})",
                                PodName(i), 20 + i % 60);
        }
        prometheus.SetVector(vector);
        std::string selector =
            n >= kPods ? "app%3Dgemma-server" : fmt::format("app%3Dgemma-server%2Cb{}%3Dyes", n);
        std::string target = fmt::format(
            "/apis/custom.metrics.k8s.io/v1beta2/namespaces/{}/pods/*/gpu_utilization_percent"
            "?labelSelector={}",
            kNs, selector);
        QueryFigures f = Load(**a, cp.certs(), target, n, concurrency, duration);
        auto [rss, hwm] = Rss((*a)->process().pid());
        std::printf("| %s | %d | %.1f | %.2f | %.2f | %.2f | %d | %.1f |%s\n", c.label.c_str(), n,
                    f.rps, f.p50_ms, f.p99_ms, f.cpu_ms_per_request, f.errors, rss,
                    f.note.empty() ? "" : (" " + f.note).c_str());
        std::fflush(stdout);
      }
    }
  }

  // ---- discovery ---------------------------------------------------------------------------
  if (only == "query") series_counts.clear();
  std::printf(
      "\n| adapter | series | time to list s | RSS MiB | peak RSS MiB | anon / file MiB | series "
      "calls |\n|---|---|---|---|---|---|---|\n");
  const std::string helm_rules =
      ReadFile(std::string(GPUSCALE_SOURCE_DIR) + "/src/adapter/testdata/helm-default-rules.yaml");
  std::ofstream(dir + "/helm-rules.yaml") << helm_rules;
  for (int n : series_counts) {
    auto [container, app_series] = DiscoverySeries(n);
    prometheus.SetSeries(container, R"(__name__=~"^container_)");
    prometheus.SetSeries(app_series, R"(__name__!~"^container_)");
    prometheus.SetSeries("", "");  // any other seriesQuery: no series
    // gpuscale accepts prometheus-adapter's --client-qps/--client-burst and ignores them, so
    // the third configuration only repeats prometheus-adapter here.
    for (std::size_t ci = 0; ci < 2; ++ci) {
      const Config& c = configs[ci];
      if (skip(c)) continue;
      const int calls_before = prometheus.series_calls();
      const auto t0 = Clock::now();
      auto a = start(c, "helm-rules.yaml", "10m");
      if (!a.ok()) {
        std::cerr << a.error().ToString() << "\n";
        return 1;
      }
      bool listed = WaitFor(
          [&] {
            auto r = client.Get((*a)->port(), "/apis/custom.metrics.k8s.io/v1beta1");
            return r.ok() && r->body.find("\"pods/metric_98\"") != std::string::npos &&
                   r->body.find("\"pods/metric_99\"") != std::string::npos &&
                   r->body.find("\"pods/app_metric_498\"") != std::string::npos &&
                   r->body.find("\"pods/app_metric_499\"") != std::string::npos;
          },
          seconds(300), milliseconds(20));
      const double took = std::chrono::duration<double>(Clock::now() - t0).count();
      // Let allocations made while listing settle before reading the resident set.
      std::this_thread::sleep_for(seconds(2));
      auto [rss, hwm] = Rss((*a)->process().pid());
      auto [anon, file] = RssSplit((*a)->process().pid());
      std::printf("| %s | %d | %s | %.1f | %.1f | %.1f / %.1f | %d |\n", c.label.c_str(), n,
                  listed ? fmt::format("{:.2f}", took).c_str() : "not listed in 300 s", rss, hwm,
                  anon, file, prometheus.series_calls() - calls_before);
      std::fflush(stdout);
    }
  }
  cp.Stop();
  cp.RemoveWorkDir();
  return 0;
}

}  // namespace
}  // namespace gpuscale::testing

int main(int argc, char** argv) { return gpuscale::testing::Run(argc, argv); }
