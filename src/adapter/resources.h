// Association of series labels with Kubernetes resources (a rule's `resources`), and the
// resource table it normalises against (the part of a RESTMapper the adapter needs).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/config.h"
#include "adapter/template.h"
#include "core/result.h"

namespace gpuscale::adapter {

struct ResourceInfo {
  GroupResource group_resource;  // plural, fully qualified: {apps, deployments}
  std::string version;           // "v1"
  std::string kind;              // "Deployment"
  std::string singular;          // "deployment"
  bool namespaced = true;
};

// A table of known resources, searched like client-go's priority RESTMapper: a resource matches
// by plural or singular name (case-insensitive); without a group, earlier entries (the core
// group first) win. Immutable; thread-safe.
class ResourceMapper {
 public:
  explicit ResourceMapper(std::vector<ResourceInfo> resources);
  // The built-in Kubernetes resources (core, apps, batch, autoscaling, networking, policy, ...).
  static const ResourceMapper& BuiltIn();

  // NotFound "no matches for /, Resource=foo" when nothing matches.
  core::Result<ResourceInfo> Normalize(const GroupResource& partial) const;
  const std::vector<ResourceInfo>& resources() const { return resources_; }

 private:
  std::vector<ResourceInfo> resources_;
};

// The special resources that are never namespaced in the registry.
bool IsRootScopedSpecial(const GroupResource& gr);

// One rule's resource association: overrides first, then the template as a regex over label
// names. Results (including labels that map to nothing) are cached. Thread-safe.
class ResourceConverter {
 public:
  // `mapper` must outlive the converter. Errors: an override naming an unknown resource,
  // a template that does not parse or lacks <<.Resource>>.
  static core::Result<std::unique_ptr<ResourceConverter>> Create(const ResourceMapping& mapping,
                                                                 const ResourceMapper& mapper);
  ~ResourceConverter();

  // Appends the resources the labels map to; sets *namespaced as prometheus-adapter does (true
  // when any label is not namespaces/nodes/persistentvolumes).
  void ResourcesForLabels(const std::vector<std::string_view>& labels,
                          std::vector<GroupResource>* resources, bool* namespaced);
  // The label that holds `resource`'s names: the override's, else the template's.
  core::Result<std::string> LabelForResource(const GroupResource& resource);

 private:
  explicit ResourceConverter(const ResourceMapper& mapper);
  std::optional<GroupResource> Lookup(std::string_view label);

  const ResourceMapper& mapper_;
  std::optional<Template> template_;
  std::unique_ptr<class Re2Holder> extractor_;
  std::mutex mu_;
  std::map<std::string, std::optional<GroupResource>, std::less<>> label_to_resource_;
  std::map<GroupResource, std::string> resource_to_label_;
};

}  // namespace gpuscale::adapter
