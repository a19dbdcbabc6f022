#include "sim/simulator.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <memory>
#include <queue>

namespace gpuscale::sim {
namespace {

using core::Timestamp;

double Seconds(Timestamp t) { return core::ToSeconds(t.time_since_epoch()); }
Duration FromSeconds(double s) {
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(std::max(0.0, s)));
}

// Event kinds in the order they run at one instant: engine work first, then arrivals, then the
// metrics pipeline in pipeline order, so a change is visible downstream at the same instant.
enum class Kind { kStepEnd, kPodReady, kArrival, kCollect, kScrape, kRule, kSync };

struct Event {
  Timestamp time;
  Kind kind;
  std::uint64_t seq;  // ties at one time and kind break by insertion order
  int pod;
  bool operator>(const Event& o) const {
    if (time != o.time) return time > o.time;
    if (kind != o.kind) return kind > o.kind;
    return seq > o.seq;
  }
};

struct Pod {
  int index = 0;
  std::string name;
  std::unique_ptr<engine::Engine> engine;
  Timestamp created;
  Timestamp ready_since;
  bool ready = false;
  bool draining = false;
  bool gone = false;
  bool stepping = false;
  const engine::StepResult* last = nullptr;
  Timestamp step_start;
  Duration step_duration{0};
  Duration busy_done{0};        // completed steps
  Duration busy_at_collect{0};  // busy_until at the previous collect
  int in_engine = 0;            // requests added and not finished
  // Pipeline stages (-1: nothing yet).
  double exporter_gpu = -1;
  double scraped_gpu = -1;
  double scraped_running = -1;
  double scraped_waiting = -1;
  double rule_gpu = -1;

  Duration BusyUntil(Timestamp t) const {
    Duration b = busy_done;
    if (stepping) b += std::clamp(t - step_start, Duration{0}, step_duration);
    return b;
  }
};

class Sim {
 public:
  Sim(const Options& o, const hpa::HpaSpec& spec, load::ArrivalProcess& arrivals, int prompt,
      int output)
      : o_(o),
        autoscaler_(spec, o.hpa),
        spec_(spec),
        arrivals_(arrivals),
        default_prompt_(prompt),
        default_output_(output),
        rng_(o.seed) {}

  Result Run() {
    desired_ = o_.initial_replicas;
    for (int i = 0; i < o_.initial_replicas; ++i) {
      Pod& p = NewPod(Timestamp{});
      p.ready = true;
      p.ready_since = Timestamp{};
    }
    PullArrival();
    Push(Timestamp{} + o_.collect_interval, Kind::kCollect, -1);
    Push(Timestamp{} + o_.scrape_interval, Kind::kScrape, -1);
    Push(Timestamp{} + o_.rule_interval, Kind::kRule, -1);
    Push(Timestamp{} + o_.sync_period, Kind::kSync, -1);
    while (!queue_.empty()) {
      Event e = queue_.top();
      queue_.pop();
      now_ = e.time;
      ++result_.events_processed;
      switch (e.kind) {
        case Kind::kArrival:
          OnArrival();
          break;
        case Kind::kStepEnd:
          OnStepEnd(pods_[e.pod]);
          break;
        case Kind::kPodReady:
          OnPodReady(pods_[e.pod]);
          break;
        case Kind::kCollect:
          OnCollect();
          break;
        case Kind::kScrape:
          OnScrape();
          break;
        case Kind::kRule:
          OnRule();
          break;
        case Kind::kSync:
          OnSync();
          break;
      }
    }
    double end = Seconds(last_finish_);
    result_.end_s = end;
    for (const Pod& p : pods_) {
      if (!p.gone) result_.gpu_hours += std::max(0.0, end - Seconds(p.created)) / 3600.0;
    }
    // Unfinished requests (none unless a pod never became ready) are dropped.
    std::vector<RequestRecord> done;
    done.reserve(records_.size());
    for (std::size_t i = 0; i < records_.size(); ++i) {
      if (finished_[i]) done.push_back(records_[i]);
    }
    result_.requests = std::move(done);
    return std::move(result_);
  }

