#include "adapter/provider.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "core/json_escape.h"
#include "core/log.h"

namespace gpuscale::adapter {
namespace {

ApiAnswer StatusAnswer(int code, std::string_view reason, const std::string& message,
                       std::string_view details = {}) {
  return {code, EncodeStatus(code, reason, message, details)};
}

ApiAnswer NotFound(const std::string& message) { return StatusAnswer(404, "NotFound", message); }

ApiAnswer BadRequest(const std::string& message) {
  return StatusAnswer(400, "BadRequest", message);
}

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    std::size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return parts;
}

GroupResource ParseGroupResource(std::string_view s) {
  std::size_t dot = s.find('.');
  if (dot == std::string_view::npos) return {"", std::string(s)};
  return {std::string(s.substr(dot + 1)), std::string(s.substr(0, dot))};
}

std::string Param(const std::map<std::string, std::string>& params, const std::string& key) {
  auto it = params.find(key);
  return it == params.end() ? std::string() : it->second;
}

}  // namespace

ApiAnswer FetchError(const core::Error& cause) {
  const std::string message = "unable to fetch metrics: " + cause.message;
  switch (cause.code) {
    case core::Code::kUnavailable:
      return StatusAnswer(503, "ServiceUnavailable", message);
    case core::Code::kDeadlineExceeded:
      return StatusAnswer(504, "Timeout", message);
    default:
      return StatusAnswer(500, "InternalError", "Internal error occurred: " + message,
                          "{\"causes\":[{\"message\":" + core::JsonString(message) + "}]}");
  }
}

Provider::Provider(const RuleSet& rules, const ResourceMapper& mapper, MetricsSource& source,
                   ObjectLister& lister, const core::Clock& clock, ProviderOptions options)
    : rules_(rules),
      mapper_(mapper),
      source_(source),
      lister_(lister),
      clock_(clock),
      options_(std::move(options)),
      snapshot_(std::make_shared<MetricSnapshot>()) {}

void Provider::SetSnapshot(std::shared_ptr<const MetricSnapshot> snapshot) {
  std::lock_guard lock(mu_);
  snapshot_ = std::move(snapshot);
}

std::shared_ptr<const MetricSnapshot> Provider::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

ApiAnswer Provider::GroupList() const {
  // Both groups are always listed (empty lists are fine), so the aggregator's availability
  // check never fails for lack of rules.
  return {200, EncodeApiGroupList({{std::string(kCustomGroup), options_.custom_versions},
                                   {std::string(kExternalGroup), {"v1beta1"}}})};
}

ApiAnswer Provider::Discovery(std::string_view group, std::string_view version) const {
  auto snap = snapshot();
  std::vector<ApiResource> resources;
  if (group == kCustomGroup) {
    for (const auto& [key, unused] : snap->custom) {
      resources.push_back({key.resource.String() + "/" + key.metric, key.namespaced});
    }
    return {200, EncodeApiResourceList(std::string(group) + "/" + std::string(version),
                                       "MetricValueList", resources)};
  }
  for (const auto& [name, unused] : snap->external) resources.push_back({name, true});
  return {200, EncodeApiResourceList(std::string(group) + "/" + std::string(version),
                                     "ExternalMetricValueList", resources)};
}

std::optional<ApiAnswer> Provider::Handle(std::string_view path,
                                          const std::map<std::string, std::string>& params) {
  auto parts = Split(path);
  if (parts.empty() || parts[0] != "apis") return std::nullopt;
  if (parts.size() == 1) return GroupList();
  const std::string_view group = parts[1];
  const bool custom = group == kCustomGroup;
  if (!custom && group != kExternalGroup) {
    return NotFound("the server could not find the requested resource");
  }
  if (parts.size() == 2) {
    return ApiAnswer{200, EncodeApiGroup(group, custom ? options_.custom_versions
                                                       : std::vector<std::string>{"v1beta1"})};
  }
  const std::string_view version = parts[2];
  const auto& versions = custom ? options_.custom_versions : std::vector<std::string>{"v1beta1"};
  if (std::find(versions.begin(), versions.end(), version) == versions.end()) {
    return NotFound("the server could not find the requested resource");
  }
  if (parts.size() == 3) return Discovery(group, version);
  std::vector<std::string_view> rest(parts.begin() + 3, parts.end());
  if (custom) return Custom(version, rest, params);
  if (rest.size() == 3 && rest[0] == "namespaces") return External(rest[1], rest[2], params);
  return NotFound("the server could not find the requested resource");
}

