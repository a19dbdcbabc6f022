// Exporter benchmarks over 8 emulated H100s with the full default field set and pod labels:
//  1. in-process: one collection (NVML reads + render) and one scrape of the cached body;
//  2. processes: `gpuscale exporter` and node_exporter (the nearest peer: a Go exporter serving
//     its own /metrics) each loaded by wrk in the same run; requests/s, CPU per scrape from
//     /proc/<pid>/stat, RSS from /proc/<pid>/status, and the ratios.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "exporter/collector.h"
#include "gpu/emu_state.h"
#include "gpu/test_kubelet.h"
#include "http/message.h"
#include "test/support/process.h"

namespace gs = gpuscale;
using namespace std::chrono_literals;

namespace {

constexpr int kGpus = 8;
std::string g_dir;

std::vector<gs::gpu::ContainerDevices> Allocations() {
  std::vector<gs::gpu::ContainerDevices> out;
  for (int i = 0; i < kGpus; ++i) {
    out.push_back({"vllm-" + std::to_string(i),
                   "serving",
                   "inference-server",
                   "nvidia.com/gpu",
                   {"GPU-0000000" + std::to_string(i)}});
  }
  return out;
}

void MakeGpus(const std::string& emu) {
  for (int i = 0; i < kGpus; ++i) {
    gs::gpu::emu::GpuConfig c;
    c.uuid = "GPU-0000000" + std::to_string(i);
    c.name = "NVIDIA H100 80GB HBM3";
    c.architecture = "hopper";
    c.memory_total_mib = 81559;
    c.power_idle_w = 70;
    c.power_max_w = 700;
    if (!gs::gpu::emu::CreateGpu(emu, i, c).ok()) std::abort();
  }
}

struct InProcess {
  std::unique_ptr<gs::gpu::TestKubelet> kubelet;
  std::unique_ptr<gs::exporter::PodMapper> pods;
  std::unique_ptr<gs::exporter::Collector> collector;
  gs::core::SystemClock clock;
  InProcess() {
    kubelet = std::move(gs::gpu::TestKubelet::Start(g_dir + "/k1.sock").value());
    kubelet->SetContainers(Allocations());
    pods = std::make_unique<gs::exporter::PodMapper>(
        gs::gpu::PodResourcesClient::Create(g_dir + "/k1.sock"), 5s, 5s);
    pods->Refresh();
    gs::exporter::CollectorOptions o;
    o.nvml_library = GPUSCALE_NVML_EMU_PATH;
    o.kubernetes = true;
    o.render.hostname = "node-a";
    collector = std::make_unique<gs::exporter::Collector>(o, gs::exporter::DefaultCounters(),
                                                          pods.get(), clock);
    collector->CollectOnce();
  }
};

InProcess& Fixture() {
  static InProcess* p = new InProcess();
  return *p;
}

void BM_CollectAndRender(benchmark::State& state) {
  auto& f = Fixture();
  for (auto _ : state) f.collector->CollectOnce();
  state.counters["body_bytes"] = static_cast<double>(f.collector->body()->size());
}
BENCHMARK(BM_CollectAndRender)->Unit(benchmark::kMicrosecond);

// What a /metrics request costs the exporter besides the socket: take the cached body and
// build the response.
void BM_ScrapeCachedBody(benchmark::State& state) {
  auto& f = Fixture();
  for (auto _ : state) {
    auto body = f.collector->body();
    auto resp = gs::http::Response::Text(200, *body, "text/plain; version=0.0.4; charset=utf-8");
    benchmark::DoNotOptimize(resp);
  }
}
BENCHMARK(BM_ScrapeCachedBody)->Unit(benchmark::kMicrosecond);

// ---- process comparison ---------------------------------------------------------------------

double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), {});
  size_t p = s.rfind(')');
  if (p == std::string::npos) return 0;
  std::istringstream rest(s.substr(p + 2));
  std::string tok;
  double utime = 0, stime = 0;
  for (int field = 3; rest >> tok; ++field) {
    if (field == 14) utime = std::stod(tok);
    if (field == 15) {
      stime = std::stod(tok);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A "Key:   123 kB" line of a /proc file, in MiB.
double ProcKiBField(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
  }
  return 0;
}
double RssMiB(pid_t pid) {
  return ProcKiBField("/proc/" + std::to_string(pid) + "/status", "VmRSS:");
}
// Heap and stacks only, without the binary's and libraries' mapped pages.
double AnonMiB(pid_t pid) {
  return ProcKiBField("/proc/" + std::to_string(pid) + "/smaps_rollup", "Anonymous:");
}

struct Load {
  double rps = 0, requests = 0, cpu_s = 0, rss_mib = 0, anon_mib = 0, body_bytes = 0;
};

// The pid whose /proc/<pid>/exe is `exe` in the process group of `group` (the child itself
// may be the binary or a wrapper).
Load Measure(pid_t pid, std::uint16_t port, int seconds) {
  Load l;
  std::string out;
  auto body = gs::testing::RunCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{size_download}",
                                       "http://127.0.0.1:" + std::to_string(port) + "/metrics"},
                                      &out, 10s);
  if (body.ok()) l.body_bytes = std::atof(out.c_str());
  double cpu0 = CpuSeconds(pid);
  out.clear();
  auto rc = gs::testing::RunCommand({"wrk", "-t1", "-c4", "-d" + std::to_string(seconds) + "s",
                                     "http://127.0.0.1:" + std::to_string(port) + "/metrics"},
                                    &out, std::chrono::seconds(seconds + 30));
  l.cpu_s = CpuSeconds(pid) - cpu0;
  l.rss_mib = RssMiB(pid);
  l.anon_mib = AnonMiB(pid);
  std::smatch m;
  if (rc.ok() && std::regex_search(out, m, std::regex(R"((\d+) requests in)"))) {
    l.requests = std::stod(m[1]);
  }
  if (std::regex_search(out, m, std::regex(R"(Requests/sec:\s+([0-9.]+))"))) {
    l.rps = std::stod(m[1]);
  }
  return l;
}

