#include "engine/metrics.h"

#include <fmt/format.h>

#include <map>

#include "prom/exposition.h"

namespace gpuscale::engine {
namespace {

using prom::Histogram;
using prom::Labels;
using prom::MetricType;

// Bucket bounds of vllm/v1/metrics/loggers.py at 0.10 (reference §1.2).
const std::vector<double> kTtftBuckets = {0.001, 0.005, 0.01, 0.02,  0.04,  0.06,  0.08, 0.1,
                                          0.25,  0.5,   0.75, 1.0,   2.5,   5.0,   7.5,  10.0,
                                          20.0,  40.0,  80.0, 160.0, 640.0, 2560.0};
const std::vector<double> kTpotBuckets = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,  0.3,  0.4, 0.5,
                                          0.75, 1.0,   2.5,  5.0,   7.5, 10.0, 20.0, 40.0, 80.0};
const std::vector<double> kLatencyBuckets = {0.3,  0.5,   0.8,   1.0,   1.5,   2.0,    2.5,
                                             5.0,  10.0,  15.0,  20.0,  30.0,  40.0,   50.0,
                                             60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
const std::vector<double> kIterationBuckets = {1,   8,    16,   32,   64,   128,  256,
                                               512, 1024, 2048, 4096, 8192, 16384};

}  // namespace

std::vector<double> Buckets125(double max_value) {
  std::vector<double> out;
  for (double exp = 1;; exp *= 10) {
    for (double m : {1.0, 2.0, 5.0}) {
      double v = m * exp;
      if (v > max_value) return out;
      out.push_back(v);
    }
  }
}

struct EngineMetrics::State {
  explicit State(const MetricsOptions& o)
      : options(o),
        labels{{"model_name", o.model_name}, {"engine", o.engine}},
        ttft(kTtftBuckets),
        tpot(kTpotBuckets),
        e2e(kLatencyBuckets),
        queue(kLatencyBuckets),
        inference(kLatencyBuckets),
        prefill(kLatencyBuckets),
        decode(kLatencyBuckets),
        iteration(kIterationBuckets),
        prompt_len(Buckets125(o.limits.max_model_len)),
        generation_len(Buckets125(o.limits.max_model_len)) {}

  MetricsOptions options;
  Labels labels;
  EngineStats stats;
  std::map<std::string, std::uint64_t> success{{"length", 0}, {"stop", 0}, {"abort", 0}};
  Histogram ttft, tpot, e2e, queue, inference, prefill, decode, iteration, prompt_len,
      generation_len;

