// Starting a child process with fork/exec. The one place that forks, so what a child inherits
// (descriptors 0-2 only, stdin from /dev/null, default signal handling) is the same everywhere.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gpuscale::core {

struct SpawnSpec {
  // argv[0] is the program, searched in the child's PATH (ours unless `env` sets one) when it
  // has no '/', as execvp does.
  std::vector<std::string> argv;
  // Added to our environment; a name we already have is replaced.
  std::vector<std::pair<std::string, std::string>> env;
  // The child's working directory; empty: ours.
  std::string cwd;
  // stdout and stderr are appended here (created 0644 if missing); empty: /dev/null.
  std::string log_path;
  // The child leads a new process group (pgid = pid), so a signal to -pid reaches its children.
  bool new_process_group = false;
  // The kernel SIGKILLs the child when the thread that spawned it exits (PR_SET_PDEATHSIG).
  bool die_with_parent = false;
};

// Starts `spec`, returning the child's pid; the caller reaps it. Errors: kInvalidArgument for an
// empty argv; kNotFound naming the program when it cannot be executed or `cwd` cannot be entered
// (the child reports errno and is reaped here); kInternal when the log, a pipe or fork fails.
Result<pid_t> Spawn(const SpawnSpec& spec);

// A waitpid() status as a shell shows it: the exit code, or 128+signal; -1 for anything else
// (a stopped or continued child).
int DecodeWaitStatus(int wait_status);

}  // namespace gpuscale::core