 private:
  void Push(Timestamp t, Kind k, int pod) { queue_.push(Event{t, k, seq_++, pod}); }

  bool Quiet() const {
    if (!arrivals_done_ || !router_queue_.empty()) return false;
    for (const Pod& p : pods_) {
      if (!p.gone && p.in_engine > 0) return false;
    }
    return true;
  }

  Pod& NewPod(Timestamp t) {
    Pod p;
    p.index = static_cast<int>(pods_.size());
    p.name = fmt::format("vllm-gemma-deployment-{}", p.index);
    p.engine = std::make_unique<engine::Engine>(o_.profile, o_.engine);
    p.created = t;
    pods_.push_back(std::move(p));
    return pods_.back();
  }

  void PullArrival() {
    std::optional<load::Arrival> a = arrivals_.Next();
    // As `gpuscale load run --duration`: no send starts at or after the horizon, so the same
    // flags describe the same requests in both.
    if (!a || (o_.horizon > Duration{0} && a->offset >= o_.horizon)) {
      arrivals_done_ = true;
      return;
    }
    next_ = *a;
    Push(Timestamp{} + a->offset, Kind::kArrival, -1);
  }

  void OnArrival() {
    RequestRecord r;
    r.arrival_s = Seconds(now_);
    r.prompt_tokens = next_.prompt_tokens > 0 ? next_.prompt_tokens : default_prompt_;
    r.output_tokens = next_.output_tokens > 0 ? next_.output_tokens : default_output_;
    records_.push_back(r);
    finished_.push_back(false);
    arrival_ts_.push_back(now_);
    Route(records_.size() - 1);
    PullArrival();
  }

  Pod* Pick() {
    Pod* best = nullptr;
    const int n = static_cast<int>(pods_.size());
    if (o_.router == RouterKind::kRoundRobin) {
      for (int k = 0; k < n; ++k) {
        Pod& p = pods_[(rr_ + k) % n];
        if (p.ready && !p.draining && !p.gone) {
          rr_ = (p.index + 1) % n;
          return &p;
        }
      }
      return nullptr;
    }
    for (Pod& p : pods_) {
      if (!p.ready || p.draining || p.gone) continue;
      if (best == nullptr || p.in_engine < best->in_engine) best = &p;
    }
    return best;
  }

  void Route(std::size_t id) {
    Pod* p = Pick();
    if (p == nullptr) {
      router_queue_.push_back(id);
      return;
    }
    engine::RequestSpec spec;
    spec.id = id;
    spec.prompt_tokens = records_[id].prompt_tokens;
    spec.output_tokens = records_[id].output_tokens;
    if (!p->engine->Add(spec, now_).ok()) {
      ++rejected_;  // cannot fit this engine at all: never finishes
      return;
    }
    ++p->in_engine;
    if (!p->stepping) StartStep(*p);
  }

  void StartStep(Pod& p) {
    const engine::StepResult& r = p.engine->Step(now_);
    p.last = &r;
    p.stepping = true;
    p.step_start = now_;
    p.step_duration = std::max(r.duration, Duration{1});
    Push(now_ + p.step_duration, Kind::kStepEnd, p.index);
  }

  void OnStepEnd(Pod& p) {
    p.busy_done += p.step_duration;
    p.stepping = false;
    for (const engine::FinishedRequest& f : p.last->finished) {
      --p.in_engine;
      const std::size_t id = f.id;
      RequestRecord& r = records_[id];
      const Timestamp arrival = arrival_ts_[id];
      const Timestamp first = f.first_token.value_or(f.finished);
      r.ttft_s = core::ToSeconds(first - arrival);
      r.e2e_s = core::ToSeconds(f.finished - arrival);
      r.queue_s = core::ToSeconds(f.scheduled.value_or(first) - arrival);
      r.itl_s =
          f.output_tokens > 1 ? core::ToSeconds(f.finished - first) / (f.output_tokens - 1) : 0.0;
      r.output_tokens = f.output_tokens;
      r.met_slo = first - arrival <= o_.slo_ttft && r.itl_s <= core::ToSeconds(o_.slo_itl);
      finished_[id] = true;
      last_finish_ = std::max(last_finish_, now_);
    }
    if (p.engine->HasWork()) {
      StartStep(p);
    } else if (p.draining) {
      Remove(p);
    }
  }

