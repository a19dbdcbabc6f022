// Glue shared by the server and the clients (OpenSSL, process limits). Internal to src/http; works
// on OpenSSL handles only so that it compiles without Asio.
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <string>

#include "core/result.h"
#include "http/client.h"
#include "http/message.h"
#include "http/server.h"

namespace gpuscale::http::internal {

// Loads the serving certificate and key, and the client CA when given. kInvalidArgument names
// the file that could not be used.
core::Status ConfigureServerTls(SSL_CTX* ctx, const TlsServerOptions& options);
// Loads the CA bundle (or the system roots) and the client certificate when given.
core::Status ConfigureClientTls(SSL_CTX* ctx, const TlsClientOptions& options);
// Sets SNI and the name to verify (`options.server_name`, else `host`) on one connection.
core::Status ConfigureClientConnection(SSL* ssl, const TlsClientOptions& options,
                                       const std::string& host);
// The peer's certificate subject if it presented one and it verified.
std::optional<PeerCertificate> VerifiedPeerCertificate(SSL* ssl);
// The queued OpenSSL errors as text (and clears them).
std::string OpenSslErrors();

// Raises the soft limit on open files to the hard limit (once per process), so thousands of
// concurrent connections do not run out of descriptors at the common default of 1024.
void RaiseOpenFileLimit();

}  // namespace gpuscale::http::internal
