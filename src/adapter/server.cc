#include "adapter/server.h"

#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "adapter/auth.h"
#include "adapter/discovery.h"
#include "adapter/prom_source.h"
#include "adapter/provider.h"
#include "adapter/registry.h"
#include "adapter/series_match.h"
#include "core/log.h"
#include "http/message.h"
#include "http/server.h"
#include "http/tls_certs.h"
#include "kube/client.h"
#include "kube/pod_cache.h"
#include "prom/api.h"

namespace gpuscale::adapter {
namespace {

class NoKubernetesLister : public ObjectLister {
 public:
  core::Result<std::vector<std::string>> ListNames(const ResourceInfo& r, std::string_view,
                                                   const std::vector<Requirement>&) override {
    return core::FailedPrecondition("cannot list " + r.group_resource.String() +
                                    ": no Kubernetes API (--no-kubernetes)");
  }
};

// Pods from the watch-backed cache; other resources from a LIST per request.
class KubeLister : public ObjectLister {
 public:
  KubeLister(kube::Client& client, kube::PodCache& pods) : client_(client), pods_(pods) {}
  core::Result<std::vector<std::string>> ListNames(const ResourceInfo& r, std::string_view ns,
                                                   const std::vector<Requirement>& sel) override {
    if (r.group_resource.group.empty() && r.group_resource.resource == "pods") {
      // Right after start the first LIST may still be on its way (seconds for thousands of
      // pods): wait for it rather than failing the lookup.
      return pods_.List(
          ns,
          [&](const std::map<std::string, std::string>& labels) {
            return MatchesSelector(sel, labels);
          },
          std::chrono::seconds(10));
    }
    return client_.ListNames(r.group_resource.group, r.version, r.group_resource.resource, ns,
                             SelectorString(sel));
  }

 private:
  kube::Client& client_;
  kube::PodCache& pods_;
};

// TokenReview and SubjectAccessReview against kube-apiserver.
class KubeReviewer : public Reviewer {
 public:
  explicit KubeReviewer(kube::Client& client) : client_(client) {}
  core::Result<std::optional<UserInfo>> ReviewToken(const std::string& token) override {
    GPUSCALE_ASSIGN_OR_RETURN(std::string body,
                              client_.Post("/apis/authentication.k8s.io/v1/tokenreviews",
                                           kube::EncodeTokenReview(token)));
    GPUSCALE_ASSIGN_OR_RETURN(kube::ReviewedUser u, kube::DecodeTokenReview(body));
    if (!u.authenticated) return std::optional<UserInfo>();
    return std::optional<UserInfo>(UserInfo{u.username, u.groups, {}});
  }
  core::Result<bool> ReviewAccess(const UserInfo& user, const RequestAttributes& a,
                                  std::string* reason) override {
    kube::AccessRequest r;
    r.user = user.name;
    r.groups = user.groups;
    r.resource = a.resource_request;
    r.verb = a.verb;
    r.group = a.group;
    r.version = a.version;
    r.resource_name = a.resource;
    r.subresource = a.subresource;
    r.name = a.name;
    r.namespace_ = a.namespace_;
    r.path = a.path;
    GPUSCALE_ASSIGN_OR_RETURN(std::string body,
                              client_.Post("/apis/authorization.k8s.io/v1/subjectaccessreviews",
                                           kube::EncodeSubjectAccessReview(r)));
    return kube::DecodeSubjectAccessReview(body, reason);
  }

