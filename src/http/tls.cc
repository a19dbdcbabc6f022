#include "http/internal/tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>

#include <boost/asio/ip/address.hpp>
#include <mutex>

namespace gpuscale::http::internal {
namespace {

std::vector<std::string> NameEntries(X509_NAME* name, int nid) {
  std::vector<std::string> out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    X509_NAME_ENTRY* e = X509_NAME_get_entry(name, i);
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
    if (len >= 0) out.emplace_back(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
  }
  return out;
}

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

void RaiseOpenFileLimit() {
  static std::once_flag once;
  std::call_once(once, [] {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  });
}

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

core::Status ConfigureServerTls(SSL_CTX* ctx, const TlsServerOptions& o) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1) {
    return core::InvalidArgument("TLS certificate file \"" + o.cert_file +
                                 "\": " + OpenSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return core::InvalidArgument("TLS key file \"" + o.key_file + "\": " + OpenSslErrors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return core::InvalidArgument("TLS key file \"" + o.key_file +
                                 "\" does not match certificate \"" + o.cert_file + "\"");
  }
  if (!o.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.client_ca_file.c_str(), nullptr) != 1) {
      return core::InvalidArgument("client CA file \"" + o.client_ca_file +
                                   "\": " + OpenSslErrors());
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.client_ca_file.c_str());
    if (names == nullptr) {
      return core::InvalidArgument("client CA file \"" + o.client_ca_file +
                                   "\": no certificates: " + OpenSslErrors());
    }
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(
        ctx, SSL_VERIFY_PEER | (o.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
        nullptr);
  } else if (o.require_client_cert) {
    return core::InvalidArgument("require_client_cert is set but client_ca_file is empty");
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return core::Status::Ok();
}

core::Status ConfigureClientTls(SSL_CTX* ctx, const TlsClientOptions& o) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (!o.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca_file.c_str(), nullptr) != 1) {
      return core::InvalidArgument("CA file \"" + o.ca_file + "\": " + OpenSslErrors());
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    return core::Internal("cannot load the system CA roots: " + OpenSslErrors());
  }
  SSL_CTX_set_verify(ctx, o.insecure_skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
  if (!o.cert_file.empty() || !o.key_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, o.cert_file.c_str()) != 1) {
      return core::InvalidArgument("client certificate file \"" + o.cert_file +
                                   "\": " + OpenSslErrors());
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, o.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return core::InvalidArgument("client key file \"" + o.key_file + "\": " + OpenSslErrors());
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      return core::InvalidArgument("client key file \"" + o.key_file +
                                   "\" does not match certificate \"" + o.cert_file + "\"");
    }
  }
  return core::Status::Ok();
}

core::Status ConfigureClientConnection(SSL* ssl, const TlsClientOptions& o,
                                       const std::string& host) {
  const std::string& name = o.server_name.empty() ? host : o.server_name;
  const bool ip = IsIpAddress(name);
  // SNI carries host names only (RFC 6066).
  if (!ip && SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
    return core::InvalidArgument("TLS server name \"" + name + "\": " + OpenSslErrors());
  }
  if (o.insecure_skip_verify) return core::Status::Ok();
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  int rc = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str())
              : X509_VERIFY_PARAM_set1_host(param, name.c_str(), 0);
  if (rc != 1) {
    return core::InvalidArgument("TLS server name \"" + name + "\": " + OpenSslErrors());
  }
  return core::Status::Ok();
}

std::optional<PeerCertificate> VerifiedPeerCertificate(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return std::nullopt;
  std::optional<PeerCertificate> out;
  if (SSL_get_verify_result(ssl) == X509_V_OK) {
    X509_NAME* subject = X509_get_subject_name(cert);
    PeerCertificate pc;
    auto cns = NameEntries(subject, NID_commonName);
    if (!cns.empty()) pc.common_name = cns.front();
    pc.organizations = NameEntries(subject, NID_organizationName);
    out = std::move(pc);
  }
  X509_free(cert);
  return out;
}

}  // namespace gpuscale::http::internal
