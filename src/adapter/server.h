// `gpuscale adapter`: the options its flags fill (prometheus-adapter v0.12's names), the
// offline config check, and the serving process (HTTPS, discovery, health, own metrics).
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/result.h"

namespace gpuscale::adapter {

struct AdapterOptions {
  std::string config;                                // --config: the rules file (required)
  std::string prometheus_url = "https://localhost";  // --prometheus-url
  std::string prometheus_ca_file;                    // --prometheus-ca-file
  std::string prometheus_client_cert;                // --prometheus-client-tls-cert-file
  std::string prometheus_client_key;                 // --prometheus-client-tls-key-file
  std::string prometheus_token_file;            // --prometheus-token-file (re-read when it changes)
  std::vector<std::string> prometheus_headers;  // --prometheus-header Key=Value (repeatable)
  std::string prometheus_verb = "GET";          // --prometheus-verb: GET or POST
  std::chrono::milliseconds relist_interval{std::chrono::minutes(10)};  // --metrics-relist-interval
  std::chrono::milliseconds max_age{0};  // --metrics-max-age (0: the relist interval)
  std::chrono::milliseconds query_timeout{std::chrono::seconds(30)};  // --query-timeout
  std::string bind_address = "0.0.0.0";                               // --bind-address
  std::uint16_t secure_port = 443;                                    // --secure-port
  std::string cert_dir = "apiserver.local.config/certificates";       // --cert-dir
  std::string tls_cert_file;                                          // --tls-cert-file
  std::string tls_private_key_file;                                   // --tls-private-key-file
  std::string lister_kubeconfig;                         // --lister-kubeconfig ("" = in-cluster)
  std::string authentication_kubeconfig;                 // --authentication-kubeconfig
  std::string authorization_kubeconfig;                  // --authorization-kubeconfig
  std::string client_ca_file;                            // --client-ca-file
  std::string requestheader_client_ca_file;              // --requestheader-client-ca-file
  std::vector<std::string> requestheader_allowed_names;  // --requestheader-allowed-names
  std::vector<std::string> requestheader_username_headers = {"x-remote-user"};
  std::vector<std::string> requestheader_group_headers = {"x-remote-group"};
  std::vector<std::string> requestheader_extra_headers_prefix = {"x-remote-extra-"};
  std::vector<std::string> always_allow_paths = {"/healthz", "/readyz", "/livez"};
  bool authentication_skip_lookup = false;  // --authentication-skip-lookup
  bool authentication_tolerate_lookup_failure = false;
  // No Kubernetes at all (local use, tests): `*` lookups fail with 500 and every caller is
  // allowed. Set by --no-kubernetes; never the default.
  bool no_kubernetes = false;
  int io_threads = 2;
};

// Checks `opts` the way prometheus-adapter does at start-up (verb, max-age ≥ relist interval).
core::Status ValidateOptions(const AdapterOptions& opts);

// `--check-config`: loads and compiles the rules, then, given series (a file holding a
// /api/v1/series JSON answer, or a live Prometheus), prints per rule what it matched and the
// metrics it would expose, and one example query per metric. Returns the process exit code
// (0 valid, 1 invalid); warnings do not fail.
int CheckConfig(const std::string& config_path, const std::string& series_file,
                const std::string& prometheus_url, std::ostream& out, std::ostream& err);

// Serves until SIGTERM/SIGINT; returns the exit code (non-zero before serving on bad config,
// flags or certificates).
int RunAdapter(const AdapterOptions& opts);

}  // namespace gpuscale::adapter
