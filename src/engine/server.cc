#include "engine/server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/rng.h"
#include "engine/api.h"
#include "engine/metrics.h"
#include "gpu/emu_state.h"
#include "http/message.h"
#include "http/server.h"

namespace gpuscale::engine {
namespace {

constexpr std::string_view kVllmVersion = "0.10.0";
// Lateness histogram: 10 us buckets up to 200 ms, then one overflow bucket.
constexpr int kLatenessBucketNs = 10'000;
constexpr int kLatenessBuckets = 20'001;

// Asks for the cache line at `p` in a state this core may write (x86's PREFETCHW; plain
// __builtin_prefetch emits a read prefetch there, and the write that follows must then ask
// for the line again). A hint only: it never faults.
inline void PrefetchForWrite(const void* p) {
#if defined(__x86_64__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1);
#endif
}

http::Response JsonError(const ApiError& e) {
  return http::Response::Json(e.status, EncodeError(e));
}

}  // namespace

struct EngineServer::Core : std::enable_shared_from_this<EngineServer::Core> {
  Core(const Profile& p, EngineServerOptions o, core::Scheduler& s)
      : options(std::move(o)),
        scheduler(s),
        engine(p, options.engine),
        rng(options.seed),
        lateness(kLatenessBuckets, 0) {}

  // One request's state.
  struct Active {
    std::shared_ptr<http::Stream> out;
    bool stream = false;
    bool done = false;
    // Tokens produced so far. A streaming request's token counts from the moment its bytes are
    // encoded, when its step is planned; a non-streaming one's when its step ends.
    int emitted = 0;
    int output_tokens = 0;
    // Where this request's token of the planned step sits in `deliveries`, valid while
    // planned_step == Core::live_step.
    int planned = -1;
    std::uint64_t planned_step = 0;
    ResponseHead head;
    bool include_usage = false;
    bool continuous_usage = false;
    std::string echo;  // completions with echo: the prompt, before the first token
    int prompt_tokens = 0;
    FinishReason reason = FinishReason::kStop;
    std::uint64_t text_offset = 0;
    std::string text;     // non-streaming: the whole text
    std::string pending;  // bytes produced before the stream was attached
  };

  // A token of the planned step, resolved while the step's time passes so that its end touches
  // as little memory as it can: a streaming token that is not its request's last goes from here
  // to its stream without reading the request.
  struct Delivery {
    Active* active = nullptr;        // cleared if the request is cancelled during the step
    http::Stream* stream = nullptr;  // active->out of a streaming request, if attached
    bool last = false;               // the request's last token
    std::string bytes;               // streaming: the token's SSE bytes
  };

  EngineServerOptions options;
  core::Scheduler& scheduler;
  std::string model_name;
  std::int64_t created = 0;
  std::string permission_id;

  mutable std::mutex mu;
  std::condition_variable idle_cv;  // notified when `active` becomes empty
  Engine engine;
  std::unique_ptr<EngineMetrics> metrics;
  core::Rng rng;
  std::unordered_map<RequestId, Active> active;
  RequestId next_id = 1;
  bool step_scheduled = false;
  bool stopped = false;
  bool draining = false;
  core::Scheduler::TaskId step_task = 0;
  const StepResult* last_result = nullptr;  // the engine's buffer, valid until the next Step
  // The planned step's tokens in the order of last_result->tokens (std::unordered_map keeps
  // element addresses until they are erased).
  std::vector<Delivery> deliveries;
  std::uint64_t step_count = 0;
  std::uint64_t live_step = 0;  // the step whose `deliveries` are still to be handed over, or 0
  std::optional<gpu::emu::CountersMapping> gpu;
  std::vector<std::uint32_t> lateness;
  std::uint64_t lateness_count = 0;
  Duration lateness_max{0};

  std::unique_ptr<http::Server> http;
  http::Router router;

  Timestamp Now() const { return scheduler.clock().Now(); }

  // ---- Step loop (scheduler thread) ----------------------------------------------------------

