// `gpuscale load looper|run`: flags mapped onto load::RunOptions; the runner, statistics and
// reports live in src/load.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "apps/gpuscale/commands.h"
#include "core/duration.h"
#include "http/client.h"
#include "load/arrivals.h"
#include "load/report.h"
#include "load/runner.h"

namespace gpuscale::app {
namespace {

// Set by SIGINT/SIGTERM; the runner polls it (a signal handler can do nothing else safely).
std::atomic<bool> g_load_stop{false};

void OnStopSignal(int) { g_load_stop.store(true); }

void InstallStopHandlers() {
  g_load_stop.store(false);
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int Fail(std::string_view cmd, std::string_view flag, const std::string& message) {
  std::fprintf(stderr, "gpuscale load %.*s: %.*s: %s\n", static_cast<int>(cmd.size()), cmd.data(),
               static_cast<int>(flag.size()), flag.data(), message.c_str());
  return 2;
}

core::Result<core::Duration> Positive(std::string_view flag, const std::string& text,
                                      bool zero_ok = false) {
  auto d = core::ParseDuration(text);
  if (!d.ok()) return core::InvalidArgument(d.error().message);
  if (*d < core::Duration::zero() || (!zero_ok && *d == core::Duration::zero())) {
    return core::InvalidArgument("expected a positive duration, found '" + text + "'");
  }
  (void)flag;
  return *d;
}

bool WriteFile(const std::string& path, const std::string& data, std::string_view what) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  if (!out) {
    std::fprintf(stderr, "gpuscale load: cannot write the %.*s report to %s\n",
                 static_cast<int>(what.size()), what.data(), path.c_str());
    return false;
  }
  std::fprintf(stderr, "wrote %.*s report %s\n", static_cast<int>(what.size()), what.data(),
               path.c_str());
  return true;
}

// A live line on a terminal (rewritten in place), plain lines otherwise.
class ProgressPrinter {
 public:
  ProgressPrinter(std::string mode, double plain_every_s)
      : tty_(mode == "tty" || (mode == "auto" && isatty(STDERR_FILENO))),
        off_(mode == "off"),
        plain_every_s_(plain_every_s) {}

  void operator()(const load::Progress& p) {
    if (off_) return;
    double dt = p.elapsed_s - last_.elapsed_s;
    double rate =
        dt > 0 ? static_cast<double>(p.succeeded + p.failed - last_.succeeded - last_.failed) / dt
               : 0;
    double toks = dt > 0 ? static_cast<double>(p.output_tokens - last_.output_tokens) / dt : 0;
    char line[200];
    std::snprintf(line, sizeof line,
                  "%7.1fs sent %lld ok %lld failed %lld in flight %lld | %.1f req/s %.0f tok/s",
                  p.elapsed_s, static_cast<long long>(p.sent), static_cast<long long>(p.succeeded),
                  static_cast<long long>(p.failed), static_cast<long long>(p.in_flight), rate,
                  toks);
    if (tty_) {
      std::fprintf(stderr, "\r\033[K%s", line);
      dirty_ = true;
      last_ = p;
    } else if (p.elapsed_s - last_plain_s_ >= plain_every_s_ - 1e-6) {
      std::fprintf(stderr, "%s\n", line);
      last_plain_s_ = p.elapsed_s;
      last_ = p;
    }
    std::fflush(stderr);
  }
  void Done() {
    if (dirty_) std::fprintf(stderr, "\n");
    dirty_ = false;
  }

