// The `gpuscale engine` process: start-up delay (not listening, as vLLM while it loads the
// model), serving, and SIGTERM/SIGINT draining. Blocks until a signal ends it.
#pragma once

#include <string>

#include "engine/server.h"

namespace gpuscale::engine {

struct RunOptions {
  std::string profile = "gemma-3-1b-it-l4";  // a built-in profile name
  std::string model;                         // --model: must match the profile's model if set
  EngineServerOptions server;
  Duration startup_delay{0};                         // before the port opens
  Duration drain_timeout = std::chrono::seconds(5);  // SIGTERM: time in-flight requests get
  bool seed_given = false;                           // false: a random seed is drawn and logged
};

// Returns the process exit code: 0 after a signal-driven stop, 1 when start-up fails (the
// error is logged). Blocks SIGTERM and SIGINT in the calling thread: call before other threads
// start.
int RunEngine(RunOptions options);

}  // namespace gpuscale::engine
