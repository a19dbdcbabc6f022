// A child process for `gpuscale up`: started with fork/exec, output appended to a log file,
// killed by the kernel if `up` itself dies (PR_SET_PDEATHSIG), so no replica outlives it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gpuscale::local {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] searched in PATH when it has no '/'
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) ours
  std::string log_path;  // stdout and stderr are appended here; empty: /dev/null
};

// Owns one child. Not thread-safe. The destructor kills (SIGKILL) and reaps a running child.
class ChildProcess {
 public:
  // Errors: kNotFound when the program cannot be executed (reported by the child before exec
  // fails), kInternal for fork/pipe failures.
  static core::Result<ChildProcess> Spawn(const ProcessSpec& spec);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  void Signal(int signal) const;
  // Reaps without blocking: the exit status as a shell shows it (code or 128+signal), or
  // nullopt while the child runs. Once reaped, keeps returning the same status.
  std::optional<int> Poll();
  bool running() { return !Poll().has_value(); }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// A TCP port that was free on `address` a moment ago (bind port 0, read it back, close).
// Errors name the address.
core::Result<std::uint16_t> FreeTcpPort(const std::string& address);

// Splits a command line into words like a POSIX shell without expansions: whitespace separates,
// single quotes keep everything, double quotes keep all but \" and \\, backslash escapes.
core::Result<std::vector<std::string>> SplitCommandLine(const std::string& command);

}  // namespace gpuscale::local