ApiAnswer Provider::Custom(std::string_view version, const std::vector<std::string_view>& parts,
                           const std::map<std::string, std::string>& params) {
  if (parts.size() == 4 && parts[0] == "namespaces" && parts[2] == "metrics") {
    // The metric describing namespace parts[1] itself.
    return CustomLookup(version, "", "namespaces", parts[1], parts[3], params);
  }
  if (parts.size() == 5 && parts[0] == "namespaces") {
    return CustomLookup(version, parts[1], parts[2], parts[3], parts[4], params);
  }
  if (parts.size() == 3 && parts[0] != "namespaces") {
    return CustomLookup(version, "", parts[0], parts[1], parts[2], params);
  }
  return BadRequest("invalid request path");
}

ApiAnswer Provider::CustomLookup(std::string_view version, std::string_view ns,
                                 std::string_view resource, std::string_view name,
                                 std::string_view metric,
                                 const std::map<std::string, std::string>& params) {
  const GroupResource requested = ParseGroupResource(resource);
  auto metric_selector = ParseLabelSelector(Param(params, "metricLabelSelector"));
  if (!metric_selector.ok()) return StatusAnswer(500, "", metric_selector.error().message);
  auto info = mapper_.Normalize(requested);
  if (!info.ok()) {
    return NotFound("the server could not find the metric " + std::string(metric) + " for " +
                    requested.String());
  }
  const GroupResource gr = info->group_resource;
  const std::string not_found =
      "the server could not find the metric " + std::string(metric) + " for " + gr.String();

  std::vector<std::string> names;
  if (name == "*") {
    auto selector = ParseLabelSelector(Param(params, "labelSelector"));
    if (!selector.ok()) return BadRequest(selector.error().message);
    auto listed = lister_.ListNames(*info, ns, *selector);
    if (!listed.ok()) {
      spdlog::error("unable to list matching resource names: {}", listed.error().ToString());
      return StatusAnswer(500, "InternalError",
                          "Internal error occurred: unable to list matching resources",
                          "{\"causes\":[{\"message\":\"unable to list matching resources\"}]}");
    }
    names = std::move(*listed);
    if (names.empty()) return NotFound(not_found);
  } else {
    names.emplace_back(name);
  }

  auto snap = snapshot();
  auto it = snap->custom.find(CustomMetricKey{gr, !ns.empty(), std::string(metric)});
  if (it == snap->custom.end()) return NotFound(not_found);
  const CompiledRule& rule = rules_.custom[static_cast<std::size_t>(it->second.rule)];

  QueryInput in;
  in.series = it->second.series_name;
  in.metric_selector = &*metric_selector;
  in.names = names;
  in.escape_names = options_.escape_names;
  if (!ns.empty()) {
    auto ns_label = rule.resources->LabelForResource({"", "namespaces"});
    if (!ns_label.ok()) {
      spdlog::error("unable to construct query for metric {}: {}", metric,
                    ns_label.error().message);
      return NotFound(not_found);
    }
    in.namespace_label = *ns_label;
    in.namespace_value = std::string(ns);
  }
  auto res_label = rule.resources->LabelForResource(gr);
  if (!res_label.ok()) {
    spdlog::error("unable to construct query for metric {}: {}", metric, res_label.error().message);
    return NotFound(not_found);
  }
  in.resource_label = *res_label;
  auto query = BuildQuery(rule.query, in);
  if (!query.ok()) {
    spdlog::error("unable to construct query for metric {}: {}", metric, query.error().message);
    return NotFound(not_found);
  }
  const core::Timestamp now = clock_.Now();
  if (core::V(6)) spdlog::debug("query for {}/{}: {}", gr.String(), metric, *query);
  auto answer = source_.Query(*query, now, options_.query_timeout);
  if (!answer.ok()) {
    spdlog::error("unable to fetch metrics from prometheus: {}", answer.error().ToString());
    return FetchError(answer.error());
  }
  if (answer->type != PromAnswer::Type::kVector) {
    spdlog::error("unexpected results from prometheus: expected vector, got {}",
                  answer->type == PromAnswer::Type::kScalar ? "scalar" : answer->type_name);
    return FetchError(core::Internal(
        "expected a vector, got " +
        (answer->type == PromAnswer::Type::kScalar ? std::string("scalar") : answer->type_name)));
  }
  if (name != "*" && answer->samples.empty()) return NotFound(not_found + " " + std::string(name));
  std::map<std::string, double> by_name;
  for (const auto& s : answer->samples) {
    auto l = s.labels.find(in.resource_label);
    if (l != s.labels.end()) by_name[l->second] = s.value;  // the last one wins, as upstream
  }
  std::vector<MetricValue> items;
  for (const auto& n : names) {
    auto v = by_name.find(n);
    if (v == by_name.end()) continue;
    MetricValue mv;
    mv.kind = info->kind;
    mv.api_version = info->group_resource.group + "/" + info->version;
    mv.namespace_ = std::string(ns);
    mv.name = n;
    mv.metric = std::string(metric);
    mv.timestamp = now;
    mv.milli = ToMilli(v->second, /*nan_is_zero=*/true);
    items.push_back(std::move(mv));
  }
  if (name != "*" && items.empty()) return NotFound(not_found + " " + std::string(name));
  return ApiAnswer{200, EncodeMetricValueList(version, items, *metric_selector)};
}

