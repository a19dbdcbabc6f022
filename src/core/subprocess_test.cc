#include "core/subprocess.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace gpuscale::core {
namespace {

// Polls for the child's exit with a deadline; on timeout kills it so no test leaves one behind.
std::optional<int> Reap(pid_t pid, std::chrono::seconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) return DecodeWaitStatus(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return std::nullopt;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

void WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path, std::ios::binary) << text;
  ::chmod(path.c_str(), mode);
}

// A fresh directory, removed with everything in it at the end of the test.
class SubprocessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = std::filesystem::temp_directory_path() / "gpuscale-subprocess-XXXXXX";
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    log_ = dir_ + "/log";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs `spec` to completion with output in log_; returns the exit status.
  std::optional<int> Run(SpawnSpec spec) {
    spec.log_path = log_;
    auto pid = Spawn(spec);
    if (!pid.ok()) {
      ADD_FAILURE() << pid.error().ToString();
      return std::nullopt;
    }
    return Reap(*pid);
  }

  std::string dir_;
  std::string log_;
};

TEST_F(SubprocessTest, MissingProgramIsNotFound) {
  auto pid = Spawn({.argv = {"/no/such/program", "--flag"}});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().code, Code::kNotFound);
  EXPECT_EQ(pid.error().message, "cannot run '/no/such/program': No such file or directory");

  pid = Spawn({.argv = {"gpuscale-no-such-program"}});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().code, Code::kNotFound);
  EXPECT_EQ(pid.error().message,
            "cannot run 'gpuscale-no-such-program': No such file or directory");

  EXPECT_EQ(Spawn({}).error().code, Code::kInvalidArgument);
}

TEST_F(SubprocessTest, SearchesThePathTheChildGets) {
  std::string bin = dir_ + "/bin";
  std::filesystem::create_directory(bin);
  WriteFile(bin + "/gpuscale-hello", "#!/bin/sh\necho hello \"$@\"\n", 0755);
  // No "#!": the kernel refuses it (ENOEXEC) and, as with execvp, /bin/sh runs it.
  WriteFile(bin + "/gpuscale-script", "echo script \"$@\"\n", 0755);
  WriteFile(bin + "/gpuscale-denied", "#!/bin/sh\necho denied\n", 0644);
  std::string path = bin + ":/usr/bin:/bin";

  EXPECT_EQ(Run({.argv = {"gpuscale-hello", "a b"}, .env = {{"PATH", path}}}), 0);
  EXPECT_EQ(Run({.argv = {"gpuscale-script", "c"}, .env = {{"PATH", path}}}), 0);
  EXPECT_EQ(ReadFile(log_), "hello a b\nscript c\n");

  auto denied = Spawn({.argv = {"gpuscale-denied"}, .env = {{"PATH", path}}});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().message, "cannot run 'gpuscale-denied': Permission denied");
  // Our own PATH does not have the directory.
  EXPECT_EQ(Spawn({.argv = {"gpuscale-hello"}}).error().code, Code::kNotFound);
}

TEST_F(SubprocessTest, EnvironmentIsAddedToOursAndReplacesSameNames) {
  ASSERT_EQ(::setenv("GPUSCALE_SUBPROCESS_TEST_OLD", "ours", 1), 0);
  auto status = Run({.argv = {"sh", "-c",
                              "echo $GPUSCALE_SUBPROCESS_TEST_OLD $GPUSCALE_SUBPROCESS_TEST_NEW; "
                              "env | grep -c ^GPUSCALE_SUBPROCESS_TEST_OLD=; echo $HOME"},
                     .env = {{"GPUSCALE_SUBPROCESS_TEST_OLD", "replaced"},
                             {"GPUSCALE_SUBPROCESS_TEST_NEW", "added"}}});
  ::unsetenv("GPUSCALE_SUBPROCESS_TEST_OLD");
  EXPECT_EQ(status, 0);
  const char* home = std::getenv("HOME");
  EXPECT_EQ(ReadFile(log_), std::string("replaced added\n1\n") + (home ? home : "") + "\n");
}