void CompareWithNodeExporter(int seconds) {
  std::string emu = g_dir + "/emu";
  auto kubelet = gs::gpu::TestKubelet::Start(g_dir + "/k2.sock");
  if (!kubelet.ok()) return;
  (*kubelet)->SetContainers(Allocations());
  std::uint16_t ep = gs::testing::FreePort();
  auto exp =
      gs::testing::Subprocess::Start({{gs::testing::GpuscaleBinary(), "exporter", "--emu-dir", emu,
                                       "-a", "127.0.0.1:" + std::to_string(ep), "-c", "1000", "-k",
                                       "--pod-resources-socket", g_dir + "/k2.sock"},
                                      {{"NODE_NAME", "node-a"}}});
  std::uint16_t np = gs::testing::FreePort();
  auto node = gs::testing::Subprocess::Start(
      {{"prometheus-node-exporter", "--web.listen-address=127.0.0.1:" + std::to_string(np)}});
  if (!exp.ok() || !node.ok() || !gs::testing::WaitForPort(ep, 20s) ||
      !gs::testing::WaitForPort(np, 20s)) {
    std::printf("process comparison skipped: could not start both exporters\n");
    return;
  }
  // Wait until the exporter's body carries the workload labels (first collection done).
  gs::testing::WaitFor(
      [&] {
        std::string out;
        auto rc = gs::testing::RunCommand(
            {"curl", "-s", "http://127.0.0.1:" + std::to_string(ep) + "/metrics"}, &out, 5s);
        return rc.ok() && out.find("pod=\"vllm-7\"") != std::string::npos &&
               out.find("DCGM_FI_PROF_GR_ENGINE_ACTIVE{gpu=\"7\"") != std::string::npos;
      },
      20s, 50ms);
  Load g = Measure((*exp)->pid(), ep, seconds);
  Load n = Measure((*node)->pid(), np, seconds);
  auto per_scrape_us = [](const Load& l) {
    return l.requests > 0 ? l.cpu_s / l.requests * 1e6 : 0.0;
  };
  std::printf("\n%-28s %10s %10s %14s %9s %9s %9s\n", "process (wrk -t1 -c4)", "req/s", "requests",
              "CPU us/scrape", "RSS MiB", "anon MiB", "body B");
  for (auto [name, l] :
       {std::pair{"gpuscale exporter (8 GPUs)", g}, std::pair{"prometheus-node-exporter", n}}) {
    std::printf("%-28s %10.0f %10.0f %14.1f %9.1f %9.1f %9.0f\n", name, l.rps, l.requests,
                per_scrape_us(l), l.rss_mib, l.anon_mib, l.body_bytes);
  }
  if (n.rps > 0 && per_scrape_us(g) > 0 && g.rss_mib > 0) {
    std::printf("ratios gpuscale/node_exporter: req/s %.2fx, CPU per scrape %.2fx, RSS %.2fx\n",
                g.rps / n.rps, per_scrape_us(g) / per_scrape_us(n), g.rss_mib / n.rss_mib);
  }
}

}  // namespace

int main(int argc, char** argv) {
  g_dir = gs::testing::MakeTempDir("gsb");
  setenv("GPUSCALE_EMU_DIR", (g_dir + "/emu").c_str(), 1);
  MakeGpus(g_dir + "/emu");
  int seconds = 5;
  if (const char* s = std::getenv("EXPORTER_BENCH_SECONDS")) seconds = std::atoi(s);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  CompareWithNodeExporter(seconds);
  benchmark::Shutdown();
  std::filesystem::remove_all(g_dir);
  return 0;
}
