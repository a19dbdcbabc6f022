// Certificate generation with OpenSSL: a CA, server certificates (DNS and IP SANs) and client
// certificates (CN, O = groups) signed by it, and self-signed serving certificates like the
// Kubernetes generic apiserver writes into --cert-dir. Plain PEM strings in and out.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"

namespace gpuscale::http {

// A certificate and its private key, PEM encoded. For a server certificate `cert_pem` may hold
// the chain (leaf first).
struct CertificateAndKey {
  std::string cert_pem;
  std::string key_pem;
};

struct CaOptions {
  std::string common_name = "gpuscale-ca";
  std::chrono::hours validity{24 * 365 * 10};
};

struct ServerCertOptions {
  std::string common_name;                // empty: the first DNS name or IP
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries ("127.0.0.1", "::1")
  std::chrono::hours validity{24 * 365};
};

struct ClientCertOptions {
  std::string common_name;                 // the user name
  std::vector<std::string> organizations;  // the groups
  std::chrono::hours validity{24 * 365};
};

// A new CA: an EC P-256 key and a self-signed certificate usable to sign certificates.
core::Result<CertificateAndKey> CreateCa(const CaOptions& options = {});
// A server certificate (serverAuth) signed by `ca`. kInvalidArgument for an unreadable CA or
// a bad IP address.
core::Result<CertificateAndKey> IssueServerCert(const CertificateAndKey& ca,
                                                const ServerCertOptions& options);
// A client certificate (clientAuth) signed by `ca`.
core::Result<CertificateAndKey> IssueClientCert(const CertificateAndKey& ca,
                                                const ClientCertOptions& options);
// A serving certificate signed by a fresh CA named after it; `cert_pem` holds leaf then CA, as
// the Kubernetes apiserver does for --cert-dir without given files.
core::Result<CertificateAndKey> CreateSelfSignedServerCert(const ServerCertOptions& options);

// Writes `pair` to `cert_path` (0644) and `key_path` (0600), creating parent directories.
core::Status WritePemFiles(const CertificateAndKey& pair, const std::string& cert_path,
                           const std::string& key_path);

}  // namespace gpuscale::http
