// Every object the project ships for Kubernetes, as a user would apply it, accepted by a real
// kube-apiserver: the Helm chart rendered with each values file, the plain manifests' kustomize
// overlays and the examples, each object POSTed with dryRun=All and strict field validation
// after the Prometheus Operator's and cert-manager's CRDs are installed.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "test/support/controlplane.h"
#include "test/support/yaml_json.h"

namespace gpuscale::testing {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::seconds;

// The checkout (the test runs in test/e2e).
const fs::path kRoot = fs::path(GPUSCALE_SOURCE_DIR);

std::string Str(const json::value& v, std::initializer_list<std::string_view> path) {
  const json::value* cur = &v;
  for (std::string_view key : path) {
    const json::object* o = cur->if_object();
    if (!o) return {};
    auto it = o->find(key);
    if (it == o->end()) return {};
    cur = &it->value();
  }
  return cur->is_string() ? std::string(cur->as_string()) : std::string();
}

// json::parse for CRDs: cert-manager's schemas nest deeper than Boost.JSON's default limit (32).
json::value ParseDeep(std::string_view text) {
  json::parse_options options;
  options.max_depth = 256;
  return json::parse(text, {}, options);
}

// One document to submit, with where it came from.
struct Manifest {
  std::string source;  // "helm values-gke.yaml", a file path, ...
  json::value object;
};

// Runs `argv` with stdout to a file, stderr kept apart; returns stdout, or a message with the
// status and stderr.
class DeployDryRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto helm = PeerBinary("helm");
    ASSERT_TRUE(helm.ok()) << helm.error().ToString();
    helm_ = *helm;
    auto kustomize = PeerBinary("kustomize");
    ASSERT_TRUE(kustomize.ok()) << kustomize.error().ToString();
    kustomize_ = *kustomize;
    for (const char* peer : {"prometheus-operator-crds", "cert-manager-crds"}) {
      auto crds = PeerBinary(peer);
      ASSERT_TRUE(crds.ok()) << crds.error().ToString();
      crd_dirs_.push_back(*crds);
    }

