// The server bench/load_vs_wrk.sh points wrk and `gpuscale load` at: a tiny JSON answer for
// non-streaming requests (what wrk's GET gets too), and for {"stream":true} bodies an SSE stream
// of --tokens chunks --interval-ms apart. Prints "port N" and serves until stdin closes or
// SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "core/clock.h"
#include "http/server.h"

using namespace gpuscale;

int main(int argc, char** argv) {
  int threads = 1, tokens = 20, interval_ms = 100, port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (flag == "--threads")
      threads = v;
    else if (flag == "--tokens")
      tokens = v;
    else if (flag == "--interval-ms")
      interval_ms = v;
    else if (flag == "--port")
      port = v;
    else {
      std::fprintf(stderr, "usage: %s [--port N] [--threads N] [--tokens N] [--interval-ms N]\n",
                   argv[0]);
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  core::ThreadScheduler sched;
  static const std::string kSmall = R"({"usage":{"prompt_tokens":1,"completion_tokens":1}})";
  const std::string chunk =
      http::SseEvent(R"({"choices":[{"index":0,"delta":{"content":"tok"}}]})");
  const std::string usage =
      http::SseEvent(R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":)" +
                     std::to_string(tokens) + "}}");
  http::ServerOptions o;
  o.port = static_cast<std::uint16_t>(port);
  o.io_threads = threads;
  o.max_connections = 100000;
  auto server = http::Server::Start(o, [&](http::Request req, http::Reply reply) {
    if (req.body.find("\"stream\":true") == std::string::npos) {
      reply(http::Response::Json(200, kSmall));
      return;
    }
    reply(http::Response::EventStream([&](std::shared_ptr<http::Stream> st) {
      auto t0 = sched.clock().Now();
      for (int i = 0; i < tokens; ++i) {
        sched.ScheduleAt(t0 + std::chrono::milliseconds(interval_ms) * (i + 1),
                         [st, &chunk, &usage, i, tokens] {
                           st->Write(chunk);
                           if (i == tokens - 1) {
                             st->Write(usage);
                             st->Write(http::SseEvent("[DONE]"));
                             st->Close();
                           }
                         });
      }
    }));
  });
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.error().ToString().c_str());
    return 1;
  }
  std::printf("port %d\n", (*server)->port());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  (*server)->Stop(std::chrono::milliseconds(100));
  return 0;
}
