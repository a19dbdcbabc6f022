#include "http/message.h"

#include <gtest/gtest.h>

namespace gpuscale::http {
namespace {

TEST(HeadersTest, CaseInsensitiveInOrder) {
  Headers h;
  h.Add("Accept", "a");
  h.Add("accept", "b");
  h.Add("X-Other", "c");
  EXPECT_EQ(h.Get("ACCEPT"), "a");
  EXPECT_EQ(h.GetAll("Accept"), (std::vector<std::string_view>{"a", "b"}));
  h.Set("ACCEPT", "z");
  EXPECT_EQ(h.GetAll("accept"), (std::vector<std::string_view>{"z"}));
  h.Remove("x-other");
  EXPECT_FALSE(h.Get("X-Other").has_value());
  EXPECT_EQ(h.fields().size(), 1u);
}

TEST(RequestTest, PathAndQuery) {
  Request r;
  r.target = "/api/v1/na%20me?query=up%7Bjob%3D%22x%22%7D&a=1+2&flag&a=3#frag";
  EXPECT_EQ(r.Path(), "/api/v1/na me");
  EXPECT_EQ(r.RawQuery(), "query=up%7Bjob%3D%22x%22%7D&a=1+2&flag&a=3");
  EXPECT_EQ(r.QueryParam("query"), "up{job=\"x\"}");
  EXPECT_EQ(r.QueryParam("a"), "1 2");
  EXPECT_EQ(r.QueryParam("flag"), "");
  EXPECT_FALSE(r.QueryParam("missing").has_value());
  r.target = "/plain";
  EXPECT_EQ(r.RawQuery(), "");
  EXPECT_EQ(r.Path(), "/plain");
}

TEST(PercentTest, RoundTripsAndKeepsUnreserved) {
  EXPECT_EQ(PercentEncode("a-b_c.d~e f/ü"), "a-b_c.d~e%20f%2F%C3%BC");
  EXPECT_EQ(PercentDecode("a-b_c.d~e%20f%2F%C3%BC"), "a-b_c.d~e f/ü");
  EXPECT_EQ(PercentDecode("a+b"), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("bad%zz%4"), "bad%zz%4");
  EXPECT_EQ(PercentDecode("%41"), "A");
}

TEST(SseTest, OneDataLinePerPayloadLine) {
  EXPECT_EQ(SseEvent("{\"x\":1}"), "data: {\"x\":1}\n\n");
  EXPECT_EQ(SseEvent("a\nb\r\nc"), "data: a\ndata: b\ndata: c\n\n");
  EXPECT_EQ(SseEvent("[DONE]"), "data: [DONE]\n\n");
}

TEST(ResponseTest, Helpers) {
  auto t = Response::Text(201, "hi");
  EXPECT_EQ(t.status, 201);
  EXPECT_EQ(t.headers.Get("content-type"), "text/plain; charset=utf-8");
  auto j = Response::Json(200, "{}");
  EXPECT_EQ(j.headers.Get("Content-Type"), "application/json");
  auto s = Response::EventStream([](std::shared_ptr<Stream>) {});
  EXPECT_EQ(s.headers.Get("Content-Type"), "text/event-stream");
  EXPECT_EQ(s.headers.Get("Cache-Control"), "no-cache");
  EXPECT_TRUE(static_cast<bool>(s.stream));
}

// Dispatches synchronously and returns the response.
Response Call(const Router& router, std::string method, std::string target) {
  Request req;
  req.method = std::move(method);
  req.target = std::move(target);
  std::optional<Response> out;
  router.Dispatch(std::move(req), [&](Response r) { out = std::move(r); });
  EXPECT_TRUE(out.has_value());
  return out.value_or(Response{});
}

Handler Named(std::string name) {
  return Sync([name](const Request&) { return Response::Text(200, name); });
}

TEST(RouterTest, ExactBeatsPrefixAndLongestPrefixWins) {
  Router r;
  r.HandlePrefix("GET", "/", Named("root"));
  r.HandlePrefix("GET", "/apis/", Named("apis"));
  r.HandlePrefix("GET", "/apis/custom/", Named("custom"));
  r.Handle("GET", "/apis/custom/", Named("exact"));
  r.Handle("POST", "/submit", Named("submit"));
  EXPECT_EQ(Call(r, "GET", "/apis/custom/").body, "exact");
  EXPECT_EQ(Call(r, "GET", "/apis/custom/x?y=1").body, "custom");
  EXPECT_EQ(Call(r, "GET", "/apis/other").body, "apis");
  EXPECT_EQ(Call(r, "GET", "/zzz").body, "root");
  EXPECT_EQ(Call(r, "HEAD", "/zzz").body, "root");
  EXPECT_EQ(Call(r, "POST", "/submit").body, "submit");
}

TEST(RouterTest, NotFoundAndMethodNotAllowed) {
  Router r;
  r.Handle("GET", "/metrics", Named("m"));
  r.Handle("PUT", "/metrics", Named("m"));
  auto nf = Call(r, "GET", "/nope");
  EXPECT_EQ(nf.status, 404);
  auto na = Call(r, "DELETE", "/metrics");
  EXPECT_EQ(na.status, 405);
  EXPECT_EQ(na.headers.Get("Allow"), "GET, HEAD, PUT");
  EXPECT_NE(na.body.find("DELETE"), std::string::npos);
}

TEST(RouterTest, AsHandlerDispatches) {
  Router r;
  r.Handle("*", "/any", Named("any"));
  Handler h = r.AsHandler();
  Request req;
  req.method = "PATCH";
  req.target = "/any";
  std::string body;
  h(req, [&](Response resp) { body = resp.body; });
  EXPECT_EQ(body, "any");
}

TEST(UrlTest, ParsesSchemesPortsAndTargets) {
  auto u = ParseUrl("http://example.com");
  ASSERT_TRUE(u.ok()) << u.error().ToString();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->Origin(), "http://example.com:80");

  u = ParseUrl("HTTPS://10.0.0.1/api/v1/query?query=up#x");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/api/v1/query?query=up");

  u = ParseUrl("http://[::1]:9090?x=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 9090);
  EXPECT_EQ(u->target, "/?x=1");
  EXPECT_EQ(u->Origin(), "http://[::1]:9090");

  u = ParseUrl("https://localhost:6443/apis");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 6443);
  EXPECT_EQ(u->target, "/apis");
}

TEST(UrlTest, RejectsBadInputWithReason) {
  for (const char* bad :
       {"example.com", "ftp://x", "http://", "http://h:0", "http://h:70000", "http://h:12a",
        "http://[::1", "http://::1/", "http://u@h/", "http://h:"}) {
    auto u = ParseUrl(bad);
    ASSERT_FALSE(u.ok()) << bad;
    EXPECT_EQ(u.error().code, core::Code::kInvalidArgument);
    EXPECT_NE(u.error().message.find(bad), std::string::npos) << u.error().message;
  }
}

}  // namespace
}  // namespace gpuscale::http
