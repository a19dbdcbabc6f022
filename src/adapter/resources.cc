#include "adapter/resources.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

namespace gpuscale::adapter {

class Re2Holder {
 public:
  explicit Re2Holder(const std::string& pattern) : re(pattern, re2::RE2::Quiet) {}
  re2::RE2 re;
  int group_index = -1;
  int resource_index = -1;
};

namespace {
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

ResourceMapper::ResourceMapper(std::vector<ResourceInfo> resources)
    : resources_(std::move(resources)) {}

const ResourceMapper& ResourceMapper::BuiltIn() {
  static const ResourceMapper* kMapper = [] {
    auto r = [](std::string group, std::string plural, std::string version, std::string kind,
                std::string singular, bool ns) {
      return ResourceInfo{{std::move(group), std::move(plural)},
                          std::move(version),
                          std::move(kind),
                          std::move(singular),
                          ns};
    };
    return new ResourceMapper({
        r("", "pods", "v1", "Pod", "pod", true),
        r("", "namespaces", "v1", "Namespace", "namespace", false),
        r("", "nodes", "v1", "Node", "node", false),
        r("", "services", "v1", "Service", "service", true),
        r("", "endpoints", "v1", "Endpoints", "endpoints", true),
        r("", "persistentvolumes", "v1", "PersistentVolume", "persistentvolume", false),
        r("", "persistentvolumeclaims", "v1", "PersistentVolumeClaim", "persistentvolumeclaim",
          true),
        r("", "replicationcontrollers", "v1", "ReplicationController", "replicationcontroller",
          true),
        r("", "configmaps", "v1", "ConfigMap", "configmap", true),
        r("", "secrets", "v1", "Secret", "secret", true),
        r("", "serviceaccounts", "v1", "ServiceAccount", "serviceaccount", true),
        r("", "events", "v1", "Event", "event", true),
        r("", "limitranges", "v1", "LimitRange", "limitrange", true),
        r("", "resourcequotas", "v1", "ResourceQuota", "resourcequota", true),
        r("", "podtemplates", "v1", "PodTemplate", "podtemplate", true),
        r("apps", "deployments", "v1", "Deployment", "deployment", true),
        r("apps", "statefulsets", "v1", "StatefulSet", "statefulset", true),
        r("apps", "daemonsets", "v1", "DaemonSet", "daemonset", true),
        r("apps", "replicasets", "v1", "ReplicaSet", "replicaset", true),
        r("apps", "controllerrevisions", "v1", "ControllerRevision", "controllerrevision", true),
        r("autoscaling", "horizontalpodautoscalers", "v2", "HorizontalPodAutoscaler",
          "horizontalpodautoscaler", true),
        r("batch", "jobs", "v1", "Job", "job", true),
        r("batch", "cronjobs", "v1", "CronJob", "cronjob", true),
        r("networking.k8s.io", "ingresses", "v1", "Ingress", "ingress", true),
        r("networking.k8s.io", "networkpolicies", "v1", "NetworkPolicy", "networkpolicy", true),
        r("networking.k8s.io", "ingressclasses", "v1", "IngressClass", "ingressclass", false),
        r("policy", "poddisruptionbudgets", "v1", "PodDisruptionBudget", "poddisruptionbudget",
          true),
        r("discovery.k8s.io", "endpointslices", "v1", "EndpointSlice", "endpointslice", true),
        r("events.k8s.io", "events", "v1", "Event", "event", true),
        r("coordination.k8s.io", "leases", "v1", "Lease", "lease", true),
        r("storage.k8s.io", "storageclasses", "v1", "StorageClass", "storageclass", false),
        r("rbac.authorization.k8s.io", "roles", "v1", "Role", "role", true),
        r("rbac.authorization.k8s.io", "rolebindings", "v1", "RoleBinding", "rolebinding", true),
        r("rbac.authorization.k8s.io", "clusterroles", "v1", "ClusterRole", "clusterrole", false),
        r("rbac.authorization.k8s.io", "clusterrolebindings", "v1", "ClusterRoleBinding",
          "clusterrolebinding", false),
        r("apiextensions.k8s.io", "customresourcedefinitions", "v1", "CustomResourceDefinition",
          "customresourcedefinition", false),
        r("scheduling.k8s.io", "priorityclasses", "v1", "PriorityClass", "priorityclass", false),
    });
  }();
  return *kMapper;
}

core::Result<ResourceInfo> ResourceMapper::Normalize(const GroupResource& partial) const {
  const std::string res = Lower(partial.resource);
  const std::string group = Lower(partial.group);
  for (const auto& info : resources_) {
    if (!partial.group.empty() && info.group_resource.group != group) continue;
    if (info.group_resource.resource == res || info.singular == res) return info;
  }
  return core::NotFound("no matches for " + partial.group + "/, Resource=" + partial.resource);
}

ResourceConverter::ResourceConverter(const ResourceMapper& mapper) : mapper_(mapper) {}
ResourceConverter::~ResourceConverter() = default;

bool IsRootScopedSpecial(const GroupResource& gr) {
  return gr.group.empty() && (gr.resource == "namespaces" || gr.resource == "nodes" ||
                              gr.resource == "persistentvolumes");
}

core::Result<std::unique_ptr<ResourceConverter>> ResourceConverter::Create(
    const ResourceMapping& mapping, const ResourceMapper& mapper) {
  std::unique_ptr<ResourceConverter> c(new ResourceConverter(mapper));
  if (!mapping.template_text.empty()) {
    GPUSCALE_ASSIGN_OR_RETURN(Template t, Template::Parse(mapping.template_text));
    // As prometheus-adapter does: run the template with capture groups as Group and Resource
    // and use the result, anchored, as the regex that recognises resource labels.
    auto pattern = t.Execute(TemplateValue::Struct(
        "schema.GroupResource", {{"Group", TemplateValue::String("(?P<group>.+?)")},
                                 {"Resource", TemplateValue::String("(?P<resource>.+?)")}}));
    if (!pattern.ok()) {
      return core::InvalidArgument("unable to convert label template to matcher: " +
                                   pattern.error().message);
    }
    auto holder = std::make_unique<Re2Holder>("^" + *pattern + "$");
    if (!holder->re.ok()) {
      return core::InvalidArgument("unable to convert label template to matcher: " +
                                   holder->re.error());
    }
    const auto& names = holder->re.NamedCapturingGroups();
    if (auto it = names.find("group"); it != names.end()) holder->group_index = it->second;
    if (auto it = names.find("resource"); it != names.end()) holder->resource_index = it->second;
    if (holder->resource_index < 0) {
      return core::InvalidArgument("must include at least <<.Resource>> in the label template");
    }
    c->template_ = std::move(t);
    c->extractor_ = std::move(holder);
  }
  for (const auto& [label, gr] : mapping.overrides) {
    auto info = mapper.Normalize(gr);
    if (!info.ok()) {
      return core::InvalidArgument("unable to normalize group-resource " + gr.String() +
                                   " of override \"" + label + "\": " + info.error().message);
    }
    c->label_to_resource_[label] = info->group_resource;
    c->resource_to_label_[info->group_resource] = label;
  }
  return c;
}

std::optional<GroupResource> ResourceConverter::Lookup(std::string_view label) {
  {
    std::lock_guard lock(mu_);
    auto it = label_to_resource_.find(label);
    if (it != label_to_resource_.end()) return it->second;
  }
  std::optional<GroupResource> found;
  if (extractor_) {
    const int n = extractor_->re.NumberOfCapturingGroups() + 1;
    std::vector<re2::StringPiece> sub(static_cast<std::size_t>(n));
    if (extractor_->re.Match(label, 0, label.size(), re2::RE2::UNANCHORED, sub.data(), n)) {
      GroupResource partial;
      partial.resource = std::string(sub[extractor_->resource_index]);
      if (extractor_->group_index >= 0) partial.group = std::string(sub[extractor_->group_index]);
      auto info = mapper_.Normalize(partial);
      if (info.ok()) found = info->group_resource;
    }
  }
  // Unlike prometheus-adapter, labels that map to nothing are cached too: relists do not
  // repeat the regex and mapper work for every series.
  std::lock_guard lock(mu_);
  label_to_resource_.emplace(std::string(label), found);
  return found;
}

void ResourceConverter::ResourcesForLabels(const std::vector<std::string_view>& labels,
                                           std::vector<GroupResource>* resources,
                                           bool* namespaced) {
  *namespaced = false;
  for (std::string_view label : labels) {
    std::optional<GroupResource> gr = Lookup(label);
    if (gr) resources->push_back(*gr);
    if (!gr || !IsRootScopedSpecial(*gr)) *namespaced = true;
  }
}

core::Result<std::string> ResourceConverter::LabelForResource(const GroupResource& resource) {
  {
    std::lock_guard lock(mu_);
    auto it = resource_to_label_.find(resource);
    if (it != resource_to_label_.end()) return it->second;
  }
  if (!template_) {
    return core::InvalidArgument(
        "unable to convert resource " + resource.String() +
        " into label: no generic resource label form specified for this metric");
  }
  auto info = mapper_.Normalize(resource);
  std::string singular = info.ok() ? info->singular : resource.resource;
  std::string group = resource.group;
  for (char& ch : group) {
    if (ch == '.' || ch == '-') ch = '_';
  }
  GPUSCALE_ASSIGN_OR_RETURN(
      std::string label,
      template_->Execute(TemplateValue::Struct("schema.GroupResource",
                                               {{"Group", TemplateValue::String(group)},
                                                {"Resource", TemplateValue::String(singular)}})));
  if (label.empty()) {
    return core::InvalidArgument("unable to convert resource " + resource.String() +
                                 " into label: empty label produced by label template");
  }
  std::lock_guard lock(mu_);
  resource_to_label_[resource] = label;
  label_to_resource_[label] = resource;
  return label;
}

}  // namespace gpuscale::adapter
