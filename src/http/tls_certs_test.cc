#include "http/tls_certs.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "http/client.h"
#include "http/server.h"

namespace gpuscale::http {
namespace {

namespace fs = std::filesystem;

std::string TempDir() {
  std::string templ = (fs::temp_directory_path() / "http_tls_XXXXXX").string();
  return mkdtemp(templ.data());
}

// A CA, a serving certificate for 127.0.0.1 and gpuscale.test, and client certificates from
// that CA and from another one, all written under one temporary directory.
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir();
    auto ca = CreateCa();
    ASSERT_TRUE(ca.ok()) << ca.error().ToString();
    ca_ = *ca;
    ASSERT_TRUE(WritePemFiles(ca_, Path("ca.crt"), Path("ca.key")).ok());
    ServerCertOptions so;
    so.dns_names = {"gpuscale.test"};
    so.ip_addresses = {"127.0.0.1"};
    auto server = IssueServerCert(ca_, so);
    ASSERT_TRUE(server.ok()) << server.error().ToString();
    ASSERT_TRUE(WritePemFiles(*server, Path("server.crt"), Path("server.key")).ok());
    ClientCertOptions co;
    co.common_name = "front-proxy-client";
    co.organizations = {"system:masters", "gpuscale:readers"};
    auto client = IssueClientCert(ca_, co);
    ASSERT_TRUE(client.ok()) << client.error().ToString();
    ASSERT_TRUE(WritePemFiles(*client, Path("client.crt"), Path("client.key")).ok());
    auto other_ca = CreateCa({"other-ca"});
    ASSERT_TRUE(other_ca.ok());
    auto other = IssueClientCert(*other_ca, co);
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE(WritePemFiles(*other, Path("other.crt"), Path("other.key")).ok());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  std::unique_ptr<Server> StartTls(std::string client_ca, bool require) {
    ServerOptions o;
    o.tls = TlsServerOptions{Path("server.crt"), Path("server.key"), std::move(client_ca), require};
    auto s = Server::Start(o, Sync([](const Request& r) {
                             std::string who = "anonymous";
                             if (r.peer_certificate) {
                               who = r.peer_certificate->common_name;
                               for (const auto& org : r.peer_certificate->organizations)
                                 who += "|" + org;
                             }
                             return Response::Text(200, who);
                           }));
    EXPECT_TRUE(s.ok()) << s.error().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  std::string HttpsUrl(const Server& s) {
    return "https://127.0.0.1:" + std::to_string(s.port()) + "/whoami";
  }

  std::string dir_;
  CertificateAndKey ca_;
};

TEST_F(TlsTest, PemFilesAreWrittenWithPrivateKeyPermissions) {
  auto perms = fs::status(Path("server.key")).permissions();
  EXPECT_EQ(perms & (fs::perms::group_all | fs::perms::others_all), fs::perms::none);
  EXPECT_EQ(ca_.cert_pem.rfind("-----BEGIN CERTIFICATE-----", 0), 0u);
  EXPECT_NE(ca_.key_pem.find("PRIVATE KEY-----"), std::string::npos);
}

TEST_F(TlsTest, ServesWithoutClientCertificates) {
  auto server = StartTls("", false);
  ASSERT_NE(server, nullptr);
  ClientOptions o;
  o.tls.ca_file = Path("ca.crt");
  auto r = Client::Create(o)->Get(HttpsUrl(*server));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "anonymous");

  // Without the CA the certificate does not verify; skipping verification connects anyway.
  auto untrusted = Client::Create()->Get(HttpsUrl(*server));
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.error().code, core::Code::kUnavailable);
  ClientOptions insecure;
  insecure.tls.insecure_skip_verify = true;
  auto skipped = Client::Create(insecure)->Get(HttpsUrl(*server));
  ASSERT_TRUE(skipped.ok()) << skipped.error().ToString();
}

