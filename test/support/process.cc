#include "test/support/process.h"

#include <arpa/inet.h>
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

#include "core/subprocess.h"

namespace gpuscale::testing {

core::Result<std::unique_ptr<Subprocess>> Subprocess::Start(Options options) {
  if (options.argv.empty()) return core::InvalidArgument("Subprocess: empty argv");
  std::string log_path = options.log_file;
  if (log_path.empty()) {
    std::string name = std::filesystem::path(options.argv[0]).filename().string();
    log_path = MakeTempDir("gpuscale-proc") + "/" + name + ".log";
  }
  core::SpawnSpec spec{.argv = std::move(options.argv),
                       .env = std::move(options.env),
                       .cwd = std::move(options.cwd),
                       .log_path = log_path,
                       .new_process_group = true};
  GPUSCALE_ASSIGN_OR_RETURN(pid_t pid, core::Spawn(spec));
  return std::unique_ptr<Subprocess>(new Subprocess(pid, std::move(log_path)));
}

Subprocess::~Subprocess() { Stop(); }

std::string Subprocess::ReadLog() const { return ReadFile(log_path_); }

bool Subprocess::Running() {
  if (exit_status_) return false;
  int status;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_status_ = core::DecodeWaitStatus(status);
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
      exit_status_ = core::DecodeWaitStatus(status);
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
