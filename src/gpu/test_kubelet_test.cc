// The pod-resources client against the test kubelet over a real unix socket.
#include "gpu/test_kubelet.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace gpuscale::gpu {
namespace {

using namespace std::chrono_literals;

std::string TempDir() {
  std::string templ = "/tmp/gsk_XXXXXX";  // short: unix socket paths are limited to 108 bytes
  return mkdtemp(templ.data());
}

class TestKubeletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    socket_ = dir_ + "/kubelet.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, socket_;
};

const std::vector<ContainerDevices> kPods = {
    {"vllm-0", "default", "vllm", "nvidia.com/gpu", {"GPU-a", "GPU-b"}},
    {"vllm-0", "default", "sidecar", "nvidia.com/gpu", {"GPU-c"}},
    {"trainer", "ml", "main", "nvidia.com/mig-1g.10gb", {"MIG-x"}},
};

TEST_F(TestKubeletTest, ListReturnsTheMapping) {
  auto kubelet = TestKubelet::Start(socket_);
  ASSERT_TRUE(kubelet.ok()) << kubelet.error().ToString();
  (*kubelet)->SetContainers(kPods);
  auto client = PodResourcesClient::Create(socket_);
  auto list = client->List(5s);
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  EXPECT_EQ(*list, kPods);
  EXPECT_EQ((*kubelet)->list_calls(), 1);
}

TEST_F(TestKubeletTest, MissingSocketIsUnavailableThenRecovers) {
  auto client = PodResourcesClient::Create(socket_);
  auto missing = client->List(2s);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, core::Code::kUnavailable);
  EXPECT_EQ(missing.error().message, socket_ + ": pod-resources socket not found");
  auto kubelet = TestKubelet::Start(socket_);
  ASSERT_TRUE(kubelet.ok());
  (*kubelet)->SetContainers(kPods);
  auto list = client->List(5s);
  ASSERT_TRUE(list.ok()) << list.error().ToString();
  EXPECT_EQ(list->size(), 3u);
  (*kubelet)->Stop();
  EXPECT_FALSE(client->List(2s).ok());
}

TEST_F(TestKubeletTest, LargeAnswersNeedTheRaisedReceiveLimit) {
  auto kubelet = TestKubelet::Start(socket_);
  ASSERT_TRUE(kubelet.ok());
  (*kubelet)->SetContainers(kPods);
  (*kubelet)->SetPadding(5 << 20);  // > gRPC's default 4 MiB
  auto small = PodResourcesClient::Create(socket_, 4 << 20)->List(10s);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message.find("larger than max"), std::string::npos)
      << small.error().message;
  auto large = PodResourcesClient::Create(socket_)->List(10s);
  ASSERT_TRUE(large.ok()) << large.error().ToString();
}

TEST_F(TestKubeletTest, ServesAMappingFileAndFollowsItsChanges) {
  std::string path = dir_ + "/mapping";
  std::ofstream(path) << "# allocations\ndefault/vllm-0/vllm nvidia.com/gpu GPU-a,GPU-b\n";
  auto kubelet = TestKubelet::Start(socket_);
  ASSERT_TRUE(kubelet.ok());
  ASSERT_TRUE((*kubelet)->ServeFile(path).ok());
  auto client = PodResourcesClient::Create(socket_);
  auto list = client->List(5s);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].device_ids, (std::vector<std::string>{"GPU-a", "GPU-b"}));
  // Rewrite with a new mtime (write then rename, as an editor or test would).
  std::ofstream(path + ".new") << "ml/trainer/main nvidia.com/gpu GPU-z\n";
  std::filesystem::rename(path + ".new", path);
  list = client->List(5s);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].pod, "trainer");
}

TEST(MappingTest, ParsesAndRejectsWithFileAndLine) {
  auto ok = ParseMapping("a/b/c nvidia.com/gpu X,Y\n\n# x\n", "m");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, (std::vector<ContainerDevices>{{"b", "a", "c", "nvidia.com/gpu", {"X", "Y"}}}));
  EXPECT_EQ(ParseMapping(FormatMapping(*ok), "m").value(), *ok);
  EXPECT_EQ(ParseMapping("ok/ok/ok r X\na/b r X\n", "map.txt").error().message,
            "map.txt:2: expected <namespace>/<pod>/<container>, found 'a/b'");
  EXPECT_EQ(ParseMapping("a/b/c r\n", "m").error().message,
            "m:1: expected '<namespace>/<pod>/<container> <resource> <id>[,<id>...]', found "
            "'a/b/c r'");
  EXPECT_EQ(ParseMapping("a/b/c r X,,Y\n", "m").error().message, "m:1: empty device id in 'X,,Y'");
}

}  // namespace
}  // namespace gpuscale::gpu