    // --allow-privileged as GKE and kubeadm clusters set it (the apiserver's default refuses
    // privileged containers): values-gke-gpuscale.yaml runs a privileged exporter.
    auto started = ControlPlane::Start(
        {.start_controller_manager = false, .extra_apiserver_flags = {"--allow-privileged=true"}});
    ASSERT_TRUE(started.ok()) << started.error().ToString();
    cp_ = std::move(*started);
  }

  void TearDown() override {
    if (!cp_) return;
    cp_->Finish(HasFailure());
  }

  // Adds every document of `yaml` to `out`, tagged with `source`.
  void Parse(const std::string& yaml, const std::string& source, std::vector<Manifest>& out) {
    auto docs = YamlDocumentsToJson(yaml, source);
    ASSERT_TRUE(docs.ok()) << docs.error().ToString();
    for (const auto& doc : *docs) out.push_back({source, ParseDeep(doc)});
  }

  // Installs the CRDs of every folder in crd_dirs_ (a real create) and waits until they are
  // served.
  void InstallCrds() {
    std::vector<fs::path> files;
    for (const auto& dir : crd_dirs_) {
      std::size_t before = files.size();
      for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
      ASSERT_GT(files.size(), before) << "no CRD files in " << dir;
    }
    std::sort(files.begin(), files.end());
    std::vector<std::string> names;
    for (const auto& f : files) {
      std::vector<Manifest> crds;
      ASSERT_NO_FATAL_FAILURE(Parse(ReadFile(f.string()), f.string(), crds));
      for (const auto& crd : crds) {
        names.push_back(Str(crd.object, {"metadata", "name"}));
        auto created = cp_->Create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                   json::serialize(crd.object));
        ASSERT_TRUE(created.ok()) << f << ": " << created.ToString();
      }
    }
    for (const auto& name : names) {
      bool established = WaitFor(
          [&] {
            auto r = cp_->Get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/" + name);
            if (!r.ok() || r->status != 200) return false;
            json::value v = ParseDeep(r->body);
            const auto* conds = v.at("status").as_object().if_contains("conditions");
            if (!conds || !conds->is_array()) return false;
            for (const auto& c : conds->as_array()) {
              if (Str(c, {"type"}) == "Established" && Str(c, {"status"}) == "True") return true;
            }
            return false;
          },
          seconds(60), std::chrono::milliseconds(200));
      ASSERT_TRUE(established) << "CRD " << name << " never became Established";
    }
  }

  // The resource (plural) and scope of `kind` in `api_version`, from discovery.
  struct Resource {
    std::string plural;
    bool namespaced = false;
  };
  core::Result<Resource> Lookup(const std::string& api_version, const std::string& kind) {
    auto& list = discovery_[api_version];
    if (list.is_null()) {
      std::string path = api_version.find('/') == std::string::npos ? "/api/" + api_version
                                                                    : "/apis/" + api_version;
      // A CRD's group can take a moment to appear in discovery after it is Established.
      core::Result<ApiResponse> r = core::Internal("not asked");
      WaitFor(
          [&] {
            r = cp_->Get(path);
            return r.ok() && r->status == 200;
          },
          seconds(30), std::chrono::milliseconds(200));
      if (!r.ok()) return r.error();
      if (r->status != 200) {
        return core::NotFound("apiVersion " + api_version + " is not served (GET " + path + ": " +
                              std::to_string(r->status) + ")");
      }
      list = json::parse(r->body);
    }
    for (const auto& res : list.at("resources").as_array()) {
      std::string name = Str(res, {"name"});
      if (Str(res, {"kind"}) == kind && name.find('/') == std::string::npos) {
        return Resource{name, res.at("namespaced").as_bool()};
      }
    }
    return core::NotFound("kind " + kind + " is not served in " + api_version);
  }

  // Creates each namespace the manifests name that does not exist yet.
  void CreateNamespaces(const std::vector<Manifest>& manifests) {
    std::set<std::string> namespaces;
    for (const auto& m : manifests) {
      std::string ns = Str(m.object, {"metadata", "namespace"});
      if (!ns.empty()) namespaces.insert(ns);
      if (Str(m.object, {"kind"}) == "Namespace") {
        namespaces.insert(Str(m.object, {"metadata", "name"}));
      }
    }
    for (const auto& ns : namespaces) {
      auto r = cp_->Get("/api/v1/namespaces/" + ns);
      ASSERT_TRUE(r.ok()) << r.error().ToString();
      if (r->status == 200) continue;
      // A plain create: no pod is ever made, so the default ServiceAccount (which needs
      // kube-controller-manager) is not waited for.
      auto created = cp_->Create(
          "/api/v1/namespaces",
          R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + ns + R"("}})");
      ASSERT_TRUE(created.ok()) << "namespace " << ns << ": " << created.ToString();
    }
  }

  // POSTs every object with dryRun=All; each failure names the object and the server's answer.
  void DryRunAll(const std::vector<Manifest>& manifests) {
    for (const auto& m : manifests) {
      std::string api_version = Str(m.object, {"apiVersion"});
      std::string kind = Str(m.object, {"kind"});
      std::string name = Str(m.object, {"metadata", "name"});
      std::string ns = Str(m.object, {"metadata", "namespace"});
      std::string what = m.source + ": " + kind + " " + (ns.empty() ? "" : ns + "/") + name;
      auto resource = Lookup(api_version, kind);
      if (!resource.ok()) {
        ADD_FAILURE() << what << ": " << resource.error().ToString();
        continue;
      }
      std::string collection = api_version.find('/') == std::string::npos ? "/api/" + api_version
                                                                          : "/apis/" + api_version;
      if (resource->namespaced) {
        // Plain manifests are applied without -n: every namespaced object must name its own.
        if (ns.empty()) {
          ADD_FAILURE() << what << ": a namespaced object without metadata.namespace";
          continue;
        }
        collection += "/namespaces/" + ns;
      } else if (!ns.empty()) {
        ADD_FAILURE() << what << ": a cluster-scoped object with metadata.namespace";
        continue;
      }
      collection += "/" + resource->plural + "?dryRun=All&fieldValidation=Strict";
      auto r = cp_->Request("POST", collection, json::serialize(m.object));
      if (!r.ok()) {
        ADD_FAILURE() << what << ": " << r.error().ToString();
        continue;
      }
      std::string message;
      if (r->status != 200 && r->status != 201) {
        boost::system::error_code ec;
        json::value status = json::parse(r->body, ec);
        message = ec ? r->body : Str(status, {"message"});
      }
      EXPECT_TRUE(r->status == 200 || r->status == 201)
          << what << " rejected (HTTP " << r->status << "): " << message;
      ++submitted_;
      submitted_kinds_.insert(api_version + " " + kind);
    }
  }

  std::unique_ptr<ControlPlane> cp_;
  std::string helm_, kustomize_;
  std::vector<std::string> crd_dirs_;
  std::map<std::string, json::value> discovery_;
  int submitted_ = 0;
  std::set<std::string> submitted_kinds_;  // "apiVersion kind"
};