  void OnPodReady(Pod& p) {
    if (p.gone || p.draining) return;
    p.ready = true;
    p.ready_since = now_;
    std::deque<std::size_t> waiting;
    waiting.swap(router_queue_);
    for (std::size_t id : waiting) Route(id);
  }

  void Remove(Pod& p) {
    p.gone = true;
    p.ready = false;
    result_.gpu_hours += core::ToSeconds(now_ - p.created) / 3600.0;
  }

  void OnCollect() {
    for (Pod& p : pods_) {
      if (p.gone) continue;
      const Duration b = p.BusyUntil(now_);
      p.exporter_gpu =
          100.0 * core::ToSeconds(b - p.busy_at_collect) / core::ToSeconds(o_.collect_interval);
      p.busy_at_collect = b;
    }
    if (!Quiet()) Push(now_ + o_.collect_interval, Kind::kCollect, -1);
  }

  void OnScrape() {
    for (Pod& p : pods_) {
      if (p.gone || !p.ready) continue;
      p.scraped_gpu = p.exporter_gpu;
      p.scraped_running = p.engine->stats().num_running;
      p.scraped_waiting = p.engine->stats().num_waiting;
    }
    if (!Quiet()) Push(now_ + o_.scrape_interval, Kind::kScrape, -1);
  }

  void OnRule() {
    for (Pod& p : pods_) {
      if (!p.gone) p.rule_gpu = p.scraped_gpu;
    }
    if (!Quiet()) Push(now_ + o_.rule_interval, Kind::kRule, -1);
  }

  void OnSync() {
    // The observed state as the controller reads it from the pod list and the custom metrics
    // API (as local::BuildState does for `gpuscale up`, without its HTTP-facing library).
    hpa::State state;
    state.time = now_;
    state.spec_replicas = desired_;
    std::map<std::string, std::map<std::string, double>> values;
    int ready = 0, current = 0;
    for (const Pod& p : pods_) {
      if (p.gone || p.draining) continue;
      ++current;
      hpa::Pod pod;
      pod.name = p.name;
      pod.labels = {{"app", "gemma-server"}};
      pod.phase = hpa::PodPhase::kRunning;
      pod.start_time = p.created;
      hpa::PodReadyCondition cond;
      cond.status = p.ready ? hpa::ConditionStatus::kTrue : hpa::ConditionStatus::kFalse;
      cond.last_transition_time = p.ready ? p.ready_since : p.created;
      pod.ready = cond;
      state.pods.push_back(std::move(pod));
      if (!p.ready) continue;
      ++ready;
      if (p.rule_gpu >= 0) values[std::string(kGpuMetric)][p.name] = p.rule_gpu;
      if (p.scraped_running >= 0) values[std::string(kRunningMetric)][p.name] = p.scraped_running;
      if (p.scraped_waiting >= 0) values[std::string(kWaitingMetric)][p.name] = p.scraped_waiting;
    }
    state.status_replicas = current;
    for (const hpa::MetricSpec& m : spec_.metrics) {
      if (m.type != hpa::MetricSourceType::kPods) continue;
      hpa::PodsMetricReading reading;
      reading.metric_name = m.metric_name;
      reading.timestamp = now_;
      auto it = values.find(m.metric_name);
      if (it != values.end()) {
        for (const auto& [pod, v] : it->second) {
          reading.values_milli[pod] = static_cast<std::int64_t>(std::llround(v * 1000.0));
        }
      }
      if (reading.values_milli.empty()) {
        reading.error =
            "unable to fetch metrics from custom metrics API: the server could not "
            "find the metric " +
            m.metric_name + " for pods";
      }
      state.pods_metrics.push_back(std::move(reading));
    }
    hpa::Decision d = autoscaler_.Sync(state);
    SyncSample s;
    s.time_s = Seconds(now_);
    s.current = current;
    s.ready = ready;
    for (const auto& [name, per_pod] : values) {
      double sum = 0;
      for (const auto& [pod, v] : per_pod) sum += v;
      s.metrics[name] = per_pod.empty() ? 0 : sum / static_cast<double>(per_pod.size());
    }
    if (d.rescale && d.desired_replicas != desired_) {
      result_.events.push_back(
          ScaleEvent{Seconds(now_), desired_, d.desired_replicas, d.rescale_reason});
      Scale(d.desired_replicas);
    }
    s.desired = desired_;
    result_.syncs.push_back(std::move(s));
    result_.max_replicas = std::max(result_.max_replicas, current);
    if (!Quiet()) Push(now_ + o_.sync_period, Kind::kSync, -1);
  }

