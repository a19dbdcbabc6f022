#include "exporter/collector.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace gpuscale::exporter {

using namespace std::chrono_literals;

PodMapper::PodMapper(std::unique_ptr<gpu::PodResourcesClient> client,
                     std::chrono::milliseconds interval, std::chrono::milliseconds timeout)
    : client_(std::move(client)), interval_(interval), timeout_(timeout) {}

PodMapper::~PodMapper() { Stop(); }

void PodMapper::Refresh() {
  auto list = client_->List(timeout_);
  std::lock_guard lock(mu_);
  if (list.ok()) {
    if (!snap_.up)
      spdlog::info("pod-resources: connected, {} GPU allocations listed", list->size());
    if (!snap_.containers || *snap_.containers != *list) {
      snap_.containers =
          std::make_shared<const std::vector<gpu::ContainerDevices>>(std::move(list).value());
      ++snap_.version;
    }
    snap_.up = true;
    snap_.last_error.clear();
    return;
  }
  ++snap_.errors;
  if (snap_.up || snap_.last_error != list.error().message) {
    spdlog::warn("pod-resources: {}; series carry no pod labels until it answers",
                 list.error().message);
  }
  snap_.up = false;
  snap_.last_error = list.error().message;
  // Without an answer the allocations are unknown: no labels rather than stale ones.
  if (snap_.containers && !snap_.containers->empty()) {
    snap_.containers = std::make_shared<const std::vector<gpu::ContainerDevices>>();
    ++snap_.version;
  }
}

void PodMapper::Start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      Refresh();
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  });
}

void PodMapper::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

PodMapper::Snapshot PodMapper::snapshot() const {
  std::lock_guard lock(mu_);
  return snap_;
}

Collector::Collector(CollectorOptions options, CounterSet counters, PodMapper* pods,
                     const core::Clock& clock)
    : options_(std::move(options)),
      counters_(std::move(counters)),
      pods_(pods),
      clock_(clock),
      durations_({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}),
      body_(std::make_shared<const std::string>()) {
  for (const Counter& c : counters_.metrics) fields_.push_back(c.field->id);
}

Collector::~Collector() { Stop(); }

void Collector::CollectOnce() {
  std::lock_guard collect_lock(collect_mu_);
  core::Timestamp now = clock_.Now();
  if (!reader_ && now >= next_nvml_attempt_) {
    auto opened = gpu::GpuReader::Open(options_.nvml_library);
    if (opened.ok()) {
      reader_ = std::move(opened).value();
      spdlog::info("NVML up ({}): {} GPU entities", options_.nvml_library,
                   reader_->entities().size());
      nvml_backoff_ = 0ms;
      nvml_error_.clear();
    } else {
      ++nvml_init_failures_;
      nvml_backoff_ = nvml_backoff_ == 0ms ? options_.nvml_retry_initial
                                           : std::min(nvml_backoff_ * 2, options_.nvml_retry_max);
      next_nvml_attempt_ = now + nvml_backoff_;
      if (nvml_error_ != opened.error().message) {
        spdlog::warn("{}; retrying with backoff (next in {} ms)", opened.error().message,
                     nvml_backoff_.count());
      }
      nvml_error_ = opened.error().message;
    }
  }
  std::optional<gpu::Reading> reading;
  auto start = std::chrono::steady_clock::now();
  if (reader_) {
    reading = reader_->Read(fields_, now);
    last_success_s_ = core::ToUnixSeconds(now);
    if (pods_ != nullptr) {
      PodMapper::Snapshot snap = pods_->snapshot();
      std::size_t entities = reader_->entities().size();
      if (snap.version != pod_version_ || entities != pod_entities_) {
        pod_map_ = snap.containers
                       ? gpu::BuildPodMap(
                             *snap.containers,
                             [this](std::string_view mig) { return reader_->ResolveMig(mig); },
                             options_.nvidia_resource_names)
                       : gpu::PodMap{};
        pod_version_ = snap.version;
        pod_entities_ = entities;
      }
    }
  }
  double duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Render(reading ? &*reading : nullptr, duration_s);
}

