#include "core/subprocess.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

extern char** environ;

namespace gpuscale::core {

namespace {

// Closes the descriptor when it goes out of scope in the parent. The child never returns from
// Spawn, so it never runs these destructors.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Close(); }
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// What the child writes to the error pipe before it exits 127.
struct ChildFailure {
  enum Step : int { kChdir, kExec } step;
  int error;
};

// Null-terminated pointers into `strings`, which must outlive them.
std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  pointers.reserve(strings.size() + 1);
  for (auto& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Our environment with `env` added, replacing variables of the same name.
std::vector<std::string> MergeEnvironment(
    const std::vector<std::pair<std::string, std::string>>& env) {
  std::vector<std::string> merged;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, kv.find('='));
    bool replaced = false;
    for (const auto& [k, v] : env) replaced = replaced || key == k;
    if (!replaced) merged.emplace_back(kv);
  }
  for (const auto& [k, v] : env) merged.push_back(k + "=" + v);
  return merged;
}

// The value of PATH in `environment` (the first one, as getenv finds), or null when unset.
const char* FindPath(const std::vector<std::string>& environment) {
  for (const auto& kv : environment) {
    if (kv.starts_with("PATH=")) return kv.c_str() + 5;
  }
  return nullptr;
}

// The files execvp would try for `program`, in order, with `path` the PATH to search (null:
// unset). Searching here rather than in the child uses the PATH the child will have (execvpe
// would use ours) and leaves the child only execve to call.
std::vector<std::string> ExecCandidates(const std::string& program, const char* path) {
  if (program.empty()) return {};
  if (program.find('/') != std::string::npos) return {program};
  std::string_view dirs = path ? path : "/bin:/usr/bin";  // glibc's search path without PATH
  std::vector<std::string> files;
  for (;;) {
    size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    // An empty entry is the current directory.
    files.push_back(dir.empty() ? program : fmt::format("{}/{}", dir, program));
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return files;
}

// Runs in the child, so async-signal-safe calls only. Tries `files` (null-terminated) as execvp
// does: a file the kernel cannot execute (ENOEXEC) runs as a /bin/sh script, a missing or
// forbidden file moves on to the next, any other error stops. Returns the errno to report:
// EACCES if some file was forbidden and none ran.
int ExecFirst(char* const* files, char* const* argv, char** script_argv, char* const* envp) {
  bool denied = false;
  int error = ENOENT;
  for (; *files; ++files) {
    ::execve(*files, argv, envp);
    if (errno == ENOEXEC) {
      script_argv[1] = *files;
      ::execve(script_argv[0], script_argv, envp);
    }
    error = errno;
    switch (error) {
      case EACCES:
        denied = true;
        break;
      case ENOENT:
      case ENOTDIR:
      case ESTALE:
      case ENODEV:
      case ETIMEDOUT:
        break;
      default:
        return error;
    }
  }
  return denied ? EACCES : error;
}

}  // namespace

Result<pid_t> Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) return InvalidArgument("spawn: empty argv");
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> argv_storage = spec.argv;
  std::vector<char*> argv = Pointers(argv_storage);
  std::vector<std::string> env_storage = MergeEnvironment(spec.env);
  std::vector<char*> envp = Pointers(env_storage);
  std::vector<std::string> file_storage = ExecCandidates(spec.argv[0], FindPath(env_storage));
  std::vector<char*> files = Pointers(file_storage);
  std::string shell = "/bin/sh";
  std::vector<char*> script_argv = {shell.data(), nullptr};  // [1] is set to the script
  script_argv.insert(script_argv.end(), argv.begin() + 1, argv.end());

  std::string log_path = spec.log_path.empty() ? "/dev/null" : spec.log_path;
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (log.get() < 0) {
    return Internal(fmt::format("{}: cannot open log file: {}", log_path, std::strerror(errno)));
  }
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (null.get() < 0) {
    return Internal(fmt::format("/dev/null: cannot open: {}", std::strerror(errno)));
  }
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    return Internal(fmt::format("pipe2: {}", std::strerror(errno)));
  }
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);

  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Internal(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    if (spec.die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    }
    if (spec.new_process_group) ::setpgid(0, 0);
    // Default dispositions and an empty mask: the parent may block signals for its own threads.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(null.get(), 0);
    ::dup2(log.get(), 1);
    ::dup2(log.get(), 2);
    // Only stdin/stdout/stderr cross exec: Asio opens sockets without SOCK_CLOEXEC, and a child
    // holding a listening socket of its parent's servers (the router, the metrics API, a test's
    // fake) would keep that port bound, and accepting unanswered, after the server stops.
    // One call marks every descriptor (Linux 5.11+); older kernels get the first 4096 marked.
    if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
      for (int fd = 3; fd < 4096; ++fd) {
        int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
      }
    }
    ChildFailure failure{ChildFailure::kExec, 0};
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
      failure = {ChildFailure::kChdir, errno};
    } else {
      failure.error = ExecFirst(files.data(), argv.data(), script_argv.data(), envp.data());
    }
    (void)!::write(err_write.get(), &failure, sizeof failure);
    ::_exit(127);
  }
  if (spec.new_process_group) ::setpgid(pid, pid);  // here too, so the group exists on return
  log.Close();
  null.Close();
  err_write.Close();
  // The pipe closes at exec (CLOEXEC) with nothing written, or carries why the child gave up.
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(err_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n != sizeof failure) return pid;
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const char* reason = std::strerror(failure.error);
  if (failure.step == ChildFailure::kChdir) {
    return NotFound(fmt::format("cannot run '{}' in {}: {}", spec.argv[0], spec.cwd, reason));
  }
  return NotFound(fmt::format("cannot run '{}': {}", spec.argv[0], reason));
}

int DecodeWaitStatus(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace gpuscale::core