  // Starts the loop if it is idle and there is work. Requires mu.
  void KickLocked() {
    if (step_scheduled || stopped || !engine.HasWork()) return;
    step_scheduled = true;
    std::weak_ptr<Core> weak = weak_from_this();
    step_task = scheduler.ScheduleAt(Now(), [weak] {
      if (auto c = weak.lock()) {
        std::lock_guard lock(c->mu);
        c->RunStepLocked(c->Now());
      }
    });
  }

  void RunStepLocked(Timestamp start) {
    if (stopped || !engine.HasWork()) {
      step_scheduled = false;
      return;
    }
    const StepResult& r = engine.Step(start);
    last_result = &r;
    if (r.num_scheduled_seqs == 0) {
      // Nothing fits (cannot happen with admitted requests); wait for a change.
      step_scheduled = false;
      return;
    }
    Prepare(r);
    std::weak_ptr<Core> weak = weak_from_this();
    step_task = scheduler.ScheduleAt(r.end(), [weak] {
      if (auto c = weak.lock()) {
        std::lock_guard lock(c->mu);
        c->FinishStepLocked();
      }
    });
  }

  void FinishStepLocked() {
    if (stopped) {
      step_scheduled = false;
      return;
    }
    // The result of the last Step call stays valid until the next one, below.
    const StepResult& r = *last_result;
    {
      // The step's tokens reach the I/O threads in one hand-over when the loop is done.
      http::StreamWriteBatch batch;
      Deliver(r);
    }
    if (gpu) {
      gpu::emu::Counters* c = gpu->get();
      auto ns = static_cast<double>(r.duration.count());
      c->busy_ns.fetch_add(static_cast<std::uint64_t>(r.duration.count()));
      c->sm_active_ns.fetch_add(static_cast<std::uint64_t>(ns * r.activity.sm));
      c->tensor_active_ns.fetch_add(static_cast<std::uint64_t>(ns * r.activity.tensor));
      c->dram_active_ns.fetch_add(static_cast<std::uint64_t>(ns * r.activity.dram));
    }
    UpdateMemoryLocked();
    metrics->OnStep(r, engine.stats());
    // Chain steps on the model's timeline; if the loop fell behind by more than a millisecond,
    // restart from now rather than bursting to catch up.
    Timestamp next = r.end();
    Timestamp now = Now();
    RunStepLocked(now - next > std::chrono::milliseconds(1) ? now : next);
  }

  void RecordLateness(Duration late, int tokens) {
    auto ns = std::max<std::int64_t>(0, late.count());
    auto bucket = std::min<std::int64_t>(ns / kLatenessBucketNs, kLatenessBuckets - 1);
    lateness[static_cast<std::size_t>(bucket)] += static_cast<std::uint32_t>(tokens);
    lateness_count += static_cast<std::uint64_t>(tokens);
    lateness_max = std::max(lateness_max, Duration(ns));
  }

  void Emit(Active& a, std::string bytes) {
    if (a.out) {
      a.out->Write(std::move(bytes));
    } else {
      a.pending += bytes;
    }
  }

  // Appends the SSE bytes of a streaming request's next token (the one after a.emitted).
  static void AppendNextToken(const Active& a, bool first, std::string* out) {
    const int emitted = a.emitted + 1;
    std::string_view piece = TokenText(a.text_offset + static_cast<std::uint64_t>(a.emitted));
    bool last = emitted >= a.output_tokens;
    std::string_view reason = last ? FinishReasonName(a.reason) : std::string_view();
    Usage usage{a.prompt_tokens, emitted};
    const Usage* running = a.continuous_usage ? &usage : nullptr;
    auto event = [&](std::string_view text, std::string_view finish, bool role_chunk) {
      *out += "data: ";
      AppendChunk(a.head, text, finish, role_chunk, running, out);
      *out += "\n\n";
    };
    if (first && a.head.kind == ApiKind::kChat) event("", "", true);
    if (first && !a.echo.empty() && a.head.kind == ApiKind::kCompletion) {
      std::string text = a.echo;
      text += piece;
      event(text, reason, false);
    } else {
      event(piece, reason, false);
    }
    if (last) {
      if (a.include_usage) AppendSseData(EncodeUsageChunk(a.head, usage), out);
      AppendSseData("[DONE]", out);
    }
  }

