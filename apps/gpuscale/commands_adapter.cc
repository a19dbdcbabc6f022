// `gpuscale adapter`: prometheus-adapter's flags parsed into adapter::AdapterOptions.
#include <spdlog/spdlog.h>

#include <iostream>

#include "adapter/server.h"
#include "apps/gpuscale/commands.h"
#include "core/duration.h"

namespace gpuscale::app {

void RegisterAdapter(CLI::App& app, core::LogOptions& log, CommandSet& commands) {
  CLI::App* sub = app.add_subcommand(
      "adapter",
      "Serve custom.metrics.k8s.io and external.metrics.k8s.io from Prometheus (a drop-in "
      "prometheus-adapter: same flags, same rules file)");
  struct State {
    adapter::AdapterOptions o;
    std::string relist = "10m", max_age = "0", query_timeout = "30s";
    std::string check_config, series;
    std::vector<std::string> ignored;
    int port = 443;
  };
  auto st = std::make_shared<State>();
  auto& o = st->o;
  sub->add_option("--config", o.config, "Rules file (prometheus-adapter format)");
  sub->add_option("--prometheus-url", o.prometheus_url, "Prometheus base URL")
      ->capture_default_str();
  sub->add_option("--prometheus-ca-file", o.prometheus_ca_file, "CA bundle for Prometheus TLS");
  sub->add_option("--prometheus-client-tls-cert-file", o.prometheus_client_cert,
                  "Client certificate for Prometheus");
  sub->add_option("--prometheus-client-tls-key-file", o.prometheus_client_key,
                  "Client key for Prometheus");
  sub->add_option("--prometheus-token-file", o.prometheus_token_file,
                  "Bearer token file for Prometheus");
  sub->add_option("--prometheus-header", o.prometheus_headers,
                  "Extra header Key=Value (repeatable)");
  sub->add_option("--prometheus-verb", o.prometheus_verb, "GET or POST")->capture_default_str();
  sub->add_option("--metrics-relist-interval", st->relist, "Discovery interval")
      ->capture_default_str();
  sub->add_option("--metrics-max-age", st->max_age, "Discovery window (0: the relist interval)")
      ->capture_default_str();
  sub->add_option("--query-timeout", st->query_timeout,
                  "Bound of each Prometheus query (sent as timeout=)")
      ->capture_default_str();
  sub->add_option("--bind-address", o.bind_address, "Listen address")->capture_default_str();
  sub->add_option("--secure-port", st->port, "HTTPS port")->capture_default_str();
  sub->add_option("--cert-dir", o.cert_dir, "Where a self-signed serving certificate is kept")
      ->capture_default_str();
  sub->add_option("--tls-cert-file", o.tls_cert_file, "Serving certificate (PEM)");
  sub->add_option("--tls-private-key-file", o.tls_private_key_file, "Serving key (PEM)");
  sub->add_option("--lister-kubeconfig", o.lister_kubeconfig,
                  "Kubeconfig for listing objects (default: in-cluster)");
  sub->add_option("--authentication-kubeconfig", o.authentication_kubeconfig,
                  "Kubeconfig for TokenReview");
  sub->add_option("--authorization-kubeconfig", o.authorization_kubeconfig,
                  "Kubeconfig for SubjectAccessReview");
  sub->add_option("--client-ca-file", o.client_ca_file, "CA for client certificates");
  sub->add_option("--requestheader-client-ca-file", o.requestheader_client_ca_file,
                  "Front-proxy CA");
  sub->add_option("--requestheader-allowed-names", o.requestheader_allowed_names,
                  "Allowed front-proxy CNs")
      ->delimiter(',');
  sub->add_option("--requestheader-username-headers", o.requestheader_username_headers)
      ->delimiter(',');
  sub->add_option("--requestheader-group-headers", o.requestheader_group_headers)->delimiter(',');
  sub->add_option("--requestheader-extra-headers-prefix", o.requestheader_extra_headers_prefix)
      ->delimiter(',');
  sub->add_option("--authorization-always-allow-paths", o.always_allow_paths)->delimiter(',');
  sub->add_flag("--authentication-skip-lookup", o.authentication_skip_lookup);
  sub->add_flag("--authentication-tolerate-lookup-failure",
                o.authentication_tolerate_lookup_failure);
  sub->add_flag("--no-kubernetes", o.no_kubernetes,
                "Run without a Kubernetes API ('*' lookups fail; every caller is allowed)");
  sub->add_option("--check-config", st->check_config,
                  "Validate FILE offline and print the metrics each rule would expose, then exit");
  sub->add_option("--series", st->series,
                  "With --check-config: a saved /api/v1/series answer (JSON)");
  // Accepted for drop-in compatibility; they change nothing here (docs/adapter.md says why).
  for (const char* name : {"--logtostderr",
                           "--alsologtostderr",
                           "--log_dir",
                           "--log-dir",
                           "--vmodule",
                           "--log-flush-frequency",
                           "--tls-cipher-suites",
                           "--tls-min-version",
                           "--tls-sni-cert-key",
                           "--profiling",
                           "--contention-profiling",
                           "--disable-http2",
                           "--discovery-interval",
                           "--client-qps",
                           "--client-burst",
                           "--prometheus-auth-incluster",
                           "--prometheus-auth-config",
                           "--enable-priority-and-fairness",
                           "--permit-port-sharing",
                           "--permit-address-sharing",
                           "--http2-max-streams-per-connection",
                           "--authentication-token-webhook-cache-ttl",
                           "--authorization-webhook-cache-authorized-ttl",
                           "--authorization-webhook-cache-unauthorized-ttl",
                           "--audit-policy-file",
                           "--audit-log-path"}) {
    sub->add_option(name, st->ignored, "accepted for compatibility; no effect")
        ->expected(0, 1)
        ->group("Compatibility (no effect)");
  }
  commands.Add(sub, [st, &log] {
    if (!SetUpLogging(log)) return 2;
    auto& opts = st->o;
    if (!st->check_config.empty()) {
      return adapter::CheckConfig(st->check_config, st->series,
                                  st->series.empty() && opts.prometheus_url != "https://localhost"
                                      ? opts.prometheus_url
                                      : "",
                                  std::cout, std::cerr);
    }
    for (auto [text, out, flag] :
         {std::tuple{&st->relist, &opts.relist_interval, "--metrics-relist-interval"},
          std::tuple{&st->max_age, &opts.max_age, "--metrics-max-age"},
          std::tuple{&st->query_timeout, &opts.query_timeout, "--query-timeout"}}) {
      auto d = core::ParseDuration(*text);
      if (!d.ok()) {
        std::cerr << "gpuscale adapter: " << flag << ": " << d.error().message << "\n";
        return 2;
      }
      *out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    }
    if (st->port < 0 || st->port > 65535) {
      std::cerr << "gpuscale adapter: --secure-port: " << st->port << " is not a port\n";
      return 2;
    }
    opts.secure_port = static_cast<std::uint16_t>(st->port);
    if (!st->ignored.empty()) spdlog::warn("ignoring compatibility flags that have no effect here");
    return adapter::RunAdapter(opts);
  });
}

}  // namespace gpuscale::app
