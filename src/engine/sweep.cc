#include "engine/sweep.h"

#include <algorithm>
#include <vector>

namespace gpuscale::engine {

SweepPoint RunClosedLoop(const Profile& profile, const EngineOptions& options,
                         const SweepOptions& sweep) {
  Engine engine(profile, options);
  struct Client {
    Timestamp arrival;
    Timestamp last_token;
  };
  std::vector<Client> clients(static_cast<std::size_t>(sweep.concurrency));
  const Timestamp t0{};
  const Timestamp measure_from = t0 + sweep.warmup;
  const Timestamp stop = measure_from + sweep.measure;
  RequestId next_id = 0;
  auto submit = [&](std::size_t client, Timestamp now) {
    // Request ids encode the client so that events map back without a lookup table.
    RequestId id = next_id++ * static_cast<RequestId>(sweep.concurrency) + client;
    RequestSpec spec{id, sweep.prompt_tokens, sweep.output_tokens, FinishReason::kLength};
    core::Status s = engine.Add(spec, now);
    GPUSCALE_CHECK(s.ok());
    clients[client].arrival = now;
  };
  // Spread the first arrivals over one request's unloaded lifetime, so clients with identical
  // request shapes do not arrive (and finish) in lockstep waves.
  Duration lifetime = engine.StepTime(0, 1, sweep.prompt_tokens) * sweep.output_tokens;
  std::vector<Timestamp> first_arrival(clients.size());
  for (std::size_t c = 0; c < clients.size(); ++c) {
    first_arrival[c] = t0 + lifetime * static_cast<Duration::rep>(c) / sweep.concurrency;
  }
  std::size_t next_first = 0;  // clients before this one have sent their first request
  SweepPoint p;
  p.concurrency = sweep.concurrency;
  double ttft_sum = 0;
  std::uint64_t ttft_count = 0;
  double itl_sum = 0;
  std::uint64_t itl_count = 0;
  std::uint64_t tokens_measured = 0;
  Timestamp now = t0;
  std::uint64_t preempt_before = 0;
  bool measuring = false;
  while (now < stop) {
    while (next_first < clients.size() && first_arrival[next_first] <= now) {
      submit(next_first, first_arrival[next_first]);
      ++next_first;
    }
    if (!engine.HasWork()) {
      if (next_first == clients.size()) break;
      now = first_arrival[next_first];
      continue;
    }
    if (!measuring && now >= measure_from) {
      measuring = true;
      preempt_before = engine.stats().preemptions_total;
    }
    const StepResult& r = engine.Step(now);
    Timestamp end = r.end();
    for (const TokenEvent& t : r.tokens) {
      Client& c = clients[t.id % static_cast<RequestId>(sweep.concurrency)];
      bool counted = c.arrival >= measure_from && end <= stop;
      if (t.first) {
        if (counted) {
          ttft_sum += core::ToSeconds(end - c.arrival);
          ++ttft_count;
        }
      } else if (counted) {
        itl_sum += core::ToSeconds(end - c.last_token);
        ++itl_count;
      }
      if (end >= measure_from && end <= stop)
        tokens_measured += static_cast<std::uint64_t>(t.count);
      c.last_token = end;
    }
    for (const FinishedRequest& f : r.finished) {
      std::size_t client = f.id % static_cast<RequestId>(sweep.concurrency);
      if (clients[client].arrival >= measure_from && end <= stop) ++p.requests;
      submit(client, end);
    }
    p.kv_usage_max = std::max(p.kv_usage_max, engine.stats().kv_usage);
    now = end;
  }
  // TTFT is averaged over measured requests that got a first token (finished or not).
  p.ttft_mean_s = ttft_count ? ttft_sum / static_cast<double>(ttft_count) : 0;
  p.preemptions = engine.stats().preemptions_total - preempt_before;
  p.itl_mean_s = itl_count ? itl_sum / static_cast<double>(itl_count) : 0;
  p.output_tokens_per_s = static_cast<double>(tokens_measured) / core::ToSeconds(sweep.measure);
  return p;
}

}  // namespace gpuscale::engine