  // Resolves the step's tokens and encodes the streamed ones ahead of its end. A request has at
  // most one token per step, so the bytes stay right until then; Cancel clears the entry of a
  // request that goes away meanwhile.
  void Prepare(const StepResult& r) {
    live_step = ++step_count;
    deliveries.resize(r.tokens.size());
    for (std::size_t i = 0; i < r.tokens.size(); ++i) {
      Delivery& d = deliveries[i];
      d.bytes.clear();
      d.active = nullptr;
      d.stream = nullptr;
      auto it = active.find(r.tokens[i].id);
      if (it == active.end()) continue;
      Active& a = it->second;
      a.planned = static_cast<int>(i);
      a.planned_step = live_step;
      d.active = &a;
      if (a.stream) {
        AppendNextToken(a, r.tokens[i].first, &d.bytes);
        ++a.emitted;
        d.stream = a.out.get();
        d.last = a.emitted >= a.output_tokens;
      } else {
        d.last = a.emitted + 1 >= a.output_tokens;
      }
    }
  }

  // Hands the step's tokens over. With thousands of streams this pass is bound by cache misses
  // on the streams' memory, so it fetches a few tokens ahead. The clock is read once per group
  // of tokens, after the group: each token's lateness is counted at or after its hand-over.
  void Deliver(const StepResult& r) {
    constexpr std::size_t kAhead = 6;
    constexpr int kClockEvery = 8;
    const Timestamp planned = r.end();
    const std::size_t n = std::min(r.tokens.size(), deliveries.size());
    int unrecorded = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) {
        const Delivery& next = deliveries[i + kAhead];
        if (next.stream != nullptr && !next.last) {
          // The stream's object with the reference counts just before it (it is made by
          // std::make_shared): a guess at its layout, which costs only time if it is wrong.
          const char* p = reinterpret_cast<const char*>(next.stream);
          PrefetchForWrite(p - 16);
          PrefetchForWrite(p + 48);
          PrefetchForWrite(p + 104);
        } else if (next.active != nullptr) {
          PrefetchForWrite(next.active);
        }
      }
      Delivery& d = deliveries[i];
      if (d.active == nullptr) continue;  // cancelled during the step
      if (d.stream != nullptr && !d.last) {
        // The stream hands back a spent buffer, which a later Prepare fills again.
        d.stream->WriteBuffer(&d.bytes);
      } else {
        DeliverToRequest(d, r.tokens[i]);
      }
      if (++unrecorded == kClockEvery) {
        RecordLateness(Now() - planned, unrecorded);
        unrecorded = 0;
      }
    }
    if (unrecorded > 0) RecordLateness(Now() - planned, unrecorded);
    live_step = 0;
  }

  // A token whose hand-over needs the request: non-streaming, the last, or a stream that was
  // attached after the step was planned.
  void DeliverToRequest(Delivery& d, const TokenEvent& t) {
    Active& a = *d.active;
    if (a.stream) {
      if (a.out) {
        a.out->WriteBuffer(&d.bytes);
      } else {
        a.pending += d.bytes;
        d.bytes.clear();
      }
    } else {
      if (t.first) a.text += a.echo;
      a.text += TokenText(a.text_offset + static_cast<std::uint64_t>(a.emitted));
      ++a.emitted;
      if (a.emitted >= a.output_tokens) {
        Usage usage{a.prompt_tokens, a.emitted};
        Emit(a, EncodeResponse(a.head, a.text, FinishReasonName(a.reason), usage));
      }
    }
    if (a.emitted >= a.output_tokens) {
      a.done = true;
      if (a.out) {
        a.out->Close();
        active.erase(t.id);
        if (active.empty()) idle_cv.notify_all();
      }
    }
  }

  void UpdateMemoryLocked() {
    if (gpu) {
      (*gpu)->memory_used_bytes.store(static_cast<std::uint64_t>(engine.memory_used_bytes()));
    }
  }

  // ---- Requests (I/O threads) ----------------------------------------------------------------

  void HandleCompletion(ApiKind kind, const http::Request& req, http::Reply reply) {
    auto decoded = DecodeRequest(kind, req.body);
    if (!decoded.ok()) return reply(JsonError(ToApiError(decoded.error())));
    const ApiRequest& a = *decoded;
    if (a.model && *a.model != model_name) return reply(JsonError(ModelNotFound(*a.model)));
    const int max_len = engine.limits().max_model_len;
    if (a.prompt_tokens >= max_len ||
        (a.max_tokens && std::int64_t{a.prompt_tokens} + *a.max_tokens > max_len)) {
      int asked = a.prompt_tokens + (a.max_tokens ? *a.max_tokens : 0);
      return reply(JsonError(BadRequest(fmt::format(
          "This model's maximum context length is {} tokens. However, you requested {} tokens "
          "({} in the {}, {} in the completion). Please reduce the length of the {} or "
          "completion.",
          max_len, asked, a.prompt_tokens, kind == ApiKind::kChat ? "messages" : "prompt",
          a.max_tokens.value_or(0), kind == ApiKind::kChat ? "messages" : "prompt"))));
    }

    RequestId id = 0;
    {
      std::lock_guard lock(mu);
      if (draining || stopped) {
        return reply(JsonError(ApiError{503, "ServiceUnavailableError",
                                        "The server is shutting down.", std::nullopt}));
      }
      id = next_id++;
      int limit = max_len - a.prompt_tokens;
      OutputLength out;
      if (a.seed) {
        core::Rng request_rng(*a.seed);
        out = ChooseOutputLength(options.output_len_dist, request_rng, a.max_tokens, a.ignore_eos,
                                 limit);
      } else {
        out = ChooseOutputLength(options.output_len_dist, rng, a.max_tokens, a.ignore_eos, limit);
      }
      if (out.tokens < a.min_tokens) out.tokens = std::min(a.min_tokens, limit);
      RequestSpec spec{id, a.prompt_tokens, out.tokens, out.reason};
      core::Status added = engine.Add(spec, Now());
      if (!added.ok()) return reply(JsonError(ToApiError(added.error())));
      Active act;
      act.head.kind = kind;
      act.head.id = fmt::format("{}{}", kind == ApiKind::kChat ? "chatcmpl-" : "cmpl-",
                                HexId(options.seed, id));
      act.head.created = created;
      act.head.model = model_name;
      act.stream = a.stream;
      act.include_usage = a.include_usage;
      act.continuous_usage = a.continuous_usage_stats;
      if (a.echo) act.echo = a.last_text;
      act.prompt_tokens = a.prompt_tokens;
      act.output_tokens = out.tokens;
      act.reason = out.reason;
      act.text_offset = id;
      active.emplace(id, std::move(act));
      metrics->OnStats(engine.stats());
      KickLocked();
    }
    http::Response resp = a.stream ? http::Response::EventStream(nullptr) : http::Response();
    if (!a.stream) resp.headers.Set("Content-Type", "application/json");
    std::weak_ptr<Core> weak = weak_from_this();
    resp.stream = [weak, id](std::shared_ptr<http::Stream> s) {
      auto c = weak.lock();
      if (!c) {
        s->Close();
        return;
      }
      c->Attach(id, s);
      s->OnCancel([weak, id] {
        if (auto c2 = weak.lock()) c2->Cancel(id);
      });
    };
    reply(std::move(resp));
  }

  void Attach(RequestId id, const std::shared_ptr<http::Stream>& s) {
    std::lock_guard lock(mu);
    auto it = active.find(id);
    if (it == active.end()) {
      s->Close();
      return;
    }
    Active& a = it->second;
    a.out = s;
    if (!a.pending.empty()) s->Write(std::move(a.pending));
    a.pending.clear();
    if (a.done) {
      s->Close();
      active.erase(it);
      if (active.empty()) idle_cv.notify_all();
    }
  }

  // The client went away (or the server cancelled the stream): abort and free the KV blocks.
  void Cancel(RequestId id) {
    std::lock_guard lock(mu);
    auto it = active.find(id);
    if (it == active.end()) return;
    if (live_step != 0 && it->second.planned_step == live_step) {
      deliveries[static_cast<std::size_t>(it->second.planned)].active = nullptr;
    }
    active.erase(it);
    if (auto f = engine.Abort(id, Now())) metrics->OnFinished(*f, engine.stats());
    UpdateMemoryLocked();
    if (active.empty()) idle_cv.notify_all();
  }

  void BuildRoutes() {
    std::weak_ptr<Core> weak = weak_from_this();
    auto completion = [weak](ApiKind kind) {
      return [weak, kind](http::Request req, http::Reply reply) {
        if (auto c = weak.lock()) {
          c->HandleCompletion(kind, req, std::move(reply));
        } else {
          reply(http::Response::Text(503, "shutting down"));
        }
      };
    };
    router.Handle("POST", "/v1/chat/completions", completion(ApiKind::kChat));
    router.Handle("POST", "/v1/completions", completion(ApiKind::kCompletion));
    auto sync = [weak](std::function<http::Response(Core&)> fn) {
      return http::Sync([weak, fn](const http::Request&) {
        auto c = weak.lock();
        return c ? fn(*c) : http::Response::Text(503, "shutting down");
      });
    };
    router.Handle("GET", "/v1/models", sync([](Core& c) {
                    return http::Response::Json(
                        200, EncodeModels(c.model_name, c.created, c.engine.limits().max_model_len,
                                          c.permission_id));
                  }));
    auto health = sync([](Core&) { return http::Response::Text(200, "", "application/json"); });
    router.Handle("GET", "/health", health);
    router.Handle("GET", "/ping", health);
    router.Handle("POST", "/ping", health);
    router.Handle("GET", "/version", sync([](Core&) {
                    return http::Response::Json(200,
                                                fmt::format(R"({{"version":"{}"}})", kVllmVersion));
                  }));
    router.Handle("GET", "/metrics", sync([](Core& c) {
                    return http::Response::Text(200, c.Render(),
                                                "text/plain; version=0.0.4; charset=utf-8");
                  }));
  }

  std::string Render() const {
    std::lock_guard lock(mu);
    return metrics->Render();
  }
};