  void Scale(int desired) {
    int current = 0;
    for (const Pod& p : pods_) current += (!p.gone && !p.draining) ? 1 : 0;
    desired_ = desired;
    for (; current < desired; ++current) {
      Duration startup = o_.scheduling.Sample(rng_) + o_.image_pull.Sample(rng_) +
                         o_.model_load.Sample(rng_) + o_.readiness.Sample(rng_);
      Pod& p = NewPod(now_);
      Push(now_ + startup, Kind::kPodReady, p.index);
    }
    // As a ReplicaSet picks: pods not ready first, then the newest.
    for (int pass = 0; pass < 2 && current > desired; ++pass) {
      for (auto it = pods_.rbegin(); it != pods_.rend() && current > desired; ++it) {
        Pod& p = *it;
        if (p.gone || p.draining || (pass == 0 && p.ready)) continue;
        --current;
        if (!p.ready) {
          Remove(p);
          continue;
        }
        p.draining = true;
        if (p.in_engine == 0 && !p.stepping) Remove(p);
      }
    }
  }

  const Options& o_;
  hpa::Autoscaler autoscaler_;
  const hpa::HpaSpec& spec_;
  load::ArrivalProcess& arrivals_;
  int default_prompt_;
  int default_output_;
  core::Rng rng_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> queue_;
  std::uint64_t seq_ = 0;
  Timestamp now_{};
  Timestamp last_finish_{};
  std::deque<Pod> pods_;
  std::deque<std::size_t> router_queue_;
  int rr_ = 0;
  int desired_ = 0;
  bool arrivals_done_ = false;
  load::Arrival next_;
  std::vector<RequestRecord> records_;
  std::vector<bool> finished_;
  std::vector<Timestamp> arrival_ts_;
  int rejected_ = 0;
  Result result_;
};

}  // namespace

Duration DurationDist::Sample(core::Rng& rng) const {
  switch (kind) {
    case Kind::kFixed:
      return FromSeconds(a);
    case Kind::kUniform:
      return FromSeconds(a + (b - a) * rng.Uniform());
    case Kind::kNormal:
      return FromSeconds(rng.Normal(a, b));
    case Kind::kLogNormal:
      return FromSeconds(rng.LogNormal(a, b));
  }
  return Duration{0};
}

std::string DurationDist::ToString() const {
  switch (kind) {
    case Kind::kFixed:
      return fmt::format("fixed:{}", a);
    case Kind::kUniform:
      return fmt::format("uniform:{}:{}", a, b);
    case Kind::kNormal:
      return fmt::format("normal:{}:{}", a, b);
    case Kind::kLogNormal:
      return fmt::format("lognormal:{}:{}", a, b);
  }
  return "";
}

