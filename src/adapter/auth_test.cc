#include "adapter/auth.h"

#include <gtest/gtest.h>

namespace gpuscale::adapter {
namespace {

class FakeReviewer : public Reviewer {
 public:
  core::Result<std::optional<UserInfo>> ReviewToken(const std::string& token) override {
    ++token_calls;
    if (token == "good")
      return std::optional<UserInfo>(UserInfo{"hpa", {"system:serviceaccounts"}, {}});
    return std::optional<UserInfo>();
  }
  core::Result<bool> ReviewAccess(const UserInfo& user, const RequestAttributes& a,
                                  std::string*) override {
    ++access_calls;
    last = a;
    return user.name == "hpa" || user.name == "system:kube-aggregator";
  }
  int token_calls = 0, access_calls = 0;
  RequestAttributes last;
};

http::Request Req(std::string target) {
  http::Request r;
  r.target = std::move(target);
  return r;
}

TEST(AdapterAuth, AttributesFromPaths) {
  auto a = AttributesFor("GET", "/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m");
  EXPECT_TRUE(a.resource_request);
  EXPECT_EQ(a.verb, "get");
  EXPECT_EQ(a.namespace_, "ns");
  EXPECT_EQ(a.resource, "pods");
  EXPECT_EQ(a.name, "*");
  EXPECT_EQ(a.subresource, "m");
  auto e = AttributesFor("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/queue");
  EXPECT_EQ(e.verb, "list");
  EXPECT_EQ(e.resource, "queue");
  EXPECT_FALSE(AttributesFor("GET", "/apis/custom.metrics.k8s.io/v1beta1").resource_request);
}

TEST(AdapterAuth, TokenReviewThenSubjectAccessReviewCached) {
  FakeReviewer reviewer;
  core::ManualClock clock;
  Authorizer authz(AuthOptions{}, reviewer, clock);
  auto req = Req("/apis/custom.metrics.k8s.io/v1beta2/namespaces/ns/pods/*/m");
  req.headers.Set("Authorization", "Bearer good");
  auto r = authz.Check(req);
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.user.name, "hpa");
  EXPECT_EQ(reviewer.last.subresource, "m");
  authz.Check(req);
  EXPECT_EQ(reviewer.token_calls, 1);
  EXPECT_EQ(reviewer.access_calls, 1);
  clock.Advance(std::chrono::seconds(11));
  authz.Check(req);
  EXPECT_EQ(reviewer.token_calls, 2);
  EXPECT_EQ(reviewer.access_calls, 2);
}

TEST(AdapterAuth, BadTokenIs401AnonymousIs403HealthIsAllowed) {
  FakeReviewer reviewer;
  core::ManualClock clock;
  Authorizer authz(AuthOptions{}, reviewer, clock);
  auto bad = Req("/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/m");
  bad.headers.Set("Authorization", "Bearer bad");
  auto r = authz.Check(bad);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body,
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            "\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}\n");
  auto anon = authz.Check(Req("/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/m"));
  EXPECT_EQ(anon.status, 403);
  EXPECT_EQ(
      anon.body,
      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
      "\"message\":\"pods.custom.metrics.k8s.io \\\"*\\\" is forbidden: User "
      "\\\"system:anonymous\\\" cannot get resource \\\"pods/m\\\" in API group "
      "\\\"custom.metrics.k8s.io\\\" in the namespace \\\"default\\\"\",\"reason\":\"Forbidden\","
      "\"details\":{\"name\":\"*\",\"group\":\"custom.metrics.k8s.io\",\"kind\":\"pods\"},"
      "\"code\":403}\n");
  EXPECT_TRUE(authz.Check(Req("/healthz")).allowed);
  EXPECT_TRUE(authz.Check(Req("/readyz/informer-sync")).allowed);
}

// What prometheus-adapter (k8s.io/apiserver) writes, as the differential test found: a list has
// no name in the message or the details, and a path gets empty details.
TEST(AdapterAuth, ForbiddenListAndPathAsKubernetesWritesThem) {
  FakeReviewer reviewer;
  core::ManualClock clock;
  Authorizer authz(AuthOptions{}, reviewer, clock);
  auto list = authz.Check(Req("/apis/external.metrics.k8s.io/v1beta1/namespaces/diff/queue"));
  EXPECT_EQ(list.status, 403);
  EXPECT_EQ(
      list.body,
      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
      "\"message\":\"queue.external.metrics.k8s.io is forbidden: User \\\"system:anonymous\\\" "
      "cannot list resource \\\"queue\\\" in API group \\\"external.metrics.k8s.io\\\" in the "
      "namespace \\\"diff\\\"\",\"reason\":\"Forbidden\","
      "\"details\":{\"group\":\"external.metrics.k8s.io\",\"kind\":\"queue\"},\"code\":403}\n");
  auto path = authz.Check(Req("/apis/custom.metrics.k8s.io/v1beta1"));
  EXPECT_EQ(path.status, 403);
  EXPECT_EQ(path.body,
            "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
            "\"message\":\"forbidden: User \\\"system:anonymous\\\" cannot get path "
            "\\\"/apis/custom.metrics.k8s.io/v1beta1\\\"\",\"reason\":\"Forbidden\","
            "\"details\":{},\"code\":403}\n");
}

TEST(AdapterAuth, FrontProxyCertificateWithAllowedName) {
  FakeReviewer reviewer;
  core::ManualClock clock;
  AuthOptions o;
  o.front_proxy = true;
  o.allowed_names = {"front-proxy-client"};
  Authorizer authz(o, reviewer, clock);
  auto req = Req("/apis/custom.metrics.k8s.io/v1beta1");
  req.peer_certificate = http::PeerCertificate{"front-proxy-client", {}};
  req.headers.Add("X-Remote-User", "system:kube-aggregator");
  req.headers.Add("X-Remote-Group", "system:masters");
  req.headers.Add("X-Remote-Extra-Scopes%2Fa", "x");
  auto r = authz.Check(req);
  EXPECT_TRUE(r.allowed);
  EXPECT_EQ(r.user.name, "system:kube-aggregator");
  EXPECT_EQ(r.user.extra.at("scopes/a"), (std::vector<std::string>{"x"}));
  EXPECT_EQ(reviewer.access_calls, 0);  // system:masters
  // A certificate from the CA with a name not allowed: 401.
  req.peer_certificate = http::PeerCertificate{"someone-else", {}};
  EXPECT_EQ(authz.Check(req).status, 401);
  // Headers without a front-proxy certificate are ignored: the caller is anonymous.
  req.peer_certificate.reset();
  EXPECT_EQ(authz.Check(Req("/apis/custom.metrics.k8s.io/v1beta1/namespaces/x/pods/a/m")).status,
            403);
}

}  // namespace
}  // namespace gpuscale::adapter