TEST_F(SubprocessTest, RunsInTheGivenDirectory) {
  EXPECT_EQ(Run({.argv = {"pwd"}, .cwd = dir_}), 0);
  EXPECT_EQ(ReadFile(log_), std::filesystem::canonical(dir_).string() + "\n");

  auto pid = Spawn({.argv = {"pwd"}, .cwd = dir_ + "/missing"});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().code, Code::kNotFound);
  EXPECT_EQ(pid.error().message,
            "cannot run 'pwd' in " + dir_ + "/missing: No such file or directory");
}

TEST_F(SubprocessTest, OutputIsAppendedToTheLogAndStdinIsDevNull) {
  WriteFile(log_, "before\n", 0644);
  EXPECT_EQ(Run({.argv = {"sh", "-c", "echo out; echo err >&2; cat; readlink /proc/self/fd/0"}}),
            0);
  EXPECT_EQ(ReadFile(log_), "before\nout\nerr\n/dev/null\n");

  auto pid = Spawn({.argv = {"true"}, .log_path = dir_ + "/no/such/dir/log"});
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.error().code, Code::kInternal);
  EXPECT_EQ(pid.error().message,
            dir_ + "/no/such/dir/log: cannot open log file: No such file or directory");
}

TEST_F(SubprocessTest, ChildInheritsNoDescriptorsBeyondStandardOnes) {
  int inheritable = ::dup(STDERR_FILENO);  // dup() leaves FD_CLOEXEC off, as Asio's sockets have it
  ASSERT_GE(inheritable, 3);
  // A process with many connections has descriptors past 4096 too, where the limit allows.
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  const int high = limit.rlim_cur > 5000 ? ::dup2(STDERR_FILENO, 5000) : -1;
  auto status = Run({.argv = {"ls", "/proc/self/fd"}});
  ::close(inheritable);
  if (high >= 0) ::close(high);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(ReadFile(log_), "0\n1\n2\n3\n");  // 3: the directory `ls` is reading
}

TEST_F(SubprocessTest, NewProcessGroup) {
  auto leader = Spawn({.argv = {"sleep", "60"}, .new_process_group = true});
  ASSERT_TRUE(leader.ok()) << leader.error().ToString();
  EXPECT_EQ(::getpgid(*leader), *leader);  // already on return: the parent sets it too
  auto member = Spawn({.argv = {"sleep", "60"}});
  ASSERT_TRUE(member.ok()) << member.error().ToString();
  EXPECT_EQ(::getpgid(*member), ::getpgrp());
  ::kill(-*leader, SIGTERM);
  ::kill(*member, SIGKILL);
  EXPECT_EQ(Reap(*leader), 128 + SIGTERM);
  EXPECT_EQ(Reap(*member), 128 + SIGKILL);
}

TEST_F(SubprocessTest, DiesWithTheThreadThatSpawnedIt) {
  Result<pid_t> pid = InvalidArgument("not started");
  std::thread([&] { pid = Spawn({.argv = {"sleep", "60"}, .die_with_parent = true}); }).join();
  ASSERT_TRUE(pid.ok()) << pid.error().ToString();
  EXPECT_EQ(Reap(*pid), 128 + SIGKILL);
}

TEST_F(SubprocessTest, DecodesExitCodesAndSignals) {
  EXPECT_EQ(Run({.argv = {"sh", "-c", "exit 7"}}), 7);
  EXPECT_EQ(Run({.argv = {"sh", "-c", "kill -TERM $$"}}), 128 + SIGTERM);
  // The child starts with default dispositions and an empty mask whatever ours are.
  sigset_t term, old;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  auto status = Run({.argv = {"sh", "-c", "kill -TERM $$; exit 0"}});
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(status, 128 + SIGTERM);
}

}  // namespace
}  // namespace gpuscale::core
