#include "engine/metrics.h"

#include <gtest/gtest.h>

#include "prom/exposition.h"

namespace gpuscale::engine {
namespace {

using std::chrono::milliseconds;

const prom::MetricFamily* Find(const std::vector<prom::MetricFamily>& fams, std::string_view name) {
  for (const auto& f : fams) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

double Value(const prom::MetricFamily& f, std::string_view sample, std::string_view label = "",
             std::string_view label_value = "") {
  for (const auto& s : f.samples) {
    if (s.name != sample) continue;
    if (label.empty()) return s.value;
    for (const auto& l : s.labels) {
      if (l.name == label && l.value == label_value) return s.value;
    }
  }
  ADD_FAILURE() << "no sample " << sample << " " << label << "=" << label_value;
  return -1;
}

TEST(EngineMetrics, Buckets125MatchVllm) {
  std::vector<double> b = Buckets125(32768);
  ASSERT_EQ(b.size(), 14u);
  EXPECT_EQ(b.front(), 1);
  EXPECT_EQ(b.back(), 20000);
}

TEST(EngineMetrics, RendersVllmFamiliesWithLabelsAndValues) {
  auto profile = FindProfile("gemma-3-1b-it-l4");
  ASSERT_TRUE(profile.ok());
  Engine engine(*profile, EngineOptions{});
  MetricsOptions mo;
  mo.model_name = "google/gemma-3-1b-it";
  mo.limits = engine.limits();
  mo.created_unix_s = 1753164476;
  EngineMetrics metrics(mo);

  Timestamp t{};
  ASSERT_TRUE(engine.Add(RequestSpec{1, 100, 3, FinishReason::kLength}, t).ok());
  ASSERT_TRUE(engine.Add(RequestSpec{2, 100, 50, FinishReason::kStop}, t).ok());
  for (int i = 0; i < 3; ++i) {
    const StepResult& s = engine.Step(t);
    metrics.OnStep(s, engine.stats());
    t = s.end();
  }
  auto aborted = engine.Abort(2, t);
  ASSERT_TRUE(aborted.has_value());
  metrics.OnFinished(*aborted, engine.stats());
  ASSERT_TRUE(engine.Add(RequestSpec{3, 10, 5, FinishReason::kStop}, t).ok());
  metrics.OnStats(engine.stats());

  std::string text = metrics.Render();
  auto parsed = prom::ParseText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message << "\n" << text;
  const auto& fams = *parsed;

  const auto* running = Find(fams, "vllm:num_requests_running");
  ASSERT_NE(running, nullptr);
  EXPECT_EQ(running->type, prom::MetricType::kGauge);
  EXPECT_EQ(Value(*running, "vllm:num_requests_running"), 0);
  ASSERT_EQ(running->samples[0].labels.size(), 2u);
  EXPECT_EQ(running->samples[0].labels[0].name, "model_name");
  EXPECT_EQ(running->samples[0].labels[0].value, "google/gemma-3-1b-it");
  EXPECT_EQ(running->samples[0].labels[1].name, "engine");
  EXPECT_EQ(running->samples[0].labels[1].value, "0");
  EXPECT_EQ(Value(*Find(fams, "vllm:num_requests_waiting"), "vllm:num_requests_waiting"), 1);
  EXPECT_EQ(Value(*Find(fams, "vllm:kv_cache_usage_perc"), "vllm:kv_cache_usage_perc"), 0);
  ASSERT_NE(Find(fams, "vllm:gpu_cache_usage_perc"), nullptr);

  const auto* gen = Find(fams, "vllm:generation_tokens_total");
  ASSERT_NE(gen, nullptr);
  EXPECT_EQ(gen->type, prom::MetricType::kCounter);
  EXPECT_EQ(Value(*gen, "vllm:generation_tokens_total"), 6);  // 3 + 3
  EXPECT_EQ(Value(*Find(fams, "vllm:prompt_tokens_total"), "vllm:prompt_tokens_total"), 200);

  const auto* success = Find(fams, "vllm:request_success_total");
  ASSERT_NE(success, nullptr);
  EXPECT_EQ(Value(*success, "vllm:request_success_total", "finished_reason", "length"), 1);
  EXPECT_EQ(Value(*success, "vllm:request_success_total", "finished_reason", "abort"), 1);
  EXPECT_EQ(Value(*success, "vllm:request_success_total", "finished_reason", "stop"), 0);

  const auto* ttft = Find(fams, "vllm:time_to_first_token_seconds");
  ASSERT_NE(ttft, nullptr);
  EXPECT_EQ(ttft->type, prom::MetricType::kHistogram);
  EXPECT_EQ(Value(*ttft, "vllm:time_to_first_token_seconds_count"), 2);
  // 23 bucket lines (22 bounds + Inf), sum, count.
  EXPECT_EQ(ttft->samples.size(), 25u);
  const auto* tpot = Find(fams, "vllm:time_per_output_token_seconds");
  ASSERT_NE(tpot, nullptr);
  EXPECT_EQ(Value(*tpot, "vllm:time_per_output_token_seconds_count"), 4);
  EXPECT_EQ(tpot->samples.size(), 19u + 3u);
  const auto* e2e = Find(fams, "vllm:e2e_request_latency_seconds");
  ASSERT_NE(e2e, nullptr);
  EXPECT_EQ(Value(*e2e, "vllm:e2e_request_latency_seconds_count"), 1);
  EXPECT_EQ(e2e->samples.size(), 21u + 3u);
  for (std::string_view name :
       {"vllm:request_queue_time_seconds", "vllm:request_inference_time_seconds",
        "vllm:request_prefill_time_seconds", "vllm:request_decode_time_seconds",
        "vllm:iteration_tokens_total", "vllm:request_prompt_tokens",
        "vllm:request_generation_tokens", "vllm:num_preemptions_total", "vllm:cache_config_info"}) {
    EXPECT_NE(Find(fams, name), nullptr) << name;
  }
  EXPECT_NE(text.find(R"(vllm:cache_config_info{block_size="16",)"), std::string::npos);
  // e2e = queue + inference for a request with no frontend time.
  double e2e_sum = Value(*e2e, "vllm:e2e_request_latency_seconds_sum");
  double queue =
      Value(*Find(fams, "vllm:request_queue_time_seconds"), "vllm:request_queue_time_seconds_sum");
  double inference = Value(*Find(fams, "vllm:request_inference_time_seconds"),
                           "vllm:request_inference_time_seconds_sum");
  EXPECT_NEAR(e2e_sum, queue + inference, 1e-9);
}

}  // namespace
}  // namespace gpuscale::engine
