#include "test/support/controlplane.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace gpuscale::testing {
namespace {

std::string Openssl(std::vector<std::string> argv, int* status) {
  argv.insert(argv.begin(), "openssl");
  std::string out;
  auto r = RunCommand(argv, &out);
  *status = r.ok() ? *r : -1;
  return out;
}

TEST(ControlPlaneCertsTest, ChainsVerifyAndNamesMatch) {
  std::string dir = MakeTempDir("gpuscale-certs-test");
  auto certs = MakeControlPlaneCertificates(dir, "10.96.0.1");
  ASSERT_TRUE(certs.ok()) << certs.error().ToString();
  int status = 0;

  std::string out =
      Openssl({"verify", "-CAfile", certs->ca_cert, "-purpose", "sslserver", certs->apiserver_cert},
              &status);
  EXPECT_EQ(status, 0) << out;
  out = Openssl({"verify", "-CAfile", certs->ca_cert, "-purpose", "sslclient", certs->admin_cert},
                &status);
  EXPECT_EQ(status, 0) << out;
  // The aggregator's client cert chains to the front-proxy CA, not the cluster CA.
  out = Openssl({"verify", "-CAfile", certs->front_proxy_ca_cert, "-purpose", "sslclient",
                 certs->front_proxy_client_cert},
                &status);
  EXPECT_EQ(status, 0) << out;
  out = Openssl({"verify", "-CAfile", certs->ca_cert, certs->front_proxy_client_cert}, &status);
  EXPECT_NE(status, 0) << out;

  out =
      Openssl({"x509", "-in", certs->apiserver_cert, "-noout", "-ext", "subjectAltName"}, &status);
  EXPECT_NE(out.find("DNS:kubernetes.default.svc"), std::string::npos) << out;
  EXPECT_NE(out.find("IP Address:127.0.0.1"), std::string::npos) << out;
  EXPECT_NE(out.find("IP Address:10.96.0.1"), std::string::npos) << out;
  out = Openssl({"x509", "-in", certs->admin_cert, "-noout", "-subject"}, &status);
  EXPECT_NE(out.find("O = system:masters"), std::string::npos) << out;
  out = Openssl({"x509", "-in", certs->front_proxy_client_cert, "-noout", "-subject"}, &status);
  EXPECT_NE(out.find("CN = front-proxy-client"), std::string::npos) << out;

  // The service-account public key belongs to the signing key.
  out = Openssl({"pkey", "-in", certs->service_account_key, "-pubout"}, &status);
  EXPECT_EQ(out, ReadFile(certs->service_account_pub));
  std::filesystem::remove_all(dir);
}

TEST(PeerBinaryTest, UnknownPeerNamesTheBuildCommand) {
  auto path = PeerBinary("no-such-peer");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.error().code, core::Code::kFailedPrecondition);
  EXPECT_NE(path.error().message.find("scripts/build-peers no-such-peer"), std::string::npos)
      << path.error().message;
}

TEST(PeerBinaryTest, PeerNotBuiltYetNamesTheBuildCommand) {
  std::string empty_cache = MakeTempDir("gpuscale-peers-test");
  ::setenv("GPUSCALE_PEERS_DIR", empty_cache.c_str(), 1);
  auto path = PeerBinary("etcd");
  ::unsetenv("GPUSCALE_PEERS_DIR");
  ASSERT_FALSE(path.ok());
  EXPECT_NE(path.error().message.find("is not built; run: scripts/build-peers etcd"),
            std::string::npos)
      << path.error().message;
  std::filesystem::remove_all(empty_cache);
}

}  // namespace
}  // namespace gpuscale::testing
