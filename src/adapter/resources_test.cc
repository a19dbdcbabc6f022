#include "adapter/resources.h"

#include <gtest/gtest.h>

namespace gpuscale::adapter {
namespace {

std::unique_ptr<ResourceConverter> Make(ResourceMapping m) {
  auto c = ResourceConverter::Create(m, ResourceMapper::BuiltIn());
  EXPECT_TRUE(c.ok()) << c.error().message;
  return c.ok() ? std::move(*c) : nullptr;
}

TEST(AdapterResources, MapperNormalizes) {
  const auto& m = ResourceMapper::BuiltIn();
  EXPECT_EQ(m.Normalize({"", "pod"})->group_resource.String(), "pods");
  EXPECT_EQ(m.Normalize({"", "Pods"})->group_resource.String(), "pods");
  EXPECT_EQ(m.Normalize({"", "deployment"})->group_resource.String(), "deployments.apps");
  EXPECT_EQ(m.Normalize({"", "job"})->group_resource.String(), "jobs.batch");
  // The core group wins over events.k8s.io.
  EXPECT_EQ(m.Normalize({"", "event"})->group_resource.String(), "events");
  EXPECT_EQ(m.Normalize({"events.k8s.io", "event"})->group_resource.String(),
            "events.events.k8s.io");
  EXPECT_EQ(m.Normalize({"", "container"}).error().message, "no matches for /, Resource=container");
}

TEST(AdapterResources, Overrides) {
  ResourceMapping m;
  m.overrides = {{"namespace", {"", "namespace"}}, {"pod", {"", "pod"}}};
  auto c = Make(m);
  std::vector<GroupResource> res;
  bool ns = false;
  c->ResourcesForLabels({"container", "namespace", "pod"}, &res, &ns);
  ASSERT_EQ(res.size(), 2u);
  EXPECT_EQ(res[0].String(), "namespaces");
  EXPECT_EQ(res[1].String(), "pods");
  EXPECT_TRUE(ns);
  EXPECT_EQ(*c->LabelForResource({"", "pods"}), "pod");
  EXPECT_EQ(*c->LabelForResource({"", "namespaces"}), "namespace");
  EXPECT_EQ(c->LabelForResource({"apps", "deployments"}).error().message,
            "unable to convert resource deployments.apps into label: no generic resource label "
            "form specified for this metric");
}

TEST(AdapterResources, OverrideOfUnknownResourceFails) {
  ResourceMapping m;
  m.overrides = {{"thing", {"", "gizmo"}}};
  auto c = ResourceConverter::Create(m, ResourceMapper::BuiltIn());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "unable to normalize group-resource gizmo of override \"thing\": no matches for /, "
            "Resource=gizmo");
}

TEST(AdapterResources, TemplateMatchesAnyLabelThatNamesAResource) {
  ResourceMapping m;
  m.template_text = "<<.Resource>>";
  auto c = Make(m);
  std::vector<GroupResource> res;
  bool ns = false;
  c->ResourcesForLabels({"__name__", "instance", "job", "namespace", "node", "pod", "service"},
                        &res, &ns);
  std::vector<std::string> got;
  for (const auto& r : res) got.push_back(r.String());
  EXPECT_EQ(got,
            (std::vector<std::string>{"jobs.batch", "namespaces", "nodes", "pods", "services"}));
  EXPECT_TRUE(ns);
  EXPECT_EQ(*c->LabelForResource({"apps", "deployments"}), "deployment");
  // Only namespaces/nodes/persistentvolumes: not namespaced.
  std::vector<GroupResource> res2;
  c->ResourcesForLabels({"node"}, &res2, &ns);
  EXPECT_FALSE(ns);
}

TEST(AdapterResources, PrefixedTemplateWithGroup) {
  ResourceMapping m;
  m.template_text = "kube_<<.Group>>_<<.Resource>>";
  auto c = Make(m);
  std::vector<GroupResource> res;
  bool ns = false;
  c->ResourcesForLabels({"kube_apps_deployment", "kube__pod", "kube_x_y"}, &res, &ns);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].String(), "deployments.apps");
  EXPECT_EQ(*c->LabelForResource({"networking.k8s.io", "ingresses"}),
            "kube_networking_k8s_io_ingress");
}

}  // namespace
}  // namespace gpuscale::adapter
