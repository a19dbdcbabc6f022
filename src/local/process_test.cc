#include "local/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

namespace gpuscale::local {
namespace {

std::optional<int> WaitExit(ChildProcess& p) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto s = p.Poll()) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::nullopt;
}

TEST(SplitCommandLineTest, QuotesAndEscapes) {
  auto words = SplitCommandLine(R"(vllm serve 'my model' --x "a \"b\"" c\ d)");
  ASSERT_TRUE(words.ok());
  EXPECT_EQ(*words,
            (std::vector<std::string>{"vllm", "serve", "my model", "--x", "a \"b\"", "c d"}));
  EXPECT_EQ(SplitCommandLine("a 'b").error().message, "command: unterminated ' at column 3");
  EXPECT_EQ(SplitCommandLine("   ").error().message, "command: empty");
}

TEST(ChildProcessTest, RunsWithEnvironmentAndLog) {
  std::string log = std::filesystem::temp_directory_path() /
                    ("local_process_test_" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(log);
  auto p = ChildProcess::Spawn({.argv = {"sh", "-c", "echo gpu=$CUDA_VISIBLE_DEVICES; exit 7"},
                                .env = {{"CUDA_VISIBLE_DEVICES", "3"}},
                                .log_path = log});
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(WaitExit(*p), 7);
  std::ifstream in(log);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "gpu=3");
  std::filesystem::remove(log);
}

TEST(ChildProcessTest, ChildInheritsNoDescriptorsBeyondStandardOnes) {
  int sock = ::socket(AF_INET, SOCK_STREAM, 0);  // no SOCK_CLOEXEC, as Asio opens sockets
  ASSERT_GE(sock, 0);
  int fd = ::fcntl(sock, F_DUPFD, 100);  // a number `ls` itself will not use
  ::close(sock);
  ASSERT_GE(fd, 100);
  std::string log = std::filesystem::temp_directory_path() /
                    ("local_process_fds_" + std::to_string(::getpid()) + ".log");
  auto p = ChildProcess::Spawn({.argv = {"sh", "-c", "ls /proc/self/fd"}, .log_path = log});
  ::close(fd);
  ASSERT_TRUE(p.ok()) << p.error().ToString();
  EXPECT_EQ(WaitExit(*p), 0);
  std::ifstream in(log);
  std::string listing((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(listing.find(std::to_string(fd) + "\n"), std::string::npos) << listing;
  std::filesystem::remove(log);
}

TEST(ChildProcessTest, MissingProgramIsNotFound) {
  auto p = ChildProcess::Spawn({.argv = {"/no/such/engine", "--port", "1"}});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().code, core::Code::kNotFound);
  EXPECT_EQ(p.error().message, "cannot run '/no/such/engine': No such file or directory");
}

TEST(ChildProcessTest, SignalAndDestructorKill) {
  auto p = ChildProcess::Spawn({.argv = {"sleep", "60"}});
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->running());
  p->Signal(SIGTERM);
  EXPECT_EQ(WaitExit(*p), 128 + SIGTERM);
  pid_t pid;
  {
    auto q = ChildProcess::Spawn({.argv = {"sleep", "60"}});
    ASSERT_TRUE(q.ok());
    pid = q->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // killed and reaped by the destructor
}

TEST(FreeTcpPortTest, ReturnsAPortOrANamedError) {
  auto port = FreeTcpPort("127.0.0.1");
  ASSERT_TRUE(port.ok());
  EXPECT_GT(*port, 0);
  EXPECT_EQ(FreeTcpPort("not-an-ip").error().message, "not-an-ip: expected an IPv4 address");
}

}  // namespace
}  // namespace gpuscale::local
