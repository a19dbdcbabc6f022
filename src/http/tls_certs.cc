#include "http/tls_certs.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "http/internal/tls.h"

namespace gpuscale::http {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct CertFree {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

core::Error SslError(const std::string& what) {
  return core::Internal(what + ": " + internal::OpenSslErrors());
}

std::string BioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(len));
}

core::Result<std::string> KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return SslError("encoding private key");
  }
  return BioString(bio.get());
}

core::Result<std::string> CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return SslError("encoding certificate");
  return BioString(bio.get());
}

core::Result<KeyPtr> NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("generating EC P-256 key");
  return key;
}

core::Result<KeyPtr> ParseKey(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return core::InvalidArgument("CA key: not a PEM private key: " + internal::OpenSslErrors());
  return key;
}

core::Result<CertPtr> ParseCert(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  CertPtr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert)
    return core::InvalidArgument("CA certificate: not a PEM certificate: " +
                                 internal::OpenSslErrors());
  return cert;
}

core::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    return core::InvalidArgument("certificate extension \"" + value +
                                 "\": " + internal::OpenSslErrors());
  }
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return core::Status::Ok();
}

struct Subject {
  std::string common_name;
  std::vector<std::string> organizations;
};

// A certificate for `key` with `subject`, signed by `issuer_key` (self-signed when `issuer` is
// null), carrying the given extensions (nid, value).
core::Result<CertPtr> MakeCert(EVP_PKEY* key, const Subject& subject, X509* issuer,
                               EVP_PKEY* issuer_key, std::chrono::hours validity,
                               const std::vector<std::pair<int, std::string>>& extensions) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof serial_bytes) != 1) return SslError("random serial");
  serial_bytes[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  // Back-dated a little so that clocks slightly behind still accept it.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  static_cast<long>(std::chrono::seconds(validity).count()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& o : subject.organizations) {
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(o.c_str()), -1, -1, 0);
  }
  if (!subject.common_name.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(subject.common_name.c_str()),
                               -1, -1, 0);
  }
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert.get(), key);
  X509* issuer_cert = issuer ? issuer : cert.get();
  for (const auto& [nid, value] : extensions) {
    GPUSCALE_RETURN_IF_ERROR(AddExtension(cert.get(), issuer_cert, nid, value));
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0) return SslError("signing certificate");
  return cert;
}

core::Result<CertificateAndKey> Issue(const CertificateAndKey& ca, const Subject& subject,
                                      std::chrono::hours validity,
                                      std::vector<std::pair<int, std::string>> extensions) {
  GPUSCALE_ASSIGN_OR_RETURN(KeyPtr ca_key, ParseKey(ca.key_pem));
  GPUSCALE_ASSIGN_OR_RETURN(CertPtr ca_cert, ParseCert(ca.cert_pem));
  GPUSCALE_ASSIGN_OR_RETURN(KeyPtr key, NewKey());
  extensions.insert(extensions.begin(), {{NID_basic_constraints, "critical,CA:FALSE"},
                                         {NID_subject_key_identifier, "hash"},
                                         {NID_authority_key_identifier, "keyid:always"}});
  GPUSCALE_ASSIGN_OR_RETURN(CertPtr cert, MakeCert(key.get(), subject, ca_cert.get(), ca_key.get(),
                                                   validity, extensions));
  CertificateAndKey out;
  GPUSCALE_ASSIGN_OR_RETURN(out.cert_pem, CertPem(cert.get()));
  GPUSCALE_ASSIGN_OR_RETURN(out.key_pem, KeyPem(key.get()));
  return out;
}

}  // namespace

