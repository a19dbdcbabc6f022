// The metrics API's request handling: path → lookup in the metric snapshot → PromQL → answer,
// with Prometheus and the Kubernetes object list behind small interfaces (fakes in tests,
// prom::ApiClient and the kube pod cache in the binary). No sockets here.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/encode.h"
#include "adapter/registry.h"
#include "core/clock.h"
#include "core/result.h"

namespace gpuscale::adapter {

// One sample of an instant-query answer.
struct PromSample {
  std::map<std::string, std::string> labels;
  double value = 0;
  core::Timestamp timestamp;
};
// An instant-query answer: a vector, or a scalar (one sample without labels), or another type.
struct PromAnswer {
  enum class Type { kVector, kScalar, kOther } type = Type::kVector;
  std::vector<PromSample> samples;
  std::string type_name;  // for messages when kOther
};

// Runs instant queries. Implementations must honour `timeout` (it is passed on to Prometheus).
class MetricsSource {
 public:
  virtual ~MetricsSource() = default;
  virtual core::Result<PromAnswer> Query(const std::string& promql, core::Timestamp now,
                                         std::chrono::milliseconds timeout) = 0;
};

// Lists the names of objects of a resource matching a label selector in a namespace ("" for
// all / root-scoped), for `*` requests; in list order.
class ObjectLister {
 public:
  virtual ~ObjectLister() = default;
  virtual core::Result<std::vector<std::string>> ListNames(
      const ResourceInfo& resource, std::string_view namespace_,
      const std::vector<Requirement>& selector) = 0;
};

// The answer to one API request: an HTTP status and a JSON body.
struct ApiAnswer {
  int status = 200;
  std::string body;
};

struct ProviderOptions {
  std::chrono::milliseconds query_timeout{30000};  // bound of each Prometheus query
  bool escape_names = true;                        // regex-escape object names joined for `=~`
  // Custom metrics versions served; the first is the one /apis lists as preferred.
  std::vector<std::string> custom_versions = {"v1beta1", "v1beta2"};
};

// Thread-safe. `rules`, `mapper`, `source`, `lister` and `clock` must outlive the provider.
class Provider {
 public:
  Provider(const RuleSet& rules, const ResourceMapper& mapper, MetricsSource& source,
           ObjectLister& lister, const core::Clock& clock, ProviderOptions options = {});

  // Replaces the metric snapshot (discovery calls this after each relist).
  void SetSnapshot(std::shared_ptr<const MetricSnapshot> snapshot);
  std::shared_ptr<const MetricSnapshot> snapshot() const;

  // Handles GET `path` (percent-decoded) with its query parameters. Paths outside /apis give
  // nullopt (the server answers them).
  std::optional<ApiAnswer> Handle(std::string_view path,
                                  const std::map<std::string, std::string>& params);

  // Exposed for tests and the server.
  ApiAnswer Discovery(std::string_view group, std::string_view version) const;
  ApiAnswer GroupList() const;

 private:
  ApiAnswer Custom(std::string_view version, const std::vector<std::string_view>& parts,
                   const std::map<std::string, std::string>& params);
  ApiAnswer External(std::string_view ns, std::string_view metric,
                     const std::map<std::string, std::string>& params);
  ApiAnswer CustomLookup(std::string_view version, std::string_view ns, std::string_view resource,
                         std::string_view name, std::string_view metric,
                         const std::map<std::string, std::string>& params);

  const RuleSet& rules_;
  const ResourceMapper& mapper_;
  MetricsSource& source_;
  ObjectLister& lister_;
  const core::Clock& clock_;
  ProviderOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const MetricSnapshot> snapshot_;  // guarded by mu_
};

// Maps an error from Prometheus to the Status the caller sees: unreachable or 5xx → 503
// ServiceUnavailable, timeout → 504 Timeout, anything else → 500 InternalError; the message
// starts "unable to fetch metrics" and carries the cause.
ApiAnswer FetchError(const core::Error& cause);

}  // namespace gpuscale::adapter