  void Finished(const FinishedRequest& f) {
    ++success[std::string(FinishReasonName(f.reason))];
    if (f.reason == FinishReason::kAbort) return;
    e2e.Observe(core::ToSeconds(f.finished - f.arrival));
    prompt_len.Observe(f.prompt_tokens);
    generation_len.Observe(f.output_tokens);
    if (f.scheduled) {
      queue.Observe(core::ToSeconds(*f.scheduled - f.arrival));
      inference.Observe(core::ToSeconds(f.finished - *f.scheduled));
      if (f.first_token) prefill.Observe(core::ToSeconds(*f.first_token - *f.scheduled));
    }
    if (f.first_token) decode.Observe(core::ToSeconds(f.finished - *f.first_token));
  }
};

EngineMetrics::EngineMetrics(MetricsOptions options) : s_(std::make_unique<State>(options)) {}
EngineMetrics::~EngineMetrics() = default;

void EngineMetrics::OnStep(const StepResult& step, const EngineStats& stats) {
  for (const TokenEvent& t : step.tokens) {
    (t.first ? s_->ttft : s_->tpot).Observe(core::ToSeconds(t.interval));
  }
  for (const FinishedRequest& f : step.finished) s_->Finished(f);
  if (step.num_scheduled_seqs > 0) s_->iteration.Observe(step.prefill_tokens + step.decode_tokens);
  s_->stats = stats;
}

void EngineMetrics::OnFinished(const FinishedRequest& request, const EngineStats& stats) {
  s_->Finished(request);
  s_->stats = stats;
}

void EngineMetrics::OnStats(const EngineStats& stats) { s_->stats = stats; }

std::string EngineMetrics::Render() const {
  const State& s = *s_;
  const Labels& l = s.labels;
  std::string out;
  out.reserve(24 * 1024);
  auto gauge = [&](std::string_view name, std::string_view help, double v) {
    prom::AppendHeader(name, help, MetricType::kGauge, &out);
    prom::AppendSample(name, l, v, std::nullopt, &out);
  };
  // prometheus_client exposes a counter's creation time as a separate <name>_created gauge.
  auto created = [&](std::string_view base, std::string_view help, const Labels& labels) {
    std::string name = fmt::format("{}_created", base);
    prom::AppendHeader(name, help, MetricType::kGauge, &out);
    prom::AppendSample(name, labels, s.options.created_unix_s, std::nullopt, &out);
  };
  auto counter = [&](std::string_view base, std::string_view help, double v) {
    std::string name = fmt::format("{}_total", base);
    prom::AppendHeader(name, help, MetricType::kCounter, &out);
    prom::AppendSample(name, l, v, std::nullopt, &out);
    created(base, help, l);
  };
  auto histogram = [&](std::string_view name, std::string_view help, const Histogram& h) {
    prom::AppendHeader(name, help, MetricType::kHistogram, &out);
    h.AppendText(name, l, &out);
    created(name, help, l);
  };

  gauge("vllm:num_requests_running", "Number of requests in model execution batches.",
        s.stats.num_running);
  gauge("vllm:num_requests_waiting", "Number of requests waiting to be processed.",
        s.stats.num_waiting);
  gauge("vllm:gpu_cache_usage_perc",
        "GPU KV-cache usage. 1 means 100 percent usage.DEPRECATED: Use "
        "vllm:kv_cache_usage_perc instead.",
        s.stats.kv_usage);
  gauge("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage.", s.stats.kv_usage);
  counter("vllm:num_preemptions", "Cumulative number of preemption from the engine.",
          static_cast<double>(s.stats.preemptions_total));
  counter("vllm:prompt_tokens", "Number of prefill tokens processed.",
          static_cast<double>(s.stats.prompt_tokens_total));
  counter("vllm:generation_tokens", "Number of generation tokens processed.",
          static_cast<double>(s.stats.generation_tokens_total));

  {
    const char* help = "Count of successfully processed requests.";
    prom::AppendHeader("vllm:request_success_total", help, MetricType::kCounter, &out);
    for (const auto& [reason, n] : s.success) {
      prom::AppendSample("vllm:request_success_total", l, prom::Label{"finished_reason", reason},
                         static_cast<double>(n), std::nullopt, &out);
    }
    prom::AppendHeader("vllm:request_success_created", help, MetricType::kGauge, &out);
    for (const auto& [reason, n] : s.success) {
      prom::AppendSample("vllm:request_success_created", l, prom::Label{"finished_reason", reason},
                         s.options.created_unix_s, std::nullopt, &out);
    }
  }

  histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", s.prompt_len);
  histogram("vllm:request_generation_tokens", "Number of generation tokens processed.",
            s.generation_len);
  histogram("vllm:iteration_tokens_total", "Histogram of number of tokens per engine_step.",
            s.iteration);
  histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            s.ttft);
  histogram("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.",
            s.tpot);
  histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.",
            s.e2e);
  histogram("vllm:request_queue_time_seconds",
            "Histogram of time spent in WAITING phase for request.", s.queue);
  histogram("vllm:request_inference_time_seconds",
            "Histogram of time spent in RUNNING phase for request.", s.inference);
  histogram("vllm:request_prefill_time_seconds",
            "Histogram of time spent in PREFILL phase for request.", s.prefill);
  histogram("vllm:request_decode_time_seconds",
            "Histogram of time spent in DECODE phase for request.", s.decode);

  {
    const EngineLimits& lim = s.options.limits;
    Labels info = {
        {"block_size", std::to_string(lim.block_size)},
        {"cache_dtype", "auto"},
        {"enable_prefix_caching", "False"},
        {"engine", s.options.engine},
        {"gpu_memory_utilization", prom::FormatValue(s.options.gpu_memory_utilization)},
        {"num_gpu_blocks", std::to_string(lim.num_gpu_blocks)},
    };
    prom::AppendHeader("vllm:cache_config_info", "Information of the LLMEngine CacheConfig",
                       MetricType::kGauge, &out);
    prom::AppendSample("vllm:cache_config_info", info, 1, std::nullopt, &out);
  }
  return out;
}

}  // namespace gpuscale::engine
