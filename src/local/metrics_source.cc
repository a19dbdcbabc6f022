#include "local/metrics_source.h"

#include <fmt/format.h>

#include <algorithm>

#include "http/client.h"
#include "prom/api.h"

namespace gpuscale::local {

std::vector<MetricRule> SeedRules() {
  return {{"gpu_utilization_percent", "DCGM_FI_DEV_GPU_UTIL"},
          {"vllm_num_requests_running", "vllm:num_requests_running"}};
}

namespace {
const std::string* FindLabel(const prom::Labels& labels, std::string_view name) {
  for (const auto& l : labels) {
    if (l.name == name) return &l.value;
  }
  return nullptr;
}
}  // namespace

void AddSamples(const std::vector<prom::MetricFamily>& families,
                const std::vector<MetricRule>& rules, const std::string& default_pod,
                const std::map<std::string, std::string>& gpu_pods, PodMetrics* out) {
  for (const auto& family : families) {
    for (const auto& sample : family.samples) {
      std::string pod;
      if (const std::string* p = FindLabel(sample.labels, "pod"); p && !p->empty()) {
        pod = *p;
      } else if (!default_pod.empty()) {
        pod = default_pod;
      } else if (const std::string* g = FindLabel(sample.labels, "gpu")) {
        auto it = gpu_pods.find(*g);
        if (it != gpu_pods.end()) pod = it->second;
      }
      if (pod.empty()) continue;
      std::string own_name = sample.name;
      std::replace(own_name.begin(), own_name.end(), ':', '_');
      out->values[own_name][pod] += sample.value;
      for (const auto& rule : rules) {
        if (rule.series == sample.name && rule.custom_name != own_name) {
          out->values[rule.custom_name][pod] += sample.value;
        }
      }
    }
  }
}

struct DirectScrapeSource::Impl {
  Targets targets;
  GpuPods gpu_pods;
  std::chrono::milliseconds timeout;
  std::unique_ptr<http::Client> client;
};

DirectScrapeSource::DirectScrapeSource(Targets targets, GpuPods gpu_pods,
                                       std::chrono::milliseconds timeout)
    : impl_(new Impl{std::move(targets), std::move(gpu_pods), timeout, nullptr}) {
  http::ClientOptions options;
  options.connect_timeout = timeout;
  options.request_timeout = timeout;
  impl_->client = http::Client::Create(options);
}

DirectScrapeSource::~DirectScrapeSource() = default;

PodMetrics DirectScrapeSource::Collect(core::Timestamp now) {
  PodMetrics out;
  out.time = now;
  std::map<std::string, std::string> gpu_pods = impl_->gpu_pods();
  std::vector<MetricRule> rules = SeedRules();
  for (const ScrapeTarget& target : impl_->targets()) {
    auto response = impl_->client->Get(target.url);
    if (!response.ok()) {
      out.errors.push_back(fmt::format("{}: {}", target.url, response.error().message));
      continue;
    }
    if (response->status != 200) {
      out.errors.push_back(fmt::format("{}: HTTP {}", target.url, response->status));
      continue;
    }
    auto families = prom::ParseText(response->body);
    if (!families.ok()) {
      out.errors.push_back(fmt::format("{}: {}", target.url, families.error().message));
      continue;
    }
    AddSamples(*families, rules, target.pod, gpu_pods, &out);
  }
  return out;
}

struct PrometheusSource::Impl {
  std::unique_ptr<prom::ApiClient> client;
  std::string namespace_name;
};

PrometheusSource::PrometheusSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PrometheusSource::~PrometheusSource() = default;

core::Result<std::unique_ptr<PrometheusSource>> PrometheusSource::Create(
    const std::string& url, std::string namespace_name, std::chrono::milliseconds timeout) {
  prom::ApiClientOptions options;
  options.url = url;
  options.timeout = timeout;
  options.connect_timeout = timeout;
  GPUSCALE_ASSIGN_OR_RETURN(std::unique_ptr<prom::ApiClient> client,
                            prom::ApiClient::Create(options));
  auto impl = std::make_unique<Impl>();
  impl->client = std::move(client);
  impl->namespace_name = std::move(namespace_name);
  return std::unique_ptr<PrometheusSource>(new PrometheusSource(std::move(impl)));
}

PodMetrics PrometheusSource::Collect(core::Timestamp now) {
  PodMetrics out;
  out.time = now;
  for (const MetricRule& rule : SeedRules()) {
    std::string query = fmt::format("sum by (pod) ({}{{namespace=\"{}\",pod!=\"\"}})", rule.series,
                                    impl_->namespace_name);
    auto result = impl_->client->Query(query, now);
    if (!result.ok()) {
      out.errors.push_back(fmt::format("{}: {}", query, result.error().message));
      continue;
    }
    for (const prom::VectorSample& sample : result->vector) {
      for (const prom::Label& label : sample.metric) {
        if (label.name == "pod") out.values[rule.custom_name][label.value] += sample.value;
      }
    }
  }
  return out;
}

}  // namespace gpuscale::local