core::Result<DurationDist> ParseDurationDist(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  DurationDist d;
  std::size_t want = 3;
  if (parts[0] == "fixed") {
    d.kind = DurationDist::Kind::kFixed;
    want = 2;
  } else if (parts[0] == "uniform") {
    d.kind = DurationDist::Kind::kUniform;
  } else if (parts[0] == "normal") {
    d.kind = DurationDist::Kind::kNormal;
  } else if (parts[0] == "lognormal") {
    d.kind = DurationDist::Kind::kLogNormal;
  } else {
    return core::InvalidArgument(fmt::format(
        "'{}': expected fixed:S, uniform:LO:HI, normal:MEAN:SD or lognormal:MU:SIGMA", text));
  }
  if (parts.size() != want) {
    return core::InvalidArgument(fmt::format("'{}': {} takes {} number(s), found {}", text,
                                             parts[0], want - 1, parts.size() - 1));
  }
  double* out[2] = {&d.a, &d.b};
  for (std::size_t i = 1; i < parts.size(); ++i) {
    std::string s(parts[i]);
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
      return core::InvalidArgument(fmt::format("'{}': '{}' is not a number", text, s));
    }
    *out[i - 1] = v;
  }
  if (d.kind == DurationDist::Kind::kUniform && d.b < d.a) {
    return core::InvalidArgument(fmt::format("'{}': uniform needs LO <= HI", text));
  }
  if ((d.kind == DurationDist::Kind::kFixed || d.kind == DurationDist::Kind::kUniform) && d.a < 0) {
    return core::InvalidArgument(fmt::format("'{}': durations cannot be negative", text));
  }
  return d;
}

core::Result<Result> Simulate(const Options& options, const hpa::HpaSpec& spec,
                              load::ArrivalProcess& arrivals, int default_prompt,
                              int default_output) {
  for (auto [name, d] : {std::pair{"collect_interval", options.collect_interval},
                         std::pair{"scrape_interval", options.scrape_interval},
                         std::pair{"rule_interval", options.rule_interval},
                         std::pair{"sync_period", options.sync_period}}) {
    if (d <= Duration{0}) {
      return core::InvalidArgument(fmt::format("{}: must be positive", name));
    }
  }
  if (options.initial_replicas < 1) {
    return core::InvalidArgument(
        fmt::format("initial_replicas: must be at least 1, found {}", options.initial_replicas));
  }
  Sim sim(options, spec, arrivals, default_prompt, default_output);
  return sim.Run();
}

double Percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::size_t k = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  k = std::clamp<std::size_t>(k, 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

Summary Summarize(const Result& r) {
  Summary s;
  s.requests = r.requests.size();
  std::vector<double> ttft, itl, e2e, queue;
  std::size_t met = 0;
  for (const RequestRecord& q : r.requests) {
    ttft.push_back(q.ttft_s);
    itl.push_back(q.itl_s);
    e2e.push_back(q.e2e_s);
    queue.push_back(q.queue_s);
    met += q.met_slo ? 1 : 0;
  }
  s.slo_attainment = s.requests ? static_cast<double>(met) / static_cast<double>(s.requests) : 0;
  s.ttft_p50_s = Percentile(ttft, 0.5);
  s.ttft_p99_s = Percentile(ttft, 0.99);
  s.itl_p50_s = Percentile(itl, 0.5);
  s.itl_p99_s = Percentile(itl, 0.99);
  s.e2e_p50_s = Percentile(e2e, 0.5);
  s.e2e_p99_s = Percentile(e2e, 0.99);
  s.queue_p50_s = Percentile(queue, 0.5);
  s.queue_p99_s = Percentile(std::move(queue), 0.99);
  s.gpu_hours = r.gpu_hours;
  s.scale_events = static_cast<int>(r.events.size());
  s.max_replicas = r.max_replicas;
  return s;
}

}  // namespace gpuscale::sim