 private:
  kube::Client& client_;
};

bool FileExists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

std::map<std::string, std::string> QueryParams(const http::Request& req) {
  std::map<std::string, std::string> out;
  std::string_view q = req.RawQuery();
  while (!q.empty()) {
    std::size_t amp = q.find('&');
    std::string_view kv = q.substr(0, amp);
    std::size_t eq = kv.find('=');
    std::string k = http::PercentDecode(kv.substr(0, eq), true);
    std::string v =
        eq == std::string_view::npos ? "" : http::PercentDecode(kv.substr(eq + 1), true);
    out.emplace(std::move(k), std::move(v));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace

core::Status ValidateOptions(const AdapterOptions& o) {
  if (o.prometheus_verb != "GET" && o.prometheus_verb != "POST") {
    return core::InvalidArgument("unsupported Prometheus HTTP verb \"" + o.prometheus_verb +
                                 "\"; supported verbs: \"GET\" and \"POST\"");
  }
  if (o.max_age.count() != 0 && o.max_age < o.relist_interval) {
    return core::InvalidArgument(
        "--metrics-max-age must be greater than or equal to --metrics-relist-interval");
  }
  if (o.tls_cert_file.empty() != o.tls_private_key_file.empty()) {
    return core::InvalidArgument(
        "--tls-cert-file and --tls-private-key-file must be given together");
  }
  if (o.query_timeout.count() <= 0)
    return core::InvalidArgument("--query-timeout must be positive");
  return core::Status::Ok();
}

int CheckConfig(const std::string& config_path, const std::string& series_file,
                const std::string& prometheus_url, std::ostream& out, std::ostream& err) {
  auto config = LoadConfig(config_path);
  if (!config.ok()) {
    err << "error: " << config.error().message << "\n";
    return 1;
  }
  auto rules = RuleSet::Compile(*config, ResourceMapper::BuiltIn());
  if (!rules.ok()) {
    err << "error: " << rules.error().message << "\n";
    return 1;
  }
  for (const auto& w : config->warnings) err << "warning: " << w << "\n";
  out << config_path << ": " << config->rules.size() << " rules, " << config->external_rules.size()
      << " externalRules: valid\n";
  if (series_file.empty() && prometheus_url.empty()) return 0;

  std::vector<std::vector<SeriesShape>> shapes(rules->series_queries.size());
  if (!series_file.empty()) {
    std::ifstream in(series_file, std::ios::binary);
    if (!in) {
      err << "error: " << series_file << ": cannot read the series file\n";
      return 1;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto set = prom::DecodeSeriesResponse(ss.str());
    if (!set.ok()) {
      err << "error: " << series_file << ": " << set.error().message << "\n";
      return 1;
    }
    for (std::size_t q = 0; q < rules->series_queries.size(); ++q) {
      auto sel = SeriesSelector::Parse(rules->series_queries[q]);
      if (!sel.ok()) {
        err << "error: " << sel.error().message << "\n";
        return 1;
      }
      std::vector<prom::Labels> matching;
      for (const auto& labels : set->series) {
        std::map<std::string, std::string> m;
        for (const auto& l : labels) m[l.name] = l.value;
        if (sel->Matches(m)) matching.push_back(labels);
      }
      shapes[q] = ShapesOf(matching);
    }
  } else {
    prom::ApiClientOptions po;
    po.url = prometheus_url;
    po.timeout = std::chrono::seconds(30);
    auto client = prom::ApiClient::Create(po);
    if (!client.ok()) {
      err << "error: --prometheus-url: " << client.error().message << "\n";
      return 1;
    }
    core::SystemClock clock;
    PromSeriesLister lister(**client);
    for (std::size_t q = 0; q < rules->series_queries.size(); ++q) {
      auto listed =
          lister.ListSeries(rules->series_queries[q], clock.Now() - std::chrono::minutes(10));
      if (!listed.ok()) {
        err << "error: series query \"" << rules->series_queries[q]
            << "\": " << listed.error().message << "\n";
        return 1;
      }
      shapes[q] = std::move(*listed);
    }
  }
  std::vector<RuleStats> custom_stats, external_stats;
  MetricSnapshot snap = BuildSnapshot(*rules, shapes, &custom_stats, &external_stats);
  auto report = [&](const CompiledRule& rule, const RuleStats& st) {
    out << rule.config.where << " (seriesQuery " << rule.config.series_query
        << "): " << st.series_seen << " series shapes, " << st.series_filtered << " filtered out, "
        << st.series_unnamed << " unnamed";
    if (st.series_without_resources)
      out << ", " << st.series_without_resources << " with no resource label";
    out << "\n";
    if (st.metrics.empty()) out << "  exposes nothing\n";
    for (const auto& m : st.metrics) out << "  " << m << "\n";
  };
  for (std::size_t i = 0; i < rules->custom.size(); ++i) report(rules->custom[i], custom_stats[i]);
  for (std::size_t i = 0; i < rules->external.size(); ++i)
    report(rules->external[i], external_stats[i]);
  // One example query per exposed custom metric, for two objects in namespace "default".
  for (const auto& [key, src] : snap.custom) {
    const CompiledRule& rule = rules->custom[static_cast<std::size_t>(src.rule)];
    QueryInput in;
    in.series = src.series_name;
    auto res_label = rule.resources->LabelForResource(key.resource);
    if (!res_label.ok()) continue;
    in.resource_label = *res_label;
    in.names = {"NAME1", "NAME2"};
    if (key.namespaced) {
      auto ns_label = rule.resources->LabelForResource({"", "namespaces"});
      if (ns_label.ok()) {
        in.namespace_label = *ns_label;
        in.namespace_value = "NAMESPACE";
      }
    }
    auto q = BuildQuery(rule.query, in);
    out << "query " << key.resource.String() << "/" << key.metric << ": "
        << (q.ok() ? *q : "ERROR " + q.error().message) << "\n";
  }
  return 0;
}

namespace {

struct ServingCert {
  std::string cert_file, key_file;
};

core::Result<ServingCert> PrepareCert(const AdapterOptions& o) {
  if (!o.tls_cert_file.empty()) return ServingCert{o.tls_cert_file, o.tls_private_key_file};
  ServingCert c{o.cert_dir + "/apiserver.crt", o.cert_dir + "/apiserver.key"};
  if (FileExists(c.cert_file) && FileExists(c.key_file)) return c;
  http::ServerCertOptions so;
  so.dns_names = {"localhost"};
  so.ip_addresses = {"127.0.0.1"};
  GPUSCALE_ASSIGN_OR_RETURN(http::CertificateAndKey pair, http::CreateSelfSignedServerCert(so));
  GPUSCALE_RETURN_IF_ERROR(http::WritePemFiles(pair, c.cert_file, c.key_file));
  spdlog::info("generated a self-signed serving certificate in {}", o.cert_dir);
  return c;
}

std::string OwnMetrics(const DiscoveryStats& d, const std::map<int, std::int64_t>& by_code) {
  std::string m;
  auto line = [&](const std::string& name, const std::string& help, const std::string& type,
                  const std::string& labels, std::int64_t v) {
    m += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + labels +
         " " + std::to_string(v) + "\n";
  };
  line("gpuscale_adapter_relists_total", "Relists run.", "counter", "", d.relists.load());
  line("gpuscale_adapter_relist_query_failures_total", "Series queries that failed.", "counter", "",
       d.query_failures.load());
  m += "# HELP gpuscale_adapter_last_successful_relist_timestamp_seconds Time of the last relist "
       "whose queries all succeeded.\n# TYPE "
       "gpuscale_adapter_last_successful_relist_timestamp_seconds "
       "gauge\ngpuscale_adapter_last_successful_relist_timestamp_seconds " +
       std::to_string(static_cast<double>(d.last_success_unix_ms.load()) / 1000.0) + "\n";
  line("gpuscale_adapter_series_shapes", "Distinct (series name, label names) kept.", "gauge", "",
       d.series_shapes.load());
  line("gpuscale_adapter_custom_metrics", "Custom metrics exposed ((resource, metric) pairs).",
       "gauge", "", d.custom_metrics.load());
  line("gpuscale_adapter_external_metrics", "External metrics exposed.", "gauge", "",
       d.external_metrics.load());
  m += "# HELP gpuscale_adapter_requests_total Metrics API requests by HTTP code.\n# TYPE "
       "gpuscale_adapter_requests_total counter\n";
  for (const auto& [code, n] : by_code) {
    m += "gpuscale_adapter_requests_total{code=\"" + std::to_string(code) + "\"} " +
         std::to_string(n) + "\n";
  }
  return m;
}

}  // namespace

int RunAdapter(const AdapterOptions& o) {
  if (auto st = ValidateOptions(o); !st.ok()) {
    spdlog::error("{}", st.error().message);
    return 1;
  }
  auto config = LoadConfig(o.config);
  if (!config.ok()) {
    spdlog::error("unable to load metrics discovery config: {}", config.error().message);
    return 1;
  }
  for (const auto& w : config->warnings) spdlog::warn("{}", w);
  auto rules = RuleSet::Compile(*config, ResourceMapper::BuiltIn());
  if (!rules.ok()) {
    spdlog::error("unable to load metrics discovery config: {}", rules.error().message);
    return 1;
  }
  prom::ApiClientOptions po;
  po.url = o.prometheus_url;
  po.timeout = o.query_timeout;
  po.bearer_token_file = o.prometheus_token_file;
  po.ca_file = o.prometheus_ca_file;
  po.cert_file = o.prometheus_client_cert;
  po.key_file = o.prometheus_client_key;
  if (o.prometheus_verb == "POST") po.max_get_url_bytes = 0;
  for (const auto& h : o.prometheus_headers) {
    std::size_t eq = h.find('=');
    if (eq == std::string::npos) {
      spdlog::error("--prometheus-header {}: expected Key=Value", h);
      return 1;
    }
    po.headers.emplace_back(h.substr(0, eq), h.substr(eq + 1));
  }
  auto prom_client = prom::ApiClient::Create(po);
  if (!prom_client.ok()) {
    spdlog::error("--prometheus-url: {}", prom_client.error().message);
    return 1;
  }

  std::unique_ptr<kube::Client> kube_client;
  std::unique_ptr<kube::PodCache> pods;
  std::unique_ptr<ObjectLister> lister;
  if (o.no_kubernetes) {
    lister = std::make_unique<NoKubernetesLister>();
  } else {
    auto kc = kube::Client::FromKubeconfigOrInCluster(o.lister_kubeconfig);
    if (!kc.ok()) {
      spdlog::error("unable to construct lister client: {}", kc.error().message);
      return 1;
    }
    kube_client = std::move(*kc);
    pods = std::make_unique<kube::PodCache>(*kube_client);
    pods->Start();
    lister = std::make_unique<KubeLister>(*kube_client, *pods);
  }

  // Authentication: the front-proxy CA and header names from
  // kube-system/extension-apiserver-authentication unless given or skipped.
  std::unique_ptr<kube::Client> auth_client;
  std::unique_ptr<KubeReviewer> reviewer;
  std::unique_ptr<Authorizer> authorizer;
  core::SystemClock auth_clock;
  std::string requestheader_ca = o.requestheader_client_ca_file;
  AuthOptions ao;
  ao.allowed_names = o.requestheader_allowed_names;
  ao.username_headers = o.requestheader_username_headers;
  ao.group_headers = o.requestheader_group_headers;
  ao.extra_headers_prefix = o.requestheader_extra_headers_prefix;
  ao.always_allow_paths = o.always_allow_paths;
  if (!o.no_kubernetes) {
    const std::string kc =
        !o.authentication_kubeconfig.empty() ? o.authentication_kubeconfig : o.lister_kubeconfig;
    auto ac = kube::Client::FromKubeconfigOrInCluster(kc);
    if (!ac.ok()) {
      spdlog::error("unable to construct the authentication client: {}", ac.error().message);
      return 1;
    }
    auth_client = std::move(*ac);
    if (requestheader_ca.empty() && !o.authentication_skip_lookup) {
      auto body = auth_client->Get(
          "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication");
      core::Result<std::map<std::string, std::string>> data =
          body.ok() ? kube::DecodeConfigMapData(*body)
                    : core::Result<std::map<std::string, std::string>>(body.error());
      if (!data.ok()) {
        spdlog::error("unable to load configmap based request-header-client-ca-file: {}",
                      data.error().message);
        if (!o.authentication_tolerate_lookup_failure) return 1;
      } else {
        auto get_list = [&](const char* key, std::vector<std::string>* out) {
          auto it = data->find(key);
          if (it == data->end()) return;
          auto v = kube::DecodeStringArray(it->second);
          if (v.ok())
            *out = *v;
          else
            spdlog::warn("extension-apiserver-authentication {}: {}", key, v.error().message);
        };
        if (auto it = data->find("requestheader-client-ca-file"); it != data->end()) {
          requestheader_ca = o.cert_dir + "/requestheader-client-ca.crt";
          std::error_code dir_error;
          std::filesystem::create_directories(o.cert_dir, dir_error);
          std::ofstream out(requestheader_ca, std::ios::trunc);
          out << it->second;
          if (!out) {
            spdlog::error("unable to write {}{}", requestheader_ca,
                          dir_error ? ": " + dir_error.message() : std::string());
            return 1;
          }
        }
        if (ao.allowed_names.empty()) get_list("requestheader-allowed-names", &ao.allowed_names);
        get_list("requestheader-username-headers", &ao.username_headers);
        get_list("requestheader-group-headers", &ao.group_headers);
        get_list("requestheader-extra-headers-prefix", &ao.extra_headers_prefix);
      }
    }
    ao.front_proxy = !requestheader_ca.empty();
    reviewer = std::make_unique<KubeReviewer>(*auth_client);
    authorizer = std::make_unique<Authorizer>(ao, *reviewer, auth_clock);
  }

  auto cert = PrepareCert(o);
  if (!cert.ok()) {
    spdlog::error("unable to prepare the serving certificate: {}", cert.error().message);
    return 1;
  }

  core::SystemClock clock;
  PromSource source(**prom_client);
  ProviderOptions popts;
  popts.query_timeout = o.query_timeout;
  Provider provider(*rules, ResourceMapper::BuiltIn(), source, *lister, clock, popts);
  PromSeriesLister series_lister(**prom_client);
  core::ThreadScheduler scheduler;
  Discovery discovery(
      *rules, series_lister, scheduler,
      [&](std::shared_ptr<const MetricSnapshot> s) {
        provider.SetSnapshot(std::move(s));
#if defined(__GLIBC__)
        // A relist decodes /api/v1/series answers as they stream in, but start-up and the
        // decoding leave freed heap behind in several threads' arenas; give it back so the
        // resident set follows what is kept.
        malloc_trim(0);
#endif
      },
      DiscoveryOptions{o.relist_interval, o.max_age, std::chrono::seconds(5)});
#if defined(__GLIBC__)
  if (pods) {
    // The first relist's trim can come before the pod cache's first LIST, whose freed heap
    // would then stay: trim once more when the cache has synced (checked each second, 10 min).
    struct TrimWhenSynced {
      const kube::PodCache* pods;
      core::Scheduler* scheduler;
      int tries_left;
      void operator()() {
        if (pods->synced()) {
          malloc_trim(0);
        } else if (--tries_left > 0) {
          scheduler->ScheduleAt(scheduler->clock().Now() + std::chrono::seconds(1), *this);
        }
      }
    };
    scheduler.ScheduleAt(scheduler.clock().Now() + std::chrono::seconds(1),
                         TrimWhenSynced{pods.get(), &scheduler, 600});
  }
#endif

  std::mutex counts_mu;
  std::map<int, std::int64_t> by_code;
  http::Handler handler = [&](http::Request req, http::Reply reply) {
    const std::string path = req.Path();
    if (authorizer) {
      AuthResult ar = authorizer->Check(req);
      if (!ar.allowed) {
        if (core::V(2))
          spdlog::info("{} {}: {} for user \"{}\"", req.method, path, ar.status, ar.user.name);
        reply(http::Response::Json(ar.status, std::move(ar.body)));
        return;
      }
    }
    if (path == "/readyz" || path.starts_with("/readyz/")) {
      // Not ready until the pod cache holds the first LIST: `*` lookups need it.
      if (pods && !pods->synced()) {
        reply(http::Response::Text(500,
                                   "[-]informer-sync failed: the pod cache has not synced "
                                   "with the Kubernetes API yet\nreadyz check failed\n"));
      } else {
        reply(http::Response::Text(200, "ok"));
      }
      return;
    }
    if (path == "/healthz" || path == "/livez" || path.starts_with("/healthz/") ||
        path.starts_with("/livez/")) {
      reply(http::Response::Text(200, "ok"));
      return;
    }
    if (path == "/metrics") {
      std::lock_guard lock(counts_mu);
      reply(http::Response::Text(200, OwnMetrics(discovery.stats(), by_code),
                                 "text/plain; version=0.0.4; charset=utf-8"));
      return;
    }
    if (path == "/version") {
      reply(http::Response::Json(200,
                                 "{\"major\":\"1\",\"minor\":\"0\",\"gitVersion\":\"gpuscale\","
                                 "\"gitCommit\":\"\",\"gitTreeState\":\"\",\"buildDate\":\"\","
                                 "\"goVersion\":\"\",\"compiler\":\"\",\"platform\":\"\"}\n"));
      return;
    }
    ApiAnswer a;
    if (req.method != "GET") {
      a = {405, EncodeStatus(405, "MethodNotAllowed",
                             "the server does not allow this method on the requested resource")};
    } else if (auto handled = provider.Handle(path, QueryParams(req))) {
      a = std::move(*handled);
    } else {
      a = {404, EncodeStatus(404, "NotFound", "the server could not find the requested resource")};
    }
    {
      std::lock_guard lock(counts_mu);
      ++by_code[a.status];
    }
    reply(http::Response::Json(a.status, std::move(a.body)));
  };

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  http::ServerOptions so;
  so.address = o.bind_address;
  so.port = o.secure_port;
  so.io_threads = o.io_threads;
  // Client certificates are requested for the front proxy: the CA from the flag or, as
  // prometheus-adapter does, from kube-system/extension-apiserver-authentication.
  so.tls = http::TlsServerOptions{cert->cert_file, cert->key_file, requestheader_ca, false};
  auto server = http::Server::Start(so, handler);
  if (!server.ok()) {
    spdlog::error("unable to serve on {}:{}: {}", o.bind_address, o.secure_port,
                  server.error().message);
    return 1;
  }
  discovery.Start();
  spdlog::info("serving custom.metrics.k8s.io and external.metrics.k8s.io on https://{}:{}",
               o.bind_address, (*server)->port());
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("received signal {}, shutting down", sig);
  discovery.Stop();
  (*server)->Stop(std::chrono::seconds(4));
  if (pods) pods->Stop();
  scheduler.Stop();
  return 0;
}

}  // namespace gpuscale::adapter