ApiAnswer Provider::External(std::string_view ns, std::string_view metric,
                             const std::map<std::string, std::string>& params) {
  auto selector = ParseLabelSelector(Param(params, "labelSelector"));
  if (!selector.ok()) return BadRequest(selector.error().message);
  auto snap = snapshot();
  auto it = snap->external.find(std::string(metric));
  if (it == snap->external.end()) {
    // prometheus-adapter's quirk: "namespaces" only when the namespace is "default".
    return NotFound("the server could not find the metric " + std::string(metric) + " for " +
                    (ns == "default" ? "namespaces" : ""));
  }
  const CompiledRule& rule = rules_.external[static_cast<std::size_t>(it->second.rule)];
  QueryInput in;
  in.series = it->second.series_name;
  in.metric_selector = &*selector;
  if (rule.namespaced && !ns.empty()) {
    auto ns_label = rule.resources->LabelForResource({"", "namespaces"});
    if (!ns_label.ok()) {
      spdlog::error("external metric {}: {}", metric, ns_label.error().message);
      return FetchError(core::InvalidArgument(
          "the rule has no label for namespaces (add resources.overrides.namespace or "
          "resources.namespaced: false): " +
          ns_label.error().message));
    }
    in.namespace_label = *ns_label;
    in.namespace_value = std::string(ns);
  }
  auto query = BuildQuery(rule.query, in);
  if (!query.ok()) return FetchError(query.error());
  auto answer = source_.Query(*query, clock_.Now(), options_.query_timeout);
  if (!answer.ok()) {
    spdlog::error("unable to fetch metrics from prometheus: {}", answer.error().ToString());
    return FetchError(answer.error());
  }
  std::vector<ExternalValue> items;
  if (answer->type == PromAnswer::Type::kScalar) {
    for (const auto& s : answer->samples) {
      items.push_back({std::string(metric), std::nullopt, s.timestamp, ToMilli(s.value, false)});
    }
  } else if (answer->type == PromAnswer::Type::kVector) {
    for (const auto& s : answer->samples) {
      std::map<std::string, std::string> labels = s.labels;
      items.push_back(
          {std::string(metric), std::move(labels), s.timestamp, ToMilli(s.value, false)});
    }
  } else {
    return FetchError(core::Internal("encountered an unexpected query result type"));
  }
  return ApiAnswer{200, EncodeExternalValueList(items)};
}

}  // namespace gpuscale::adapter