 private:
  bool tty_;
  bool off_;
  double plain_every_s_;
  double last_plain_s_ = 0;
  bool dirty_ = false;
  load::Progress last_;
};

void RegisterLooper(CLI::App& load_app, core::LogOptions& log, CommandSet& commands) {
  struct Flags {
    int port = 8081;
    std::string model = "google/gemma-3-1b-it";
    std::string content = "Explain Quantum Computing in simple terms.";
    std::string host = "127.0.0.1";
    std::string duration = "0s";
    std::int64_t requests = 0;
    double rate = 1.0;
    std::string timeout = "60s";
    std::string max_tokens = "none";
    bool stream = false;
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub =
      load_app.add_subcommand("looper",
                              "The seed's request-looper: one fire-and-forget POST per second to "
                              "/v1/chat/completions, a line per answer, a summary at exit");
  sub->add_option("port", f->port, "Port on --host (the seed's default)")->capture_default_str();
  sub->add_option("model", f->model, "Model name sent in each request")->capture_default_str();
  sub->add_option("content", f->content, "The user message")->capture_default_str();
  sub->add_option("--host", f->host, "Host to send to")->capture_default_str();
  sub->add_option("--duration", f->duration,
                  "Stop after this long (Go duration; 0: until Ctrl+C, at most 24h)")
      ->capture_default_str();
  sub->add_option("--requests", f->requests, "Stop after this many requests (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--rate", f->rate, "Requests per second")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--timeout", f->timeout, "Per-request timeout (Go duration)")
      ->capture_default_str();
  sub->add_option("--max-tokens", f->max_tokens,
                  "max_tokens to send (none, like the seed; N; uniform:LO:HI; ...)")
      ->capture_default_str();
  sub->add_flag("--stream", f->stream, "Stream the answers (and report TTFT and ITL)");

  commands.Add(sub, [f, &log] {
    if (!SetUpLogging(log)) return 2;
    load::RunOptions o;
    o.request.targets = {"http://" + f->host + ":" + std::to_string(f->port)};
    o.request.model = f->model;
    o.request.prompt = f->content;
    o.request.stream = f->stream;
    auto mt = load::ParseMaxTokens(f->max_tokens);
    if (!mt.ok()) return Fail("looper", "--max-tokens", mt.error().message);
    o.request.max_tokens = *mt;
    auto timeout = Positive("--timeout", f->timeout);
    if (!timeout.ok()) return Fail("looper", "--timeout", timeout.error().message);
    o.request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
    auto duration = Positive("--duration", f->duration, true);
    if (!duration.ok()) return Fail("looper", "--duration", duration.error().message);
    o.duration = *duration == core::Duration::zero() ? load::kHardMaxDuration : *duration;
    o.max_requests = f->requests > 0 ? f->requests : load::kHardMaxRequests;
    InstallStopHandlers();
    o.stop = &g_load_stop;
    auto client = http::AsyncClient::Create();
    core::SystemClock clock;
    load::Runner runner(*client, clock, o);
    auto arrivals = load::MakeConstantArrivals(f->rate);
    std::printf("sending to %s%s every %.3g s (Ctrl+C stops)\n", o.request.targets[0].c_str(),
                std::string(load::ApiPath(o.request.api)).c_str(), 1.0 / f->rate);
    std::fflush(stdout);
    auto result = runner.Run(arrivals.get(), {}, [](const load::RequestRecord& r) {
      if (r.ok()) {
        std::printf("#%lld HTTP %d in %.3f s, %d tokens\n", static_cast<long long>(r.index + 1),
                    r.status, r.e2e_s, r.output_tokens);
      } else {
        std::printf("#%lld %s%s (%s) after %.3f s\n", static_cast<long long>(r.index + 1),
                    r.status ? ("HTTP " + std::to_string(r.status) + " ").c_str() : "",
                    std::string(load::ErrorKindName(r.error)).c_str(), r.error_message.c_str(),
                    r.e2e_s);
      }
      std::fflush(stdout);
    });
    if (!result.ok()) return Fail("looper", "run", result.error().message);
    load::Summary s = load::Summarize(result->records, {}, result->duration_s);
    std::printf("\n%s", load::SummaryText(s).c_str());
    return 0;
  });
}

void RegisterRun(CLI::App& load_app, core::LogOptions& log, CommandSet& commands) {
  struct Flags {
    std::vector<std::string> urls = {"http://127.0.0.1:8081"};
    std::string api = "chat";
    std::string model = "google/gemma-3-1b-it";
    bool stream = true;
    std::string prompt;
    int prompt_tokens = 128;
    std::string max_tokens = "128";
    bool ignore_eos = false;
    std::string timeout = "60s";
    double rate = 0, poisson = 0, burstiness = 1;
    std::string ramp, steps, trace, sweep;
    std::string arrivals = "constant";
    double time_scale = 1, rate_scale = 1;
    int concurrency = 0;
    std::string duration = "60s";
    std::int64_t requests = 0;
    std::string drain = "";
    std::string slo;
    std::uint64_t seed = 0;
    std::string json, csv, html;
    bool json_requests = false;
    std::string interval = "1s";
    std::string progress = "auto";
    std::string progress_every = "10s";
    int io_threads = 1;
    bool realtime_sends = false;
    std::string title = "gpuscale load";
  };
  auto f = std::make_shared<Flags>();
  CLI::App* sub = load_app.add_subcommand(
      "run",
      "Open-loop (constant, Poisson, ramp, steps, trace replay, sweep) or closed-loop load with "
      "TTFT, ITL and latency statistics and JSON/CSV/HTML reports");
  sub->add_option("--url", f->urls,
                  "Target base URL (API path appended) or full URL; repeat for several "
                  "(round robin)")
      ->capture_default_str();
  sub->add_option("--api", f->api, "chat or completions")
      ->check(CLI::IsMember({"chat", "completions"}))
      ->capture_default_str();
  sub->add_option("--model", f->model, "Model name sent in each request")->capture_default_str();
  sub->add_flag("--stream,!--no-stream", f->stream, "Stream answers (needed for TTFT and ITL)")
      ->capture_default_str();
  sub->add_option("--prompt", f->prompt, "Fixed user message (default: synthetic words)");
  sub->add_option("--prompt-tokens", f->prompt_tokens, "Synthetic prompt length in words/tokens")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--max-tokens", f->max_tokens,
                  "none, N, uniform:LO:HI, normal:MEAN:SD or lognormal:MEAN:SD (a trace's "
                  "output lengths win)")
      ->capture_default_str();
  sub->add_flag("--ignore-eos", f->ignore_eos, "Ask the server to generate max_tokens exactly");
  sub->add_option("--timeout", f->timeout, "Per-request timeout (Go duration)")
      ->capture_default_str();
  auto* mode = sub->add_option_group("mode", "How requests arrive (exactly one)");
  mode->add_option("--rate", f->rate, "Constant rate, requests per second")
      ->check(CLI::PositiveNumber);
  mode->add_option("--poisson", f->poisson, "Poisson arrivals at this mean rate")
      ->check(CLI::PositiveNumber);
  mode->add_option("--ramp", f->ramp, "Linear ramp FROM:TO:DURATION (e.g. 1:20:2m), then TO");
  mode->add_option("--steps", f->steps, "Rate steps RATE:DURATION,... (e.g. 2:30s,10:1m)");
  mode->add_option("--trace", f->trace, "Replay an Azure LLM inference trace CSV");
  mode->add_option("--concurrency", f->concurrency, "Closed loop: this many requests in flight")
      ->check(CLI::PositiveNumber);
  mode->add_option("--sweep", f->sweep,
                   "Rates FROM:TO:STEPS or R1,R2,...; each runs for --duration");
  mode->require_option(1);
  sub->add_option("--burstiness", f->burstiness,
                  "With --poisson: gamma shape of the gaps (1 Poisson, <1 burstier)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--arrivals", f->arrivals,
                  "For --ramp, --steps and --sweep: constant or poisson gaps")
      ->check(CLI::IsMember({"constant", "poisson"}))
      ->capture_default_str();
  sub->add_option("--time-scale", f->time_scale,
                  "Trace: multiply its times (0.5 replays twice as fast)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--rate-scale", f->rate_scale,
                  "Trace: requests per row at the row's time (2 doubles, 0.5 keeps half)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--duration", f->duration,
                  "No send starts after this (per rate with --sweep); at most 24h")
      ->capture_default_str();
  sub->add_option("--requests", f->requests, "Stop after this many requests (0: no limit)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--drain", f->drain,
                  "Wait this long for answers after the last send (default: --timeout + 1s)");
  sub->add_option("--slo", f->slo, "Goodput objectives, e.g. ttft=500ms,itl=50ms,e2e=20s");
  sub->add_option("--seed", f->seed, "Random seed (default: random, printed)");
  sub->add_option("--json", f->json, "Write the JSON report here");
  sub->add_flag("--json-requests", f->json_requests, "Include every request in the JSON report");
  sub->add_option("--csv", f->csv, "Write one CSV row per request here");
  sub->add_option("--html", f->html, "Write the self-contained HTML report here");
  sub->add_option("--title", f->title, "Report title")->capture_default_str();
  sub->add_option("--interval", f->interval, "Time-series interval of the reports")
      ->capture_default_str();
  sub->add_option("--progress", f->progress, "auto, tty (live line), plain (periodic lines), off")
      ->check(CLI::IsMember({"auto", "tty", "plain", "off"}))
      ->capture_default_str();
  sub->add_option("--progress-every", f->progress_every, "Interval of plain progress lines")
      ->capture_default_str();
  sub->add_option("--io-threads", f->io_threads, "HTTP client I/O threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  sub->add_flag("--realtime-sends", f->realtime_sends,
                "Open loop: send from a real-time (SCHED_FIFO) thread, for sub-millisecond send "
                "lag on a busy machine; needs root or CAP_SYS_NICE");

  commands.Add(sub, [f, sub, &log] {
    if (!SetUpLogging(log)) return 2;
    const std::string cmd = "run";
    load::RunOptions o;
    o.request.targets = f->urls;
    o.request.api = f->api == "chat" ? load::Api::kChat : load::Api::kCompletions;
    o.request.model = f->model;
    o.request.stream = f->stream;
    o.request.prompt = f->prompt;
    o.request.prompt_tokens = f->prompt_tokens;
    o.request.ignore_eos = f->ignore_eos;
    auto mt = load::ParseMaxTokens(f->max_tokens);
    if (!mt.ok()) return Fail(cmd, "--max-tokens", mt.error().message);
    o.request.max_tokens = *mt;
    auto timeout = Positive("--timeout", f->timeout);
    if (!timeout.ok()) return Fail(cmd, "--timeout", timeout.error().message);
    o.request.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*timeout);
    auto duration = Positive("--duration", f->duration);
    if (!duration.ok()) return Fail(cmd, "--duration", duration.error().message);
    o.duration = *duration;
    o.max_requests = f->requests > 0 ? f->requests : load::kHardMaxRequests;
    if (!f->drain.empty()) {
      auto drain = Positive("--drain", f->drain, true);
      if (!drain.ok()) return Fail(cmd, "--drain", drain.error().message);
      o.drain = *drain;
    }
    auto interval = Positive("--interval", f->interval);
    if (!interval.ok()) return Fail(cmd, "--interval", interval.error().message);
    auto every = Positive("--progress-every", f->progress_every);
    if (!every.ok()) return Fail(cmd, "--progress-every", every.error().message);
    load::Slo slo;
    if (!f->slo.empty()) {
      auto s = load::ParseSlo(f->slo);
      if (!s.ok()) return Fail(cmd, "--slo", s.error().message);
      slo = *s;
    }
    o.seed = sub->count("--seed") > 0 ? f->seed : core::Rng::RandomSeed();
    o.realtime_sends = f->realtime_sends;
    o.concurrency = f->concurrency;
    const bool poisson_gaps = f->arrivals == "poisson";
    core::Rng rng(o.seed);

    load::Report report;
    report.title = f->title;
    report.interval_s = core::ToSeconds(*interval);
    report.settings = {
        {"api", f->api},
        {"model", f->model},
        {"stream", f->stream ? "true" : "false"},
        {"prompt",
         f->prompt.empty() ? std::to_string(f->prompt_tokens) + " synthetic tokens" : f->prompt},
        {"max_tokens", f->max_tokens},
        {"ignore_eos", f->ignore_eos ? "true" : "false"},
        {"timeout", f->timeout},
        {"duration", f->duration},
        {"seed", std::to_string(o.seed)}};

    std::unique_ptr<load::ArrivalProcess> arrivals;
    std::vector<double> sweep_rates;
    load::Trace trace;
    if (f->rate > 0) {
      arrivals = load::MakeConstantArrivals(f->rate);
      report.settings.push_back({"arrivals", "constant " + std::to_string(f->rate) + " req/s"});
    } else if (f->poisson > 0) {
      arrivals = f->burstiness == 1
                     ? load::MakePoissonArrivals(f->poisson, rng.Fork())
                     : load::MakeGammaArrivals(f->poisson, f->burstiness, rng.Fork());
      report.settings.push_back({"arrivals", "poisson " + std::to_string(f->poisson) +
                                                 " req/s, burstiness " +
                                                 std::to_string(f->burstiness)});
    } else if (!f->ramp.empty()) {
      std::string_view r = f->ramp;
      std::size_t a = r.find(':'), b = a == r.npos ? r.npos : r.find(':', a + 1);
      if (b == r.npos)
        return Fail(cmd, "--ramp", "expected FROM:TO:DURATION, found '" + f->ramp + "'");
      double from = 0, to = 0;
      try {
        from = std::stod(std::string(r.substr(0, a)));
        to = std::stod(std::string(r.substr(a + 1, b - a - 1)));
      } catch (const std::exception&) {
        return Fail(cmd, "--ramp", "expected numbers in FROM:TO:DURATION, found '" + f->ramp + "'");
      }
      auto d = Positive("--ramp", std::string(r.substr(b + 1)));
      if (!d.ok() || from < 0 || to < 0) {
        return Fail(cmd, "--ramp", d.ok() ? "rates must be non-negative" : d.error().message);
      }
      arrivals = load::MakeRampArrivals(from, to, *d, poisson_gaps, rng.Fork());
      report.settings.push_back({"arrivals", "ramp " + f->ramp + " (" + f->arrivals + ")"});
    } else if (!f->steps.empty()) {
      auto steps = load::ParseSteps(f->steps);
      if (!steps.ok()) return Fail(cmd, "--steps", steps.error().message);
      arrivals = load::MakeStepArrivals(*steps, poisson_gaps, rng.Fork());
      report.settings.push_back({"arrivals", "steps " + f->steps + " (" + f->arrivals + ")"});
    } else if (!f->trace.empty()) {
      auto t = load::ReadAzureTrace(f->trace);
      if (!t.ok()) return Fail(cmd, "--trace", t.error().message);
      trace = std::move(*t);
      arrivals = load::MakeTraceArrivals(trace, {f->time_scale, f->rate_scale}, rng.Fork());
      report.settings.push_back({"arrivals", "trace " + f->trace + " (time scale " +
                                                 std::to_string(f->time_scale) + ", rate scale " +
                                                 std::to_string(f->rate_scale) + ")"});
      report.notes.push_back(
          "Trace: Azure LLM inference trace 2023 (Azure/AzurePublicDataset), CC-BY-4.0. "
          "Patel et al., \"Splitwise: Efficient generative LLM inference using phase "
          "splitting\", ISCA 2024.");
    } else if (!f->sweep.empty()) {
      auto rates = load::ParseSweep(f->sweep);
      if (!rates.ok()) return Fail(cmd, "--sweep", rates.error().message);
      sweep_rates = *rates;
      report.settings.push_back({"arrivals", "sweep " + f->sweep + " (" + f->arrivals + ")"});
    } else {
      report.settings.push_back(
          {"arrivals", "closed loop, concurrency " + std::to_string(f->concurrency)});
    }
    std::fprintf(stderr, "gpuscale load: seed %llu\n", static_cast<unsigned long long>(o.seed));

    InstallStopHandlers();
    o.stop = &g_load_stop;
    http::ClientOptions copts;
    copts.request_timeout = o.request.timeout;
    copts.max_idle_per_host = 100000;
    auto client = http::AsyncClient::Create(copts, f->io_threads);
    core::SystemClock clock;
    ProgressPrinter printer(f->progress, core::ToSeconds(*every));
    auto on_progress = [&](const load::Progress& p) { printer(p); };

    load::RunResult result;
    if (!sweep_rates.empty()) {
      auto points = load::RunSweep(*client, clock, o, sweep_rates, poisson_gaps, slo, &result,
                                   on_progress, &g_load_stop);
      printer.Done();
      if (!points.ok()) return Fail(cmd, "--sweep", points.error().message);
      report.sweep = std::move(*points);
      for (const load::SweepPoint& p : report.sweep) {
        std::printf(
            "rate %.2f req/s: %.2f achieved, goodput %.2f, TTFT p99 %.1f ms, E2E p99 "
            "%.1f ms, %zu failed\n",
            p.offered_rate, p.summary.request_rate, p.summary.goodput, p.summary.ttft_s.p99 * 1000,
            p.summary.e2e_s.p99 * 1000, p.summary.failed);
      }
    } else {
      load::Runner runner(*client, clock, o);
      auto r = runner.Run(arrivals.get(), on_progress);
      printer.Done();
      if (!r.ok()) return Fail(cmd, "run", r.error().message);
      result = std::move(*r);
    }
    if (f->realtime_sends && f->concurrency == 0) {
      if (result.realtime_sends) {
        report.settings.push_back({"send thread", "real-time (SCHED_FIFO)"});
      } else {
        std::fprintf(stderr,
                     "gpuscale load: --realtime-sends: not permitted (needs root or "
                     "CAP_SYS_NICE); sent at normal priority\n");
      }
    }
    report.started_unix_s = result.started_unix_s;
    report.targets = result.targets;
    report.summary = load::Summarize(result.records, slo, result.duration_s);
    report.series = load::Series(result.records, report.interval_s, result.duration_s);
    report.requests = &result.records;
    if (result.cpu_steal_s && *result.cpu_steal_s >= 0.001) {
      report.notes.push_back(fmt::format(
          "The hypervisor took {:.0f} ms of CPU time from this machine during the run (steal, all "
          "CPUs together): on a virtual machine that delays sends and answers whatever the "
          "sending thread's priority.",
          *result.cpu_steal_s * 1000));
    }
    std::printf("%s", load::SummaryText(report.summary).c_str());
    for (const std::string& n : report.notes) std::printf("%s\n", n.c_str());
    bool ok = true;
    if (!f->json.empty())
      ok &= WriteFile(f->json, load::ReportJson(report, f->json_requests), "JSON");
    if (!f->csv.empty()) ok &= WriteFile(f->csv, load::RequestsCsv(result.records), "CSV");
    if (!f->html.empty()) ok &= WriteFile(f->html, load::ReportHtml(report), "HTML");
    return ok ? 0 : 1;
  });
}

}  // namespace

void RegisterLoad(CLI::App& app, core::LogOptions& log, CommandSet& commands) {
  CLI::App* sub = app.add_subcommand(
      "load", "Load generator: the seed's request-looper, open/closed-loop load and trace replay");
  sub->require_subcommand(1);
  RegisterLooper(*sub, log, commands);
  RegisterRun(*sub, log, commands);
}

}  // namespace gpuscale::app
