// Helpers for multi-process tests: child processes in their own process group, free loopback
// ports, polling with deadlines, temporary directories, and the path of the gpuscale binary.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gpuscale::testing {

// A child process started in a new process group, with stdout and stderr appended to a log
// file. The destructor stops the whole group (SIGTERM, then SIGKILL after the grace period).
class Subprocess {
 public:
  struct Options {
    std::vector<std::string> argv;  // argv[0] is the program (searched in PATH if no '/')
    std::vector<std::pair<std::string, std::string>> env;  // added to the parent's environment
    std::string cwd;                                       // empty: the parent's
    std::string log_file;  // empty: a file in the temporary directory, see log_path()
  };

  static core::Result<std::unique_ptr<Subprocess>> Start(Options options);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string ReadLog() const;
  // True while the child has not exited (reaps it if it has).
  bool Running();
  // Sends `signal` to the child's process group.
  void Signal(int signal);
  // Waits up to `timeout` for the child to exit; returns its exit status as the shell shows
  // it (code, or 128+signal), or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // SIGTERM to the group, waits up to `grace`, then SIGKILL. Returns the exit status.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

 private:
  Subprocess(pid_t pid, std::string log_path) : pid_(pid), log_path_(std::move(log_path)) {}
  pid_t pid_;
  std::string log_path_;
  std::optional<int> exit_status_;
};

// A port that was free on 127.0.0.1 a moment ago (bind to port 0, read it, close).
std::uint16_t FreePort();
// Polls a TCP connect to 127.0.0.1:`port` until it succeeds or `timeout` passes.
bool WaitForPort(std::uint16_t port, std::chrono::milliseconds timeout);
// Polls `condition` every `interval` until it holds or `timeout` passes.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval = std::chrono::milliseconds(20));
// Creates a fresh directory under $TMPDIR (or /tmp).
std::string MakeTempDir(std::string_view prefix);
// The gpuscale binary built with this tree ($GPUSCALE_BIN overrides).
std::string GpuscaleBinary();
// Reads a whole file ("" if missing).
std::string ReadFile(const std::string& path);
// Runs a command to completion (stdin closed), capturing stdout+stderr. Returns the exit status
// as the shell shows it, or an error if it could not start or ran past `timeout`.
core::Result<int> RunCommand(const std::vector<std::string>& argv, std::string* output,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

// Runs a command to completion and returns its standard output alone; a non-zero exit is a
// kFailedPrecondition error carrying the command and its standard error.
core::Result<std::string> RunForOutput(
    const std::vector<std::string>& argv,
    std::chrono::milliseconds timeout = std::chrono::milliseconds(120000));

}  // namespace gpuscale::testing