core::Result<CertificateAndKey> CreateCa(const CaOptions& options) {
  GPUSCALE_ASSIGN_OR_RETURN(KeyPtr key, NewKey());
  GPUSCALE_ASSIGN_OR_RETURN(
      CertPtr cert,
      MakeCert(key.get(), Subject{options.common_name, {}}, nullptr, key.get(), options.validity,
               {{NID_basic_constraints, "critical,CA:TRUE"},
                {NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"},
                {NID_subject_key_identifier, "hash"}}));
  CertificateAndKey out;
  GPUSCALE_ASSIGN_OR_RETURN(out.cert_pem, CertPem(cert.get()));
  GPUSCALE_ASSIGN_OR_RETURN(out.key_pem, KeyPem(key.get()));
  return out;
}

core::Result<CertificateAndKey> IssueServerCert(const CertificateAndKey& ca,
                                                const ServerCertOptions& options) {
  std::string san;
  // Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on "literal" + string here.
  auto add = [&san](std::string_view kind, const std::string& value) {
    if (!san.empty()) san.append(",");
    san.append(kind).append(value);
  };
  for (const auto& d : options.dns_names) add("DNS:", d);
  for (const auto& ip : options.ip_addresses) add("IP:", ip);
  std::string cn = options.common_name;
  if (cn.empty()) {
    cn = !options.dns_names.empty()      ? options.dns_names.front()
         : !options.ip_addresses.empty() ? options.ip_addresses.front()
                                         : "localhost";
  }
  std::vector<std::pair<int, std::string>> ext = {
      {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
      {NID_ext_key_usage, "serverAuth"}};
  if (!san.empty()) ext.emplace_back(NID_subject_alt_name, san);
  return Issue(ca, Subject{cn, {}}, options.validity, std::move(ext));
}

core::Result<CertificateAndKey> IssueClientCert(const CertificateAndKey& ca,
                                                const ClientCertOptions& options) {
  return Issue(ca, Subject{options.common_name, options.organizations}, options.validity,
               {{NID_key_usage, "critical,digitalSignature"}, {NID_ext_key_usage, "clientAuth"}});
}

core::Result<CertificateAndKey> CreateSelfSignedServerCert(const ServerCertOptions& options) {
  std::string host = !options.dns_names.empty()      ? options.dns_names.front()
                     : !options.ip_addresses.empty() ? options.ip_addresses.front()
                                                     : "localhost";
  CaOptions ca_options;
  ca_options.common_name = host + "-ca";
  GPUSCALE_ASSIGN_OR_RETURN(CertificateAndKey ca, CreateCa(ca_options));
  GPUSCALE_ASSIGN_OR_RETURN(CertificateAndKey leaf, IssueServerCert(ca, options));
  leaf.cert_pem += ca.cert_pem;
  return leaf;
}

core::Status WritePemFiles(const CertificateAndKey& pair, const std::string& cert_path,
                           const std::string& key_path) {
  namespace fs = std::filesystem;
  for (const std::string& path : {cert_path, key_path}) {
    std::error_code ec;
    fs::path parent = fs::path(path).parent_path();
    if (!parent.empty()) fs::create_directories(parent, ec);
    if (ec)
      return core::Unavailable(parent.string() + ": cannot create directory: " + ec.message());
  }
  auto write = [](const std::string& path, const std::string& data,
                  fs::perms perms) -> core::Status {
    std::error_code ec;
    {
      std::ofstream f(path, std::ios::binary | std::ios::trunc);
      if (!f) return core::Unavailable(path + ": cannot open for writing");
      // Restrict before the secret goes in.
      fs::permissions(path, perms, fs::perm_options::replace, ec);
      f << data;
      if (!f.flush()) return core::Unavailable(path + ": write failed");
    }
    if (ec) return core::Unavailable(path + ": cannot set permissions: " + ec.message());
    return core::Status::Ok();
  };
  using P = fs::perms;
  GPUSCALE_RETURN_IF_ERROR(write(cert_path, pair.cert_pem,
                                 P::owner_read | P::owner_write | P::group_read | P::others_read));
  return write(key_path, pair.key_pem, P::owner_read | P::owner_write);
}

}  // namespace gpuscale::http