TEST_F(TlsTest, ServerNameSelectsTheNameToVerify) {
  auto server = StartTls("", false);
  ClientOptions o;
  o.tls.ca_file = Path("ca.crt");
  o.tls.server_name = "gpuscale.test";
  EXPECT_TRUE(Client::Create(o)->Get(HttpsUrl(*server)).ok());
  o.tls.server_name = "wrong.test";
  auto wrong = Client::Create(o)->Get(HttpsUrl(*server));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, core::Code::kUnavailable);
}

TEST_F(TlsTest, RequiredClientCertificate) {
  auto server = StartTls(Path("ca.crt"), true);
  ASSERT_NE(server, nullptr);
  ClientOptions good;
  good.tls.ca_file = Path("ca.crt");
  good.tls.cert_file = Path("client.crt");
  good.tls.key_file = Path("client.key");
  auto r = Client::Create(good)->Get(HttpsUrl(*server));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "front-proxy-client|system:masters|gpuscale:readers");

  ClientOptions none;
  none.tls.ca_file = Path("ca.crt");
  auto missing = Client::Create(none)->Get(HttpsUrl(*server));
  EXPECT_FALSE(missing.ok());

  ClientOptions other = good;
  other.tls.cert_file = Path("other.crt");
  other.tls.key_file = Path("other.key");
  auto foreign = Client::Create(other)->Get(HttpsUrl(*server));
  EXPECT_FALSE(foreign.ok());
}

TEST_F(TlsTest, OptionalClientCertificate) {
  auto server = StartTls(Path("ca.crt"), false);
  ClientOptions none;
  none.tls.ca_file = Path("ca.crt");
  auto r = Client::Create(none)->Get(HttpsUrl(*server));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->body, "anonymous");
}

TEST_F(TlsTest, SelfSignedServingCertCarriesItsCa) {
  ServerCertOptions so;
  so.ip_addresses = {"127.0.0.1"};
  so.dns_names = {"localhost"};
  auto pair = CreateSelfSignedServerCert(so);
  ASSERT_TRUE(pair.ok()) << pair.error().ToString();
  ASSERT_TRUE(WritePemFiles(*pair, Path("apiserver.crt"), Path("apiserver.key")).ok());
  // The second certificate in the chain is the CA that signed the first.
  auto second = pair->cert_pem.find("-----BEGIN CERTIFICATE-----", 1);
  ASSERT_NE(second, std::string::npos);
  { std::ofstream(Path("apiserver-ca.crt")) << pair->cert_pem.substr(second); }
  ServerOptions o;
  o.tls = TlsServerOptions{Path("apiserver.crt"), Path("apiserver.key"), "", false};
  auto server = Server::Start(o, Sync([](const Request&) { return Response::Text(200, "ok"); }));
  ASSERT_TRUE(server.ok()) << server.error().ToString();
  ClientOptions co;
  co.tls.ca_file = Path("apiserver-ca.crt");
  auto r = Client::Create(co)->Get("https://127.0.0.1:" + std::to_string((*server)->port()));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
}

TEST_F(TlsTest, BadFilesAreInvalidArgument) {
  ServerOptions o;
  o.tls = TlsServerOptions{Path("missing.crt"), Path("server.key"), "", false};
  auto s = Server::Start(o, Sync([](const Request&) { return Response{}; }));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, core::Code::kInvalidArgument);
  EXPECT_NE(s.error().message.find("missing.crt"), std::string::npos);

  ClientOptions co;
  co.tls.ca_file = Path("missing-ca.crt");
  auto r = Client::Create(co)->Get("https://127.0.0.1:1/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, core::Code::kInvalidArgument);

  CertificateAndKey junk{"not a cert", "not a key"};
  auto issued = IssueClientCert(junk, {});
  ASSERT_FALSE(issued.ok());
  EXPECT_EQ(issued.error().code, core::Code::kInvalidArgument);
  ServerCertOptions bad_ip;
  bad_ip.ip_addresses = {"300.1.2.3"};
  EXPECT_FALSE(IssueServerCert(ca_, bad_ip).ok());
}

}  // namespace
}  // namespace gpuscale::http