void Collector::Render(const gpu::Reading* reading, double duration_s) {
  std::string out;
  out.reserve(body_ ? body_->size() + 1024 : 16384);
  if (reading != nullptr) {
    RenderReading(counters_, *reading, pods_ != nullptr ? &pod_map_ : nullptr, options_.render,
                  &out);
    durations_.Observe(duration_s);
  }
  using prom::MetricType;
  auto gauge = [&](std::string_view name, std::string_view help, double v) {
    prom::AppendHeader(name, help, MetricType::kGauge, &out);
    prom::AppendSample(name, {}, v, std::nullopt, &out);
  };
  auto counter = [&](std::string_view name, std::string_view help, double v) {
    prom::AppendHeader(name, help, MetricType::kCounter, &out);
    prom::AppendSample(name, {}, v, std::nullopt, &out);
  };
  std::uint64_t collections;
  {
    std::lock_guard lock(mu_);
    collections = collections_ + 1;
  }
  gauge("gpuscale_exporter_nvml_up", "Whether NVML is loaded and initialized (1) or not (0).",
        reader_ ? 1 : 0);
  counter("gpuscale_exporter_nvml_init_failures_total",
          "Failed attempts to load or initialize NVML.", static_cast<double>(nvml_init_failures_));
  gpu::ReaderStats stats = reader_ ? reader_->stats() : gpu::ReaderStats{};
  prom::AppendHeader("gpuscale_exporter_nvml_errors_total",
                     "Failed NVML calls by function (unsupported fields are not errors).",
                     MetricType::kCounter, &out);
  for (const auto& [call, n] : stats.errors_by_call) {
    prom::AppendSample("gpuscale_exporter_nvml_errors_total", {{"call", call}},
                       static_cast<double>(n), std::nullopt, &out);
  }
  gauge("gpuscale_exporter_gpus", "GPU entities (GPUs or MIG instances) reporting.",
        reading ? static_cast<double>(reading->entities.size()) : 0);
  gauge("gpuscale_exporter_gpus_lost", "GPUs currently answering NVML_ERROR_GPU_IS_LOST.",
        reading ? reading->gpus_lost : 0);
  counter("gpuscale_exporter_gpus_lost_total", "Times a GPU was found lost.",
          static_cast<double>(stats.gpus_lost_total));
  prom::AppendHeader("gpuscale_exporter_collect_duration_seconds",
                     "Time to read every GPU in one collection.", MetricType::kHistogram, &out);
  durations_.AppendText("gpuscale_exporter_collect_duration_seconds", {}, &out);
  gauge("gpuscale_exporter_last_collect_success_timestamp_seconds",
        "Unix time of the last collection that read NVML.", last_success_s_);
  counter("gpuscale_exporter_collections_total", "Collections run.",
          static_cast<double>(collections));
  if (pods_ != nullptr) {
    PodMapper::Snapshot snap = pods_->snapshot();
    gauge("gpuscale_exporter_pod_resources_up",
          "Whether the last kubelet pod-resources List call succeeded.", snap.up ? 1 : 0);
    counter("gpuscale_exporter_pod_resources_errors_total",
            "Failed kubelet pod-resources List calls.", static_cast<double>(snap.errors));
    gauge("gpuscale_exporter_pod_resources_allocations",
          "GPU device IDs attributed to a workload in the cached map.",
          snap.containers ? static_cast<double>(pod_map_.size()) : 0);
  }
  auto body = std::make_shared<const std::string>(std::move(out));
  std::lock_guard lock(mu_);
  body_ = std::move(body);
  nvml_up_ = reader_ != nullptr;
  collections_ = collections;
}

std::shared_ptr<const std::string> Collector::body() const {
  std::lock_guard lock(mu_);
  return body_;
}

bool Collector::nvml_up() const {
  std::lock_guard lock(mu_);
  return nvml_up_;
}

std::uint64_t Collector::collections() const {
  std::lock_guard lock(mu_);
  return collections_;
}

void Collector::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Collector::Loop() {
  CollectOnce();
  auto next = std::chrono::steady_clock::now() + options_.collect_interval;
  std::unique_lock lock(mu_);
  while (!stopping_) {
    auto wake = next;
    if (!nvml_up_) {
      // Retry NVML on its own schedule, not only every collect interval.
      auto retry = std::chrono::steady_clock::now() +
                   std::max<core::Duration>(0ns, next_nvml_attempt_ - clock_.Now());
      wake = std::min(wake, retry);
    }
    cv_.wait_until(lock, wake, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    auto now = std::chrono::steady_clock::now();
    if (now >= next) {
      CollectOnce();
      next += options_.collect_interval;
      if (next <= now) next = now + options_.collect_interval;
    } else if (!nvml_up()) {
      CollectOnce();
    }
    lock.lock();
  }
}

void Collector::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace gpuscale::exporter
