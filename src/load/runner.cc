#include "load/runner.h"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>

#include "load/sse.h"

namespace gpuscale::load {
namespace {

using SteadyClock = std::chrono::steady_clock;
using SteadyTime = SteadyClock::time_point;

double Seconds(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

// Sleeps until shortly before `when`, then spins: the OS wakes threads tens of microseconds
// late, and a send-time error under a millisecond needs better.
void PreciseWaitUntil(SteadyTime when) {
  constexpr auto kSpin = std::chrono::microseconds(200);
  auto now = SteadyClock::now();
  if (when - now > kSpin) std::this_thread::sleep_until(when - kSpin);
  while (SteadyClock::now() < when) {
  }
}

// Puts the calling thread at the lowest SCHED_FIFO priority for the scope's life and restores
// its policy after; active() false where that is not permitted (or not asked for).
class RealtimeScope {
 public:
  explicit RealtimeScope(bool want) {
    if (!want || pthread_getschedparam(pthread_self(), &old_policy_, &old_param_) != 0) return;
    sched_param p{};
    p.sched_priority = sched_get_priority_min(SCHED_FIFO);
    active_ = pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0;
  }
  ~RealtimeScope() {
    if (active_) pthread_setschedparam(pthread_self(), old_policy_, &old_param_);
  }
  RealtimeScope(const RealtimeScope&) = delete;
  RealtimeScope& operator=(const RealtimeScope&) = delete;
  bool active() const { return active_; }

 private:
  int old_policy_ = SCHED_OTHER;
  sched_param old_param_{};
  bool active_ = false;
};

// Steal seconds so far, from /proc/stat.
std::optional<double> CpuStealSeconds() {
  std::FILE* f = std::fopen("/proc/stat", "re");
  if (f == nullptr) return std::nullopt;
  char line[512];
  const bool read = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  if (!read) return std::nullopt;
  std::optional<std::uint64_t> ticks = ParseCpuStealTicks(line);
  long hz = ::sysconf(_SC_CLK_TCK);
  if (!ticks || hz <= 0) return std::nullopt;
  return static_cast<double>(*ticks) / static_cast<double>(hz);
}

struct Target {
  http::Url url;
  std::string text;
};

core::Result<std::vector<Target>> ResolveTargets(const RequestOptions& o) {
  if (o.targets.empty()) return core::InvalidArgument("targets: at least one URL is needed");
  std::vector<Target> out;
  for (std::size_t i = 0; i < o.targets.size(); ++i) {
    auto url = http::ParseUrl(o.targets[i]);
    if (!url.ok()) {
      return core::InvalidArgument("targets[" + std::to_string(i) + "] '" + o.targets[i] +
                                   "': " + url.error().message);
    }
    if (url->target.empty() || url->target == "/") url->target = std::string(ApiPath(o.api));
    Target t{*url, url->Origin() + url->target};
    out.push_back(std::move(t));
  }
  return out;
}

// State shared between the sending thread and the client's I/O threads. Held by shared_ptr so
// late callbacks (after a drain deadline) stay safe.
struct Shared {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<RequestRecord> records;  // guarded by mu; written at send and at completion
  bool closed = false;                // guarded by mu; set when Run returns
  std::int64_t in_flight = 0;         // guarded by mu
  std::int64_t deferred_sends = 0;    // closed loop: sends the sending thread must make
  std::atomic<std::int64_t> sent{0}, succeeded{0}, failed{0}, output_tokens{0};
  SteadyTime start;
  std::mutex request_fn_mu;
  bool request_fn_closed = false;  // guarded by request_fn_mu: Run has returned
  Runner::RequestFn on_request;
};

// One request in flight: what its callbacks learn before it ends.
struct Flight {
  std::size_t index = 0;
  // Its record: the send fields from Launch, the outcome from Conclude. Copied into the shared
  // store once, at the end, so completions hold the store's lock only for that move.
  RequestRecord record;
  bool stream = false;
  SteadyTime sent;
  SteadyTime last_token;
  int status = 0;
  bool got_head = false;
  int content_tokens = 0;
  std::optional<std::int64_t> usage_completion, usage_prompt;
  double ttft_s = -1;
  std::vector<float> itl_s;
  SseParser parser;
  std::vector<SseEvent> events;
  bool saw_done = false;
  std::string protocol_error;
  std::string error_body;  // the start of a non-2xx body
};

bool OnData(Flight& f, std::string_view data) {
  auto now = SteadyClock::now();
  if (f.status < 200 || f.status >= 300) {
    if (f.error_body.size() < 300) f.error_body.append(data.substr(0, 300 - f.error_body.size()));
    return true;
  }
  f.events.clear();
  f.parser.Feed(data, &f.events);
  for (const SseEvent& ev : f.events) {
    auto chunk = DecodeChunk(ev.data);
    if (!chunk.ok()) {
      if (f.protocol_error.empty()) f.protocol_error = chunk.error().message;
      continue;
    }
    if (chunk->done) f.saw_done = true;
    if (!chunk->error.empty() && f.protocol_error.empty()) {
      f.protocol_error = "error in stream: " + chunk->error;
    }
    if (chunk->completion_tokens) f.usage_completion = chunk->completion_tokens;
    if (chunk->prompt_tokens) f.usage_prompt = chunk->prompt_tokens;
    for (int i = 0; i < chunk->content_pieces; ++i) {
      if (f.content_tokens == 0) {
        f.ttft_s = Seconds(now - f.sent);
      } else {
        f.itl_s.push_back(static_cast<float>(Seconds(now - f.last_token)));
      }
      f.last_token = now;
      ++f.content_tokens;
    }
  }
  return true;
}

// Fills `r` from the finished flight and the client's result.
void Conclude(Flight& f, core::Result<http::Response>& result, RequestRecord& r) {
  auto now = SteadyClock::now();
  r.e2e_s = Seconds(now - f.sent);
  r.ttft_s = f.ttft_s;
  r.itl_s = std::move(f.itl_s);
  r.status = f.status;
  if (!result.ok()) {
    const core::Error& e = result.error();
    r.error_message = e.message;
    switch (e.code) {
      case core::Code::kDeadlineExceeded:
        r.error = ErrorKind::kTimeout;
        break;
      case core::Code::kCancelled:
        r.error = ErrorKind::kCancelled;
        break;
      case core::Code::kDataLoss:
        r.error = f.got_head ? ErrorKind::kTruncated : ErrorKind::kProtocol;
        break;
      default:
        r.error = f.got_head ? ErrorKind::kTruncated : ErrorKind::kConnect;
        break;
    }
  } else {
    const http::Response& resp = *result;
    r.status = resp.status;
    if (resp.status < 200 || resp.status >= 300) {
      r.error = resp.status >= 400 && resp.status < 500 ? ErrorKind::kHttp4xx : ErrorKind::kHttp5xx;
      std::string body = f.stream ? f.error_body : resp.body.substr(0, 300);
      r.error_message = "HTTP " + std::to_string(resp.status) + (body.empty() ? "" : ": " + body);
    } else if (f.stream) {
      if (!f.protocol_error.empty()) {
        r.error = ErrorKind::kProtocol;
        r.error_message = f.protocol_error;
      } else if (!f.saw_done || f.parser.pending() > 0) {
        r.error = ErrorKind::kTruncated;
        r.error_message =
            "the stream ended before [DONE] after " + std::to_string(f.content_tokens) + " tokens";
      }
    } else {
      auto info = DecodeResponse(resp.body);
      if (!info.ok()) {
        r.error = ErrorKind::kProtocol;
        r.error_message = info.error().message;
      } else if (!info->error.empty()) {
        r.error = ErrorKind::kProtocol;
        r.error_message = "error in response: " + info->error;
      } else {
        f.usage_completion = info->completion_tokens;
        f.usage_prompt = info->prompt_tokens;
      }
    }
  }
  r.output_tokens = static_cast<int>(f.usage_completion.value_or(f.content_tokens));
  if (f.usage_prompt) r.prompt_tokens = static_cast<int>(*f.usage_prompt);
}

class Sender : public std::enable_shared_from_this<Sender> {
 public:
  Sender(http::AsyncClient& client, RunOptions options, std::vector<Target> targets,
         std::shared_ptr<Shared> shared)
      : client_(client),
        options_(std::move(options)),
        targets_(std::move(targets)),
        shared_(std::move(shared)),
        rng_(options.seed) {}

  struct Prepared {
    http::Request request;
    int target = 0;
    int prompt_tokens = 0;
    int max_tokens = -1;
  };

  // Builds the next request. Thread-safe (closed-loop resends come from I/O threads).
  Prepared Prepare(const Arrival& a) {
    std::lock_guard lock(mu_);
    Prepared p;
    p.target = static_cast<int>(next_target_++ % targets_.size());
    const RequestOptions& o = options_.request;
    std::string prompt;
    if (a.prompt_tokens >= 0 || o.prompt.empty()) {
      p.prompt_tokens = a.prompt_tokens >= 0 ? a.prompt_tokens : o.prompt_tokens;
      prompt = SyntheticPrompt(p.prompt_tokens, rng_);
    } else {
      prompt = o.prompt;
      p.prompt_tokens = static_cast<int>(std::count(prompt.begin(), prompt.end(), ' ') + 1);
    }
    BodyOptions body{o.api, o.model, o.stream, SampleMaxTokens(o.max_tokens, a.output_tokens, rng_),
                     o.ignore_eos};
    p.max_tokens = body.max_tokens.value_or(-1);
    p.request.method = "POST";
    p.request.target = targets_[static_cast<std::size_t>(p.target)].url.target;
    p.request.headers.Set("Content-Type", "application/json");
    if (o.stream) p.request.headers.Set("Accept", "text/event-stream");
    p.request.body = BuildBody(body, prompt);
    return p;
  }

  // Records and sends one prepared request. `scheduled` is its planned send time.
  void Launch(Prepared p, SteadyTime scheduled, bool closed_loop) {
    auto f = std::make_shared<Flight>();
    f->stream = options_.request.stream;
    f->sent = SteadyClock::now();
    RequestRecord& r = f->record;
    r.target = p.target;
    r.scheduled_s = Seconds((closed_loop ? f->sent : scheduled) - shared_->start);
    r.sent_s = Seconds(f->sent - shared_->start);
    r.prompt_tokens = p.prompt_tokens;
    r.max_tokens = p.max_tokens;
    {
      std::lock_guard lock(shared_->mu);
      if (shared_->closed) return;  // a closed-loop resend racing the end of the run
      f->index = shared_->records.size();
      r.index = static_cast<std::int64_t>(f->index);
      shared_->records.push_back(r);
      ++shared_->in_flight;
    }
    shared_->sent.fetch_add(1);
    http::AsyncCallbacks cb;
    // on_done owns the flight; the client calls on_headers and on_data only before on_done and
    // drops all three together, so the others may hold a plain pointer (no allocation for the
    // std::function, no reference count).
    Flight* raw = f.get();
    cb.on_headers = [raw](const http::Response& head) {
      raw->status = head.status;
      raw->got_head = true;
    };
    if (f->stream) cb.on_data = [raw](std::string_view data) { return OnData(*raw, data); };
    // The sender outlives Run() while late answers arrive after a drain deadline.
    cb.on_done = [self = shared_from_this(), f = std::move(f),
                  closed_loop](core::Result<http::Response> result) {
      self->Finish(*f, result, closed_loop);
    };
    client_.Send(targets_[static_cast<std::size_t>(p.target)].url, std::move(p.request),
                 std::move(cb), options_.request.timeout);
  }

  // Closed loop: whether another request may start now (bounds and stop).
  bool MayContinue() const {
    return !stop_sending_.load() && shared_->sent.load() < options_.max_requests &&
           SteadyClock::now() - shared_->start < deadline_;
  }
  void set_deadline(SteadyClock::duration d) { deadline_ = d; }
  void StopSending() { stop_sending_.store(true); }

 private:
  void Finish(Flight& f, core::Result<http::Response>& result, bool closed_loop) {
    RequestRecord& r = f.record;
    Conclude(f, result, r);
    const bool ok = r.ok();
    const int tokens = r.output_tokens;
    const bool report = static_cast<bool>(shared_->on_request);
    RequestRecord done;
    if (report) done = r;
    bool idle = false;
    {
      std::lock_guard lock(shared_->mu);
      if (!shared_->closed) {
        shared_->records[f.index] = std::move(r);
        (ok ? shared_->succeeded : shared_->failed).fetch_add(1);
        if (ok) shared_->output_tokens.fetch_add(tokens);
      }
      if (!report) idle = --shared_->in_flight == 0;
    }
    if (report) {
      {
        std::lock_guard lock(shared_->request_fn_mu);
        if (!shared_->request_fn_closed) shared_->on_request(done);
      }
      // Counted out only after the callback, so a drained run has made every callback.
      std::lock_guard lock(shared_->mu);
      idle = --shared_->in_flight == 0;
    }
    // The sending thread waits only for the end of what is in flight (or for deferred sends,
    // notified below): waking it on every answer would cost a context switch per request.
    if (idle) shared_->cv.notify_all();
    if (closed_loop && MayContinue()) {
      // Send the next one from here unless nested inside another completion (a client that
      // fails synchronously would otherwise recurse): then the sending thread does it.
      thread_local int depth = 0;
      if (depth == 0) {
        ++depth;
        Launch(Prepare(Arrival{}), SteadyClock::now(), true);
        --depth;
      } else {
        {
          std::lock_guard lock(shared_->mu);
          ++shared_->deferred_sends;
        }
        shared_->cv.notify_all();
      }
    }
  }

  http::AsyncClient& client_;
  const RunOptions options_;
  std::vector<Target> targets_;
  std::shared_ptr<Shared> shared_;
  std::mutex mu_;  // guards rng_ and next_target_
  core::Rng rng_;
  std::uint64_t next_target_ = 0;
  std::atomic<bool> stop_sending_{false};
  SteadyClock::duration deadline_{};
};

Progress Snapshot(const Shared& s, SteadyTime now) {
  Progress p;
  p.elapsed_s = Seconds(now - s.start);
  p.sent = s.sent.load();
  p.succeeded = s.succeeded.load();
  p.failed = s.failed.load();
  p.in_flight = p.sent - p.succeeded - p.failed;
  p.output_tokens = s.output_tokens.load();
  return p;
}

}  // namespace

Runner::Runner(http::AsyncClient& client, const core::Clock& clock, RunOptions options)
    : client_(client), clock_(clock), options_(std::move(options)) {}

core::Result<RunResult> Runner::Run(ArrivalProcess* arrivals, const ProgressFn& on_progress,
                                    const RequestFn& on_request) {
  GPUSCALE_ASSIGN_OR_RETURN(std::vector<Target> targets, ResolveTargets(options_.request));
  if (arrivals == nullptr && options_.concurrency <= 0) {
    return core::InvalidArgument("a run needs arrivals (a rate or a trace) or a concurrency > 0");
  }
  if (options_.duration <= core::Duration::zero()) {
    return core::InvalidArgument("duration: expected a positive duration");
  }
  const std::int64_t max_requests =
      std::clamp<std::int64_t>(options_.max_requests, 0, kHardMaxRequests);
  const core::Duration duration = std::min(options_.duration, kHardMaxDuration);
  RunOptions bounded = options_;
  bounded.max_requests = max_requests;

  RunResult result;
  const std::optional<double> steal_before = CpuStealSeconds();
  for (const Target& t : targets) result.targets.push_back(t.text);
  auto shared = std::make_shared<Shared>();
  shared->on_request = on_request;
  auto sender_ptr = std::make_shared<Sender>(client_, bounded, targets, shared);
  Sender& sender = *sender_ptr;
  sender.set_deadline(duration);
  result.started_unix_s = core::ToUnixSeconds(clock_.Now());
  shared->start = SteadyClock::now();
  const SteadyTime end_of_sends = shared->start + duration;
  SteadyTime next_progress = shared->start + options_.progress_interval;
  auto progress = [&](SteadyTime now) {
    if (on_progress && options_.progress_interval > core::Duration::zero() &&
        now >= next_progress) {
      on_progress(Snapshot(*shared, now));
      while (next_progress <= now) next_progress += options_.progress_interval;
    }
  };

  if (arrivals != nullptr) {
    // Open loop: each send at its scheduled time, whatever the answers do.
    RealtimeScope realtime(options_.realtime_sends);
    result.realtime_sends = realtime.active();
    std::optional<Arrival> next = arrivals->Next();
    std::int64_t count = 0;
    while (next && count < max_requests && !Stopped()) {
      SteadyTime when = shared->start + next->offset;
      if (when >= end_of_sends) break;
      Sender::Prepared prepared = sender.Prepare(*next);
      // Wait in slices so progress lines and Stop() stay live during long gaps.
      while (true) {
        SteadyTime now = SteadyClock::now();
        progress(now);
        if (Stopped()) break;
        SteadyTime slice = now + std::chrono::milliseconds(50);
        if (on_progress && next_progress < slice) slice = next_progress;
        if (when <= slice) {
          PreciseWaitUntil(when);
          break;
        }
        std::this_thread::sleep_until(slice);
      }
      if (Stopped()) break;
      sender.Launch(std::move(prepared), when, false);
      ++count;
      next = arrivals->Next();
    }
  } else {
    // Closed loop: start `concurrency` requests; each completion starts the next.
    const std::int64_t initial = std::min<std::int64_t>(options_.concurrency, max_requests);
    for (std::int64_t i = 0; i < initial && !Stopped(); ++i) {
      sender.Launch(sender.Prepare(Arrival{}), SteadyClock::now(), true);
    }
    while (true) {
      SteadyTime now = SteadyClock::now();
      progress(now);
      if (Stopped() || now >= end_of_sends || shared->sent.load() >= max_requests) break;
      std::int64_t deferred = 0;
      {
        std::unique_lock lock(shared->mu);
        SteadyTime wake = std::min(end_of_sends, now + std::chrono::milliseconds(50));
        if (on_progress) wake = std::min(wake, next_progress);
        shared->cv.wait_until(lock, wake, [&] {
          return shared->deferred_sends > 0 || Stopped() ||
                 (shared->in_flight == 0 && shared->sent.load() >= max_requests);
        });
        std::swap(deferred, shared->deferred_sends);
      }
      for (std::int64_t i = 0; i < deferred && sender.MayContinue(); ++i) {
        sender.Launch(sender.Prepare(Arrival{}), SteadyClock::now(), true);
      }
    }
  }
  sender.StopSending();

  // Drain: wait for what is in flight, up to the drain time after the last send.
  core::Duration drain = options_.drain >= core::Duration::zero()
                             ? options_.drain
                             : core::Duration(options_.request.timeout) + std::chrono::seconds(1);
  SteadyTime drain_until = SteadyClock::now() + drain;
  while (true) {
    SteadyTime now = SteadyClock::now();
    progress(now);
    std::unique_lock lock(shared->mu);
    SteadyTime wake = std::min(drain_until, now + std::chrono::milliseconds(50));
    if (on_progress) wake = std::min(wake, next_progress);
    if (shared->cv.wait_until(lock, wake, [&] { return shared->in_flight == 0; })) break;
    if (SteadyClock::now() >= drain_until) break;
  }

  SteadyTime finished = SteadyClock::now();
  {
    std::lock_guard lock(shared->request_fn_mu);
    shared->request_fn_closed = true;
  }
  {
    std::lock_guard lock(shared->mu);
    shared->closed = true;
    result.records.reserve(shared->records.size());
    for (RequestRecord& r : shared->records) {
      if (r.e2e_s < 0 && r.error == ErrorKind::kNone) {
        r.error = ErrorKind::kCancelled;
        r.error_message = "no answer before the run ended";
        r.e2e_s = Seconds(finished - shared->start) - r.sent_s;
      }
      result.records.push_back(std::move(r));
    }
    shared->records.clear();
  }
  double last_end = 0;
  for (const RequestRecord& r : result.records) {
    last_end = std::max(last_end, r.sent_s + std::max(0.0, r.e2e_s));
  }
  result.duration_s = std::max(last_end, Seconds(std::min(finished, end_of_sends) - shared->start));
  if (const std::optional<double> steal_after = CpuStealSeconds(); steal_before && steal_after) {
    result.cpu_steal_s = std::max(0.0, *steal_after - *steal_before);
  }
  if (on_progress) on_progress(Snapshot(*shared, finished));
  return result;
}

std::optional<std::uint64_t> ParseCpuStealTicks(std::string_view proc_stat) {
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
  std::size_t at = 0;
  while (at < proc_stat.size()) {
    std::size_t end = proc_stat.find('\n', at);
    std::string_view line =
        proc_stat.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    at = end == std::string_view::npos ? proc_stat.size() : end + 1;
    if (!line.starts_with("cpu ")) continue;
    std::uint64_t value = 0;
    std::size_t pos = 3;
    for (int field = 1; field <= 8; ++field) {
      while (pos < line.size() && line[pos] == ' ') ++pos;
      auto [next, ec] = std::from_chars(line.data() + pos, line.data() + line.size(), value);
      if (ec != std::errc()) return std::nullopt;
      pos = static_cast<std::size_t>(next - line.data());
    }
    return value;
  }
  return std::nullopt;
}

core::Result<std::vector<SweepPoint>> RunSweep(http::AsyncClient& client, const core::Clock& clock,
                                               const RunOptions& options,
                                               const std::vector<double>& rates, bool poisson,
                                               const Slo& slo, RunResult* all,
                                               const Runner::ProgressFn& on_progress,
                                               const std::atomic<bool>* stop) {
  std::vector<SweepPoint> points;
  double offset = 0;
  core::Rng seeds(options.seed);
  for (double rate : rates) {
    if (stop != nullptr && stop->load()) break;
    if (!(rate > 0)) return core::InvalidArgument("sweep: rates must be positive");
    Runner runner(client, clock, options);
    std::unique_ptr<ArrivalProcess> arrivals =
        poisson ? MakePoissonArrivals(rate, seeds.Fork()) : MakeConstantArrivals(rate);
    GPUSCALE_ASSIGN_OR_RETURN(RunResult r, runner.Run(arrivals.get(), on_progress));
    points.push_back({rate, Summarize(r.records, slo, r.duration_s)});
    if (all != nullptr) {
      if (all->targets.empty()) {
        all->targets = r.targets;
        all->started_unix_s = r.started_unix_s;
        all->realtime_sends = r.realtime_sends;
      }
      for (RequestRecord& rec : r.records) {
        rec.index = static_cast<std::int64_t>(all->records.size());
        rec.scheduled_s += offset;
        rec.sent_s += offset;
        all->records.push_back(std::move(rec));
      }
      offset += r.duration_s;
      all->duration_s = offset;
    }
  }
  return points;
}

core::Result<std::vector<double>> ParseSweep(std::string_view text) {
  auto number = [&](std::string_view s) -> core::Result<double> {
    double v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || !(v > 0)) {
      return core::InvalidArgument("sweep '" + std::string(text) +
                                   "': expected positive numbers, found '" + std::string(s) + "'");
    }
    return v;
  };
  std::vector<double> rates;
  if (text.find(':') != std::string_view::npos) {
    std::size_t a = text.find(':'), b = text.find(':', a + 1);
    if (b == std::string_view::npos) {
      return core::InvalidArgument("sweep '" + std::string(text) + "': expected FROM:TO:STEPS");
    }
    GPUSCALE_ASSIGN_OR_RETURN(double from, number(text.substr(0, a)));
    GPUSCALE_ASSIGN_OR_RETURN(double to, number(text.substr(a + 1, b - a - 1)));
    GPUSCALE_ASSIGN_OR_RETURN(double steps, number(text.substr(b + 1)));
    int n = static_cast<int>(steps);
    if (n < 1 || n > 1000 || n != steps) {
      return core::InvalidArgument("sweep '" + std::string(text) +
                                   "': STEPS must be an integer from 1 to 1000");
    }
    for (int i = 0; i < n; ++i) rates.push_back(n == 1 ? from : from + (to - from) * i / (n - 1));
    return rates;
  }
  std::size_t start = 0;
  while (true) {
    std::size_t c = text.find(',', start);
    GPUSCALE_ASSIGN_OR_RETURN(
        double v, number(text.substr(start, c == std::string_view::npos ? c : c - start)));
    rates.push_back(v);
    if (c == std::string_view::npos) break;
    start = c + 1;
  }
  return rates;
}

}  // namespace gpuscale::load
