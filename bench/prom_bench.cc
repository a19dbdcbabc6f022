// Exposition render and parse on two realistic bodies: a dcgm-exporter scrape (8 GPUs x 25
// fields, 11 labels each) and a vLLM-like body with histograms. The peer for rendering is a
// plain std::ostream writer (the approach of prometheus-cpp's text serializer), measured in the
// same run; parse figures are absolute (bytes/s, samples per body).
#include <benchmark/benchmark.h>

#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "prom/exposition.h"

namespace gpuscale::prom {
namespace {

std::vector<MetricFamily> DcgmFamilies() {
  static const char* kFields[] = {"DCGM_FI_DEV_SM_CLOCK",
                                  "DCGM_FI_DEV_MEM_CLOCK",
                                  "DCGM_FI_DEV_MEMORY_TEMP",
                                  "DCGM_FI_DEV_GPU_TEMP",
                                  "DCGM_FI_DEV_POWER_USAGE",
                                  "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
                                  "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
                                  "DCGM_FI_DEV_GPU_UTIL",
                                  "DCGM_FI_DEV_MEM_COPY_UTIL",
                                  "DCGM_FI_DEV_ENC_UTIL",
                                  "DCGM_FI_DEV_DEC_UTIL",
                                  "DCGM_FI_DEV_XID_ERRORS",
                                  "DCGM_FI_DEV_FB_FREE",
                                  "DCGM_FI_DEV_FB_USED",
                                  "DCGM_FI_DEV_FB_RESERVED",
                                  "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
                                  "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
                                  "DCGM_FI_PROF_DRAM_ACTIVE",
                                  "DCGM_FI_PROF_PCIE_TX_BYTES",
                                  "DCGM_FI_PROF_PCIE_RX_BYTES",
                                  "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL",
                                  "DCGM_FI_DEV_VGPU_LICENSE_STATUS",
                                  "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS",
                                  "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS",
                                  "DCGM_FI_DEV_ROW_REMAP_FAILURE"};
  std::vector<MetricFamily> families;
  for (int f = 0; f < 25; ++f) {
    MetricFamily family{kFields[f],
                        std::string("Help text for ") + kFields[f] + " (in units).",
                        f == 5 ? MetricType::kCounter : MetricType::kGauge,
                        {}};
    for (int gpu = 0; gpu < 8; ++gpu) {
      std::string g = std::to_string(gpu);
      Labels labels = {{"gpu", g},
                       {"UUID", "GPU-5fb4b7d4-6a3a-1b1c-2d3e-4f5a6b7c8d9" + g},
                       {"pci_bus_id", "00000000:" + std::to_string(16 + gpu * 16) + ":00.0"},
                       {"device", "nvidia" + g},
                       {"modelName", "NVIDIA H100 80GB HBM3"},
                       {"Hostname", "gpu-node-a1b2c3"},
                       {"DCGM_FI_DRIVER_VERSION", "570.86.15"},
                       {"container", "vllm"},
                       {"namespace", "inference"},
                       {"pod", "vllm-llama-8b-7d9f5c6b4-x" + g},
                       {"pod_uid", "0b5c8f3e-1a2b-4c5d-8e9f-0a1b2c3d4e5" + g}};
      double value = f % 3 == 0 ? 1980 - gpu : f % 3 == 1 ? 0.4375 * (gpu + 1) : 123456789.0 * f;
      family.samples.push_back({family.name, std::move(labels), value, std::nullopt});
    }
    families.push_back(std::move(family));
  }
  return families;
}

std::vector<MetricFamily> VllmFamilies() {
  std::vector<MetricFamily> families;
  Labels model = {{"model_name", "meta-llama/Llama-3.1-8B-Instruct"}};
  for (const char* g :
       {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:gpu_cache_usage_perc",
        "vllm:num_preemptions_total", "vllm:prompt_tokens_total", "vllm:generation_tokens_total"}) {
    families.push_back({g, "Help.", MetricType::kGauge, {{g, model, 12.5, std::nullopt}}});
  }
  std::vector<std::vector<double>> bounds = {
      {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10},
      {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5},
      {0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60},
      {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000},
      {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000},
  };
  const char* names[] = {"vllm:time_to_first_token_seconds", "vllm:time_per_output_token_seconds",
                         "vllm:e2e_request_latency_seconds", "vllm:request_prompt_tokens",
                         "vllm:request_generation_tokens"};
  for (int i = 0; i < 5; ++i) {
    Histogram h(bounds[i]);
    for (int k = 0; k < 1000; ++k) h.Observe(bounds[i].back() * ((k * 37) % 1000) / 900.0);
    MetricFamily family{names[i], "Histogram help.", MetricType::kHistogram, {}};
    h.AppendSamples(family.name, model, &family.samples);
    families.push_back(std::move(family));
  }
  return families;
}

// The peer: an ostream writer as prometheus-cpp's TextSerializer does it.
std::string OstreamRender(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out << std::setprecision(std::numeric_limits<double>::max_digits10 - 1);
  for (const MetricFamily& f : families) {
    if (!f.help.empty()) out << "# HELP " << f.name << ' ' << f.help << '\n';
    out << "# TYPE " << f.name << ' ' << MetricTypeName(f.type) << '\n';
    for (const Sample& s : f.samples) {
      out << s.name;
      if (!s.labels.empty()) {
        out << '{';
        const char* sep = "";
        for (const Label& l : s.labels) {
          out << sep << l.name << "=\"";
          for (char c : l.value) {
            if (c == '\\' || c == '"')
              out << '\\' << c;
            else if (c == '\n')
              out << "\\n";
            else
              out << c;
          }
          out << '"';
          sep = ",";
        }
        out << '}';
      }
      out << ' ';
      if (std::isnan(s.value))
        out << "NaN";
      else if (std::isinf(s.value))
        out << (s.value < 0 ? "-Inf" : "+Inf");
      else
        out << s.value;
      out << '\n';
    }
  }
  return out.str();
}

std::size_t SampleCount(const std::vector<MetricFamily>& families) {
  std::size_t n = 0;
  for (const auto& f : families) n += f.samples.size();
  return n;
}

void Report(benchmark::State& state, std::size_t bytes, std::size_t samples) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.counters["samples"] = static_cast<double>(samples);
  state.counters["body_bytes"] = static_cast<double>(bytes);
}

template <std::vector<MetricFamily> (*Make)()>
void BM_Render(benchmark::State& state) {
  auto families = Make();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = Render(families);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  Report(state, bytes, SampleCount(families));
}

// Rendering into a reused buffer, as a pre-rendering exporter does once per collection.
template <std::vector<MetricFamily> (*Make)()>
void BM_RenderReusedBuffer(benchmark::State& state) {
  auto families = Make();
  std::string body;
  for (auto _ : state) {
    body.clear();
    for (const auto& f : families) AppendFamily(f, &body);
    benchmark::DoNotOptimize(body.data());
  }
  Report(state, body.size(), SampleCount(families));
}

template <std::vector<MetricFamily> (*Make)()>
void BM_RenderOstreamPeer(benchmark::State& state) {
  auto families = Make();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string body = OstreamRender(families);
    bytes = body.size();
    benchmark::DoNotOptimize(body.data());
  }
  Report(state, bytes, SampleCount(families));
}