TEST_F(DeployDryRunTest, EveryShippedObjectIsAccepted) {
  ASSERT_NO_FATAL_FAILURE(InstallCrds());

  std::vector<Manifest> manifests;
  // The chart with its defaults, then with each environment's values file on top.
  const fs::path chart = kRoot / "deploy/helm/gpuscale";
  std::vector<fs::path> values;
  for (const auto& e : fs::directory_iterator(chart)) {
    std::string f = e.path().filename().string();
    if (f.starts_with("values-") && f.ends_with(".yaml")) values.push_back(e.path());
  }
  std::sort(values.begin(), values.end());
  ASSERT_FALSE(values.empty());
  std::vector<std::vector<std::string>> renders = {{}};
  for (const auto& v : values) renders.push_back({"-f", v.string()});
  // Options no values file sets: a PodMonitor instead of Service + ServiceMonitor, the exporter
  // without pod labelling (non-root), the user-made serving certificate, and cert-manager's
  // Issuer and Certificate (checked against cert-manager's own CRD schemas).
  for (const char* set : {"exporter.podMonitor.enabled=true", "exporter.podResources=false",
                          "adapter.tls.mode=secret", "adapter.tls.mode=certManager"}) {
    renders.push_back({"--set", set});
  }
  for (const auto& extra : renders) {
    std::vector<std::string> argv = {helm_,          "template",    "gpuscale",
                                     chart.string(), "--namespace", "monitoring"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::string source = "helm template ";
    if (extra.empty()) {
      source += "values.yaml";
    } else {
      source += extra[0] == "-f" ? fs::path(extra[1]).filename().string() : "--set " + extra[1];
    }
    auto rendered = RunForOutput(argv);
    ASSERT_TRUE(rendered.ok()) << source << ": " << rendered.error().ToString();
    ASSERT_NO_FATAL_FAILURE(Parse(*rendered, source, manifests));
  }
  // The plain manifests, as `kubectl apply -k` builds them.
  for (const char* overlay : {"generic", "gke", "gke-gpuscale"}) {
    fs::path dir = kRoot / "deploy/manifests/overlays" / overlay;
    auto built = RunForOutput({kustomize_, "build", dir.string()});
    ASSERT_TRUE(built.ok()) << dir << ": " << built.error().ToString();
    ASSERT_NO_FATAL_FAILURE(Parse(*built, "kustomize build " + dir.string(), manifests));
  }
  // The examples.
  for (const auto& e : fs::directory_iterator(kRoot / "deploy/example")) {
    if (e.path().extension() != ".yaml") continue;
    ASSERT_NO_FATAL_FAILURE(Parse(ReadFile(e.path().string()), e.path().string(), manifests));
  }

  ASSERT_NO_FATAL_FAILURE(CreateNamespaces(manifests));
  DryRunAll(manifests);
  std::fprintf(stderr, "dry-run submitted %d objects\n", submitted_);
  // Every render holds at least the adapter, so a silent empty render cannot pass.
  EXPECT_GT(submitted_, 20);
  // The certManager render reached the server (its kinds exist only with cert-manager's CRDs).
  EXPECT_TRUE(submitted_kinds_.contains("cert-manager.io/v1 Issuer"));
  EXPECT_TRUE(submitted_kinds_.contains("cert-manager.io/v1 Certificate"));
}

}  // namespace
}  // namespace gpuscale::testing
