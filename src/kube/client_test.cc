#include "kube/client.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace gpuscale::kube {
namespace {

std::string WriteTemp(const std::string& text) {
  char name[] = "/tmp/gpuscale-kubeconfig-XXXXXX";
  int fd = mkstemp(name);
  EXPECT_GE(fd, 0);
  std::FILE* f = fdopen(fd, "w");
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return name;
}

TEST(KubeConfig, CurrentContextWithInlineDataAndToken) {
  const std::string path = WriteTemp(
      "apiVersion: v1\nkind: Config\ncurrent-context: b\n"
      "clusters:\n- name: c1\n  cluster:\n    server: https://127.0.0.1:6443/\n"
      "    certificate-authority-data: aGVsbG8=\n"
      "contexts:\n- name: a\n  context: {cluster: nope, user: u}\n- name: b\n  context: {cluster: "
      "c1, user: u}\n"
      "users:\n- name: u\n  user:\n    token: abc\n    client-certificate: certs/admin.crt\n");
  auto c = LoadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");
  EXPECT_EQ(c->token, "abc");
  EXPECT_EQ(c->tls.cert_file, "/tmp/certs/admin.crt");
  std::ifstream ca(c->tls.ca_file);
  std::string data;
  std::getline(ca, data);
  EXPECT_EQ(data, "hello");
  std::remove(path.c_str());
}

TEST(KubeConfig, ErrorsNameTheFileAndField) {
  const std::string path = WriteTemp("current-context: x\ncontexts: []\n");
  EXPECT_EQ(LoadKubeconfig(path).error().message, path + ": contexts: no context named \"x\"");
  std::remove(path.c_str());
  EXPECT_FALSE(LoadKubeconfig("/nonexistent/kubeconfig").ok());
}

TEST(KubeJson, DecodesListsEventsAndConfigMaps) {
  auto list =
      DecodeObjectList(R"({"kind":"PodList","metadata":{"resourceVersion":"42"},"items":[)"
                       R"({"metadata":{"namespace":"ns","name":"web-1","labels":{"app":"web"}}},)"
                       R"({"metadata":{"namespace":"ns","name":"web-2"}}]})");
  ASSERT_TRUE(list.ok()) << list.error().message;
  EXPECT_EQ(list->resource_version, "42");
  ASSERT_EQ(list->items.size(), 2u);
  EXPECT_EQ(list->items[0].labels.at("app"), "web");
  EXPECT_EQ(DecodeObjectList(R"({"items":[{"metadata":{"name":3}}]})").error().message,
            "items[0].metadata.name: expected a string");
  auto e =
      DecodeWatchEvent(R"({"type":"DELETED","object":{"metadata":{"namespace":"n","name":"p"}}})");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->type, "DELETED");
  auto err = DecodeWatchEvent(R"({"type":"ERROR","object":{"kind":"Status","code":410}})");
  EXPECT_EQ(err->error_code, 410);
  auto cm =
      DecodeConfigMapData(R"({"data":{"requestheader-allowed-names":"[\"front-proxy-client\"]"}})");
  EXPECT_EQ(cm->at("requestheader-allowed-names"), "[\"front-proxy-client\"]");
}

TEST(KubeJson, Reviews) {
  EXPECT_EQ(
      EncodeTokenReview("t"),
      R"({"apiVersion":"authentication.k8s.io/v1","kind":"TokenReview","spec":{"token":"t"}})");
  auto u = DecodeTokenReview(
      R"({"status":{"authenticated":true,"user":{"username":"system:serviceaccount:kube-system:hpa","groups":["a","b"]}}})");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->authenticated);
  EXPECT_EQ(u->groups.size(), 2u);
  AccessRequest r;
  r.user = "u";
  r.verb = "get";
  r.group = "custom.metrics.k8s.io";
  r.resource_name = "pods";
  r.subresource = "m";
  r.name = "*";
  r.namespace_ = "ns";
  EXPECT_NE(
      EncodeSubjectAccessReview(r).find(R"("resourceAttributes":{"namespace":"ns","verb":"get")"),
      std::string::npos);
  std::string reason;
  EXPECT_TRUE(
      *DecodeSubjectAccessReview(R"({"status":{"allowed":true,"reason":"RBAC"}})", &reason));
  EXPECT_EQ(reason, "RBAC");
  EXPECT_FALSE(*DecodeSubjectAccessReview(R"({"status":{}})", &reason));
  EXPECT_EQ(*DecodeStringArray(R"(["X-Remote-User"])"),
            (std::vector<std::string>{"X-Remote-User"}));
}

TEST(KubeClient, ResourcePaths) {
  EXPECT_EQ(Client::ResourcePath("", "v1", "pods", "default"), "/api/v1/namespaces/default/pods");
  EXPECT_EQ(Client::ResourcePath("apps", "v1", "deployments", ""), "/apis/apps/v1/deployments");
}

}  // namespace
}  // namespace gpuscale::kube