template <std::vector<MetricFamily> (*Make)()>
void BM_Parse(benchmark::State& state) {
  std::string body = Render(Make());
  std::size_t samples = 0;
  for (auto _ : state) {
    auto parsed = ParseText(body);
    if (!parsed.ok()) state.SkipWithError(parsed.error().message.c_str());
    samples = 0;
    for (const auto& f : *parsed) samples += f.samples.size();
    benchmark::DoNotOptimize(parsed);
  }
  Report(state, body.size(), samples);
}

void BM_HistogramObserve(benchmark::State& state) {
  Histogram h(DefaultBuckets());
  double v = 0;
  for (auto _ : state) {
    h.Observe(v);
    v = v > 20 ? 0 : v + 0.37;
  }
  benchmark::DoNotOptimize(h.count());
}

void BM_FormatValue(benchmark::State& state) {
  double values[] = {0, 1980, 0.4375, 123456789012, 2.9e-05, 312.564, 1.5e300, 0.005};
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (double v : values) AppendValue(v, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * 8);
}

BENCHMARK(BM_Render<DcgmFamilies>)->Name("Render/dcgm_8gpu_25fields");
BENCHMARK(BM_RenderReusedBuffer<DcgmFamilies>)->Name("RenderReusedBuffer/dcgm_8gpu_25fields");
BENCHMARK(BM_RenderOstreamPeer<DcgmFamilies>)->Name("RenderOstreamPeer/dcgm_8gpu_25fields");
BENCHMARK(BM_Parse<DcgmFamilies>)->Name("Parse/dcgm_8gpu_25fields");
BENCHMARK(BM_Render<VllmFamilies>)->Name("Render/vllm_histograms");
BENCHMARK(BM_RenderReusedBuffer<VllmFamilies>)->Name("RenderReusedBuffer/vllm_histograms");
BENCHMARK(BM_RenderOstreamPeer<VllmFamilies>)->Name("RenderOstreamPeer/vllm_histograms");
BENCHMARK(BM_Parse<VllmFamilies>)->Name("Parse/vllm_histograms");
BENCHMARK(BM_HistogramObserve);
BENCHMARK(BM_FormatValue);

}  // namespace
}  // namespace gpuscale::prom

BENCHMARK_MAIN();