core::Result<std::unique_ptr<EngineServer>> EngineServer::Start(const Profile& profile,
                                                                EngineServerOptions options,
                                                                core::Scheduler& scheduler) {
  EngineLimits limits = ResolveLimits(profile, options.engine);
  if (limits.max_num_seqs < 1 || limits.max_num_batched_tokens < 1 || limits.block_size < 1 ||
      limits.num_gpu_blocks < 1 || limits.max_model_len < 1) {
    return core::InvalidArgument(fmt::format(
        "profile {}: unusable limits: max_num_seqs={} max_num_batched_tokens={} block_size={} "
        "num_gpu_blocks={} max_model_len={} (each must be >= 1)",
        profile.name, limits.max_num_seqs, limits.max_num_batched_tokens, limits.block_size,
        limits.num_gpu_blocks, limits.max_model_len));
  }
  if (limits.max_model_len > profile.max_model_len) {
    return core::InvalidArgument(
        fmt::format("--max-model-len {} exceeds the model's maximum context length {}",
                    limits.max_model_len, profile.max_model_len));
  }
  if (!limits.enable_chunked_prefill && limits.max_num_batched_tokens < limits.max_model_len) {
    return core::InvalidArgument(fmt::format(
        "max_num_batched_tokens ({}) is smaller than max_model_len ({}) with chunked prefill "
        "disabled: long prompts could never be scheduled",
        limits.max_num_batched_tokens, limits.max_model_len));
  }
  auto core = std::make_shared<Core>(profile, std::move(options), scheduler);
  const EngineServerOptions& o = core->options;
  core->model_name = o.served_model_name.empty() ? profile.model : o.served_model_name;
  core->created = o.created_unix_s != 0
                      ? o.created_unix_s
                      : static_cast<std::int64_t>(core::ToUnixSeconds(core->Now()));
  core->permission_id = "modelperm-" + HexId(o.seed, 0);
  MetricsOptions mo;
  mo.model_name = core->model_name;
  mo.engine = o.engine_label;
  mo.limits = core->engine.limits();
  mo.gpu_memory_utilization = profile.gpu_memory_utilization;
  mo.created_unix_s = static_cast<double>(core->created);
  core->metrics = std::make_unique<EngineMetrics>(mo);

  if (!o.emu_dir.empty()) {
    if (o.gpu_index < 0) {
      return core::InvalidArgument(fmt::format("--gpu-index must be >= 0, found {}", o.gpu_index));
    }
    if (gpu::emu::CountGpus(o.emu_dir) <= o.gpu_index) {
      gpu::emu::GpuConfig config;
      config.name = profile.gpu_name;
      config.architecture = profile.gpu_architecture;
      config.memory_total_mib = profile.gpu_memory_mib;
      config.power_idle_w = profile.gpu_power_idle_w;
      config.power_max_w = profile.gpu_power_max_w;
      // GPUs below this index must exist for the directory to be valid; create them too.
      for (int i = gpu::emu::CountGpus(o.emu_dir); i <= o.gpu_index; ++i) {
        core::Status s = gpu::emu::CreateGpu(o.emu_dir, i, config);
        if (!s.ok()) return s.error().WithContext("emulated GPU");
      }
    }
    auto mapping = gpu::emu::CountersMapping::Open(gpu::emu::CountersPath(o.emu_dir, o.gpu_index),
                                                   /*create=*/true);
    if (!mapping.ok()) return mapping.error().WithContext("emulated GPU");
    core->gpu.emplace(std::move(mapping).value());
    (*core->gpu)->writer_pid.store(static_cast<std::uint64_t>(::getpid()));
    core->UpdateMemoryLocked();
  }

  core->BuildRoutes();
  http::ServerOptions so;
  so.address = o.host;
  so.port = o.port;
  so.io_threads = std::max(1, o.io_threads);
  so.server_header = "uvicorn";
  auto http_server = http::Server::Start(so, core->router.AsHandler());
  if (!http_server.ok()) return http_server.error();
  core->http = std::move(http_server).value();
  std::unique_ptr<EngineServer> server(new EngineServer());
  server->core_ = std::move(core);
  return server;
}

