#include "test/support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace gpuscale::testing {

namespace {
int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}
}  // namespace

core::Result<std::unique_ptr<Subprocess>> Subprocess::Start(Options options) {
  if (options.argv.empty()) return core::InvalidArgument("Subprocess: empty argv");
  std::string log_path = options.log_file;
  if (log_path.empty()) {
    std::string name = std::filesystem::path(options.argv[0]).filename().string();
    log_path = MakeTempDir("gpuscale-proc") + "/" + name + ".log";
  }
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return core::Internal(fmt::format("{}: cannot open log: {}", log_path, std::strerror(errno)));
  }
  // Build argv/envp before fork: the child may only call async-signal-safe functions.
  std::vector<char*> argv;
  for (auto& a : options.argv) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    bool overridden = false;
    for (auto& [k, v] : options.env) {
      if (kv.substr(0, kv.find('=')) == k) overridden = true;
    }
    if (!overridden) env_storage.emplace_back(kv);
  }
  for (auto& [k, v] : options.env) env_storage.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);

  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(log_fd);
    return core::Internal("pipe2 failed");
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return core::Internal(fmt::format("fork failed: {}", std::strerror(errno)));
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    // The child gets stdin/stdout/stderr only: an inherited listening socket of the test's
    // own servers would keep their ports bound (and accepting, unanswered) after they stop.
    for (int fd = 3; fd < 4096; ++fd) {
      int flags = ::fcntl(fd, F_GETFD);
      if (flags >= 0) ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    }
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(err_pipe[1], &e, sizeof e);
      ::_exit(127);
    }
    ::execvpe(argv[0], argv.data(), envp.data());
    int e = errno;
    (void)!::write(err_pipe[1], &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also in the parent, so signals to the group work at once
  ::close(log_fd);
  ::close(err_pipe[1]);
  int child_errno = 0;
  ssize_t n = ::read(err_pipe[0], &child_errno, sizeof child_errno);
  ::close(err_pipe[0]);
  if (n == sizeof child_errno) {
    int status;
    ::waitpid(pid, &status, 0);
    return core::NotFound(
        fmt::format("cannot start {}: {}", options.argv[0], std::strerror(child_errno)));
  }
  return std::unique_ptr<Subprocess>(new Subprocess(pid, log_path));
}

Subprocess::~Subprocess() { Stop(); }

std::string Subprocess::ReadLog() const { return ReadFile(log_path_); }

bool Subprocess::Running() {
  if (exit_status_) return false;
  int status;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = DecodeStatus(status);
    return false;
  }
  return r == 0;
}

void Subprocess::Signal(int signal) { ::kill(-pid_, signal); }

std::optional<int> Subprocess::Wait(std::chrono::milliseconds timeout) {
  WaitFor([this] { return !Running(); }, timeout, std::chrono::milliseconds(5));
  return exit_status_;
}

int Subprocess::Stop(std::chrono::milliseconds grace) {
  if (Running()) {
    ::kill(-pid_, SIGTERM);
    if (!Wait(grace)) {
      ::kill(-pid_, SIGKILL);
      int status;
      ::waitpid(pid_, &status, 0);
      exit_status_ = DecodeStatus(status);
    }
  }
  // Children that outlived the leader still belong to the group.
  ::kill(-pid_, SIGKILL);
  return exit_status_.value_or(-1);
}

std::uint16_t FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool WaitForPort(std::uint16_t port, std::chrono::milliseconds timeout) {
  return WaitFor(
      [port] {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(port);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        return ok;
      },
      timeout);
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds interval) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::string MakeTempDir(std::string_view prefix) {
  const char* base = std::getenv("TMPDIR");
  std::string templ = fmt::format("{}/{}-XXXXXX", base && *base ? base : "/tmp", prefix);
  if (!::mkdtemp(templ.data())) {
    core::AbortWithMessage("mkdtemp failed: ", std::strerror(errno));
  }
  return templ;
}

std::string GpuscaleBinary() {
  if (const char* bin = std::getenv("GPUSCALE_BIN"); bin && *bin) return bin;
  return GPUSCALE_BINARY_PATH;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

core::Result<int> RunCommand(const std::vector<std::string>& argv, std::string* output,
                             std::chrono::milliseconds timeout) {
  std::string dir = MakeTempDir("gpuscale-cmd");
  Subprocess::Options options;
  options.argv = argv;
  options.log_file = dir + "/output";
  auto proc = Subprocess::Start(options);
  if (!proc.ok()) return std::move(proc).error();
  auto status = (*proc)->Wait(timeout);
  if (output) *output = (*proc)->ReadLog();
  std::filesystem::remove_all(dir);
  if (!status) {
    (*proc)->Stop(std::chrono::milliseconds(100));
    return core::DeadlineExceeded(fmt::format("{} ran past {} ms", argv[0], timeout.count()));
  }
  return *status;
}

core::Result<std::string> RunForOutput(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds timeout) {
  std::string dir = MakeTempDir("gpuscale-cmd");
  std::string out_file = dir + "/stdout", err_file = dir + "/stderr";
  std::vector<std::string> sh = {"/bin/sh", "-c",
                                 "out=$0 err=$1; shift; exec \"$@\" >\"$out\" 2>\"$err\"", out_file,
                                 err_file};
  sh.insert(sh.end(), argv.begin(), argv.end());
  std::string ignored;
  auto status = RunCommand(sh, &ignored, timeout);
  std::string out = ReadFile(out_file), err = ReadFile(err_file);
  std::filesystem::remove_all(dir);
  if (!status.ok()) return std::move(status).error();
  if (*status != 0) {
    std::string command;
    for (const auto& a : argv) command += (command.empty() ? "" : " ") + a;
    return core::FailedPrecondition("`" + command + "` exited " + std::to_string(*status) + ": " +
                                    err);
  }
  return out;
}

}  // namespace gpuscale::testing
