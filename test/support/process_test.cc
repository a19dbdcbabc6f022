#include "test/support/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

namespace gpuscale::testing {
namespace {

TEST(SubprocessTest, CapturesOutputAndExitStatus) {
  std::string out;
  auto status = RunCommand({"sh", "-c", "echo hello; echo oops >&2; exit 3"}, &out);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(*status, 3);
  EXPECT_EQ(out, "hello\noops\n");
}

TEST(SubprocessTest, ChildInheritsNoDescriptorsBeyondStandardOnes) {
  int sock = ::socket(AF_INET, SOCK_STREAM, 0);  // no SOCK_CLOEXEC, as Asio opens sockets
  ASSERT_GE(sock, 0);
  int fd = ::fcntl(sock, F_DUPFD, 100);  // a number `ls` itself will not use
  ::close(sock);
  ASSERT_GE(fd, 100);
  std::string out;
  auto status = RunCommand({"/bin/sh", "-c", "ls /proc/self/fd"}, &out);
  ::close(fd);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(out.find(std::to_string(fd) + "\n"), std::string::npos) << out;
}

TEST(SubprocessTest, MissingProgramIsAnError) {
  auto proc = Subprocess::Start({.argv = {"/nonexistent/program"}});
  ASSERT_FALSE(proc.ok());
  EXPECT_EQ(proc.error().code, core::Code::kNotFound);
  EXPECT_EQ(proc.error().message, "cannot run '/nonexistent/program': No such file or directory");
}

TEST(SubprocessTest, StopKillsTheWholeGroup) {
  auto proc = Subprocess::Start({.argv = {"sh", "-c", "sleep 300 & echo $! ; wait"}});
  ASSERT_TRUE(proc.ok());
  std::string log;
  ASSERT_TRUE(
      WaitFor([&] { return !(log = (*proc)->ReadLog()).empty(); }, std::chrono::seconds(10)));
  pid_t grandchild = std::stoi(log);
  EXPECT_EQ(::kill(grandchild, 0), 0);
  (*proc)->Stop(std::chrono::milliseconds(2000));
  EXPECT_TRUE(WaitFor([&] { return ::kill(grandchild, 0) != 0; }, std::chrono::seconds(5)));
}

TEST(SubprocessTest, TimeoutIsReported) {
  auto status = RunCommand({"sleep", "30"}, nullptr, std::chrono::milliseconds(100));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, core::Code::kDeadlineExceeded);
}

TEST(PortTest, FreePortIsUsableAndWaitForPortTimesOut) {
  std::uint16_t port = FreePort();
  EXPECT_GT(port, 0);
  EXPECT_FALSE(WaitForPort(port, std::chrono::milliseconds(50)));
}

}  // namespace
}  // namespace gpuscale::testing