EngineServer::~EngineServer() {
  if (core_) Shutdown(std::chrono::milliseconds(0));
}

std::uint16_t EngineServer::port() const { return core_->http->port(); }

void EngineServer::Shutdown(std::chrono::milliseconds grace) {
  Core& c = *core_;
  auto deadline = std::chrono::steady_clock::now() + grace;
  {
    std::unique_lock lock(c.mu);
    if (c.stopped) return;
    c.draining = true;
    c.idle_cv.wait_until(lock, deadline, [&] { return c.active.empty(); });
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  // Cancels the streams still open; their OnCancel callbacks abort the requests.
  c.http->Stop(std::max(left, std::chrono::milliseconds(0)));
  std::lock_guard lock(c.mu);
  c.stopped = true;
  if (c.step_scheduled) c.scheduler.Cancel(c.step_task);
  c.step_scheduled = false;
  for (auto& [id, a] : c.active) {
    if (auto f = c.engine.Abort(id, c.Now())) c.metrics->OnFinished(*f, c.engine.stats());
    if (a.out) a.out->Close();
  }
  c.active.clear();
  c.deliveries.clear();
  c.live_step = 0;
  if (c.gpu) {
    c.UpdateMemoryLocked();
    (*c.gpu)->writer_pid.store(0);
  }
}

EngineStats EngineServer::stats() const {
  std::lock_guard lock(core_->mu);
  return core_->engine.stats();
}

int EngineServer::active_requests() const {
  std::lock_guard lock(core_->mu);
  return static_cast<int>(core_->active.size());
}

TimingErrorStats EngineServer::timing_error() const {
  std::lock_guard lock(core_->mu);
  const Core& c = *core_;
  TimingErrorStats t;
  t.tokens = c.lateness_count;
  t.max = c.lateness_max;
  auto quantile = [&](double q) {
    if (c.lateness_count == 0) return Duration(0);
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(c.lateness_count - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < c.lateness.size(); ++i) {
      seen += c.lateness[i];
      if (seen >= rank) return Duration(static_cast<std::int64_t>(i + 1) * kLatenessBucketNs);
    }
    return c.lateness_max;
  };
  t.p50 = quantile(0.5);
  t.p99 = quantile(0.99);
  return t;
}

std::string EngineServer::RenderMetrics() const { return core_->Render(); }

}  // namespace gpuscale::engine
