#include "hpa/spec.h"

#include <fstream>
#include <sstream>

#include "hpa/yaml_util.h"

namespace gpuscale::hpa {
namespace {

using internal::CheckKeys;
using internal::ErrorAt;
using internal::ExpectMap;
using internal::ExpectSeq;
using internal::Source;

constexpr int64_t kMaxInt32 = 2147483647;

core::Result<LabelSelector> ParseLabelSelector(const Source& src, const YAML::Node& n,
                                               const std::string& path) {
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, n, path));
  GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, n, path, {"matchLabels", "matchExpressions"}));
  LabelSelector sel;
  if (n["matchLabels"]) {
    const YAML::Node ml = n["matchLabels"];
    GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, ml, path + ".matchLabels"));
    for (const auto& kv : ml) {
      GPUSCALE_ASSIGN_OR_RETURN(std::string k,
                                internal::String(src, kv.first, path + ".matchLabels"));
      GPUSCALE_ASSIGN_OR_RETURN(std::string v,
                                internal::String(src, kv.second, path + ".matchLabels." + k));
      sel.match_labels[k] = v;
    }
  }
  if (n["matchExpressions"]) {
    const YAML::Node me = n["matchExpressions"];
    GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, me, path + ".matchExpressions"));
    for (size_t i = 0; i < me.size(); ++i) {
      const std::string p = path + ".matchExpressions[" + std::to_string(i) + "]";
      const YAML::Node e = me[i];
      GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, e, p));
      GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, e, p, {"key", "operator", "values"}));
      LabelSelectorRequirement r;
      GPUSCALE_ASSIGN_OR_RETURN(r.key, internal::String(src, e["key"], p + ".key"));
      GPUSCALE_ASSIGN_OR_RETURN(r.op, internal::String(src, e["operator"], p + ".operator"));
      if (r.op != "In" && r.op != "NotIn" && r.op != "Exists" && r.op != "DoesNotExist") {
        return ErrorAt(src, e["operator"], p + ".operator",
                       "expected one of In, NotIn, Exists, DoesNotExist, found '" + r.op + "'");
      }
      if (e["values"]) {
        GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, e["values"], p + ".values"));
        for (size_t k = 0; k < e["values"].size(); ++k) {
          GPUSCALE_ASSIGN_OR_RETURN(
              std::string v,
              internal::String(src, e["values"][k], p + ".values[" + std::to_string(k) + "]"));
          r.values.push_back(v);
        }
      }
      sel.match_expressions.push_back(std::move(r));
    }
  }
  return sel;
}

// metric: {name, selector}
core::Status ParseMetricIdentifier(const Source& src, const YAML::Node& n, const std::string& path,
                                   MetricSpec* m) {
  if (!n) return ErrorAt(src, n, path, "required field is missing");
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, n, path));
  GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, n, path, {"name", "selector"}));
  if (!n["name"]) return ErrorAt(src, n, path + ".name", "required field is missing");
  GPUSCALE_ASSIGN_OR_RETURN(m->metric_name, internal::String(src, n["name"], path + ".name"));
  const std::string& name = m->metric_name;
  if (name.empty() || name == "." || name == ".." ||
      name.find_first_of("/%") != std::string::npos) {
    return ErrorAt(
        src, n["name"], path + ".name",
        "must be a valid path segment name (no '/' or '%', not '.' or '..'), found '" + name + "'");
  }
  if (n["selector"] && !n["selector"].IsNull()) {
    GPUSCALE_ASSIGN_OR_RETURN(m->metric_selector,
                              ParseLabelSelector(src, n["selector"], path + ".selector"));
  }
  return core::Status::Ok();
}

// target: {type, value, averageValue, averageUtilization}; `allowed` lists the target types
// this source accepts.
core::Status ParseTarget(const Source& src, const YAML::Node& n, const std::string& path,
                         std::initializer_list<MetricTargetType> allowed, MetricSpec* m) {
  if (!n) return ErrorAt(src, n, path, "required field is missing");
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, n, path));
  GPUSCALE_RETURN_IF_ERROR(
      CheckKeys(src, n, path, {"type", "value", "averageValue", "averageUtilization"}));
  if (!n["type"]) return ErrorAt(src, n, path + ".type", "required field is missing");
  GPUSCALE_ASSIGN_OR_RETURN(std::string type, internal::String(src, n["type"], path + ".type"));
  MetricTarget& t = m->target;
  if (type == "Utilization") {
    t.type = MetricTargetType::kUtilization;
  } else if (type == "Value") {
    t.type = MetricTargetType::kValue;
  } else if (type == "AverageValue") {
    t.type = MetricTargetType::kAverageValue;
  } else {
    return ErrorAt(src, n["type"], path + ".type",
                   "expected one of Utilization, Value, AverageValue, found '" + type + "'");
  }
  bool ok = false;
  std::string names;
  for (auto a : allowed) {
    ok = ok || a == t.type;
    const char* nm = a == MetricTargetType::kUtilization ? "Utilization"
                     : a == MetricTargetType::kValue     ? "Value"
                                                         : "AverageValue";
    names += (names.empty() ? "" : ", ") + std::string(nm);
  }
  if (!ok) {
    return ErrorAt(src, n["type"], path + ".type",
                   "expected one of " + names + " for this metric source, found '" + type + "'");
  }
  if (n["averageUtilization"]) {
    GPUSCALE_ASSIGN_OR_RETURN(int64_t u, internal::Int(src, n["averageUtilization"],
                                                       path + ".averageUtilization", 1, kMaxInt32));
    t.average_utilization = static_cast<int32_t>(u);
  }
  auto positive = [&](const char* field, std::optional<int64_t>* out) -> core::Status {
    if (!n[field]) return core::Status::Ok();
    GPUSCALE_ASSIGN_OR_RETURN(int64_t v, internal::Milli(src, n[field], path + "." + field));
    if (v <= 0) return ErrorAt(src, n[field], path + "." + field, "must be positive");
    *out = v;
    return core::Status::Ok();
  };
  GPUSCALE_RETURN_IF_ERROR(positive("value", &t.value_milli));
  GPUSCALE_RETURN_IF_ERROR(positive("averageValue", &t.average_value_milli));
  switch (t.type) {
    case MetricTargetType::kUtilization:
      if (!t.average_utilization) {
        return ErrorAt(src, n, path + ".averageUtilization", "required when type is Utilization");
      }
      if (t.value_milli || t.average_value_milli) {
        return ErrorAt(src, n, path, "type Utilization takes only averageUtilization");
      }
      break;
    case MetricTargetType::kValue:
      if (!t.value_milli) return ErrorAt(src, n, path + ".value", "required when type is Value");
      break;
    case MetricTargetType::kAverageValue:
      if (!t.average_value_milli) {
        return ErrorAt(src, n, path + ".averageValue", "required when type is AverageValue");
      }
      if (t.average_utilization) {
        return ErrorAt(src, n, path,
                       "may not set both a target raw value and a target utilization");
      }
      break;
  }
  return core::Status::Ok();
}

core::Result<MetricSpec> ParseMetric(const Source& src, const YAML::Node& n,
                                     const std::string& path) {
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, n, path));
  GPUSCALE_RETURN_IF_ERROR(CheckKeys(
      src, n, path, {"type", "resource", "containerResource", "pods", "object", "external"}));
  if (!n["type"]) return ErrorAt(src, n, path + ".type", "required field is missing");
  MetricSpec m;
  GPUSCALE_ASSIGN_OR_RETURN(m.type_name, internal::String(src, n["type"], path + ".type"));
  const std::string& type = m.type_name;
  auto section = [&](const char* key) -> core::Result<YAML::Node> {
    const YAML::Node s = n[key];
    if (!s) {
      return ErrorAt(src, n, path + "." + key, "required when type is " + type);
    }
    GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, s, path + "." + key));
    return s;
  };
  using T = MetricTargetType;
  if (type == "Resource" || type == "ContainerResource") {
    const bool container = type == "ContainerResource";
    m.type = container ? MetricSourceType::kContainerResource : MetricSourceType::kResource;
    const char* key = container ? "containerResource" : "resource";
    const std::string p = path + "." + key;
    GPUSCALE_ASSIGN_OR_RETURN(YAML::Node s, section(key));
    if (container) {
      GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, s, p, {"name", "container", "target"}));
      if (!s["container"]) return ErrorAt(src, s, p + ".container", "required field is missing");
      GPUSCALE_ASSIGN_OR_RETURN(m.container,
                                internal::String(src, s["container"], p + ".container"));
    } else {
      GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, s, p, {"name", "target"}));
    }
    if (!s["name"]) return ErrorAt(src, s, p + ".name", "required field is missing");
    GPUSCALE_ASSIGN_OR_RETURN(m.resource, internal::String(src, s["name"], p + ".name"));
    GPUSCALE_RETURN_IF_ERROR(
        ParseTarget(src, s["target"], p + ".target", {T::kUtilization, T::kAverageValue}, &m));
  } else if (type == "Pods") {
    m.type = MetricSourceType::kPods;
    const std::string p = path + ".pods";
    GPUSCALE_ASSIGN_OR_RETURN(YAML::Node s, section("pods"));
    GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, s, p, {"metric", "target"}));
    GPUSCALE_RETURN_IF_ERROR(ParseMetricIdentifier(src, s["metric"], p + ".metric", &m));
    GPUSCALE_RETURN_IF_ERROR(ParseTarget(src, s["target"], p + ".target", {T::kAverageValue}, &m));
  } else if (type == "Object") {
    m.type = MetricSourceType::kObject;
    const std::string p = path + ".object";
    GPUSCALE_ASSIGN_OR_RETURN(YAML::Node s, section("object"));
    GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, s, p, {"describedObject", "metric", "target"}));
    const YAML::Node d = s["describedObject"];
    const std::string dp = p + ".describedObject";
    if (!d) return ErrorAt(src, s, dp, "required field is missing");
    GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, d, dp));
    GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, d, dp, {"apiVersion", "kind", "name"}));
    if (!d["kind"]) return ErrorAt(src, d, dp + ".kind", "required field is missing");
    if (!d["name"]) return ErrorAt(src, d, dp + ".name", "required field is missing");
    GPUSCALE_ASSIGN_OR_RETURN(m.described_object.kind,
                              internal::String(src, d["kind"], dp + ".kind"));
    GPUSCALE_ASSIGN_OR_RETURN(m.described_object.name,
                              internal::String(src, d["name"], dp + ".name"));
    if (d["apiVersion"]) {
      GPUSCALE_ASSIGN_OR_RETURN(m.described_object.api_version,
                                internal::String(src, d["apiVersion"], dp + ".apiVersion"));
    }
    GPUSCALE_RETURN_IF_ERROR(ParseMetricIdentifier(src, s["metric"], p + ".metric", &m));
    GPUSCALE_RETURN_IF_ERROR(
        ParseTarget(src, s["target"], p + ".target", {T::kValue, T::kAverageValue}, &m));
  } else if (type == "External") {
    m.type = MetricSourceType::kExternal;
    const std::string p = path + ".external";
    GPUSCALE_ASSIGN_OR_RETURN(YAML::Node s, section("external"));
    GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, s, p, {"metric", "target"}));
    GPUSCALE_RETURN_IF_ERROR(ParseMetricIdentifier(src, s["metric"], p + ".metric", &m));
    GPUSCALE_RETURN_IF_ERROR(
        ParseTarget(src, s["target"], p + ".target", {T::kValue, T::kAverageValue}, &m));
    if (m.target.value_milli && m.target.average_value_milli) {
      return ErrorAt(src, s["target"], p + ".target",
                     "may not set both a target value for metric and a per-pod target");
    }
  } else {
    return ErrorAt(src, n["type"], path + ".type",
                   "expected one of Resource, ContainerResource, Pods, Object, External, found '" +
                       type + "'");
  }
  return m;
}

// Copies each field the user set over the API defaults (copyHPAScalingRules).
core::Status ParseRules(const Source& src, const YAML::Node& n, const std::string& path,
                        ScalingRules* rules) {
  if (!n || n.IsNull()) return core::Status::Ok();
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, n, path));
  GPUSCALE_RETURN_IF_ERROR(CheckKeys(
      src, n, path, {"stabilizationWindowSeconds", "selectPolicy", "policies", "tolerance"}));
  if (n["stabilizationWindowSeconds"]) {
    GPUSCALE_ASSIGN_OR_RETURN(int64_t w,
                              internal::Int(src, n["stabilizationWindowSeconds"],
                                            path + ".stabilizationWindowSeconds", 0, 3600));
    rules->stabilization_window_seconds = static_cast<int32_t>(w);
  }
  if (n["selectPolicy"]) {
    GPUSCALE_ASSIGN_OR_RETURN(std::string p,
                              internal::String(src, n["selectPolicy"], path + ".selectPolicy"));
    if (p == "Max") {
      rules->select_policy = SelectPolicy::kMax;
    } else if (p == "Min") {
      rules->select_policy = SelectPolicy::kMin;
    } else if (p == "Disabled") {
      rules->select_policy = SelectPolicy::kDisabled;
    } else {
      return ErrorAt(src, n["selectPolicy"], path + ".selectPolicy",
                     "expected one of Max, Min, Disabled, found '" + p + "'");
    }
  }
  if (n["policies"]) {
    const YAML::Node ps = n["policies"];
    GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, ps, path + ".policies"));
    if (ps.size() == 0) {
      return ErrorAt(src, ps, path + ".policies", "must specify at least one Policy");
    }
    rules->policies.clear();
    for (size_t i = 0; i < ps.size(); ++i) {
      const std::string p = path + ".policies[" + std::to_string(i) + "]";
      const YAML::Node e = ps[i];
      GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, e, p));
      GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, e, p, {"type", "value", "periodSeconds"}));
      for (const char* req : {"type", "value", "periodSeconds"}) {
        if (!e[req]) return ErrorAt(src, e, p + "." + req, "required field is missing");
      }
      ScalingPolicy policy;
      GPUSCALE_ASSIGN_OR_RETURN(std::string type, internal::String(src, e["type"], p + ".type"));
      if (type == "Pods") {
        policy.type = ScalingPolicyType::kPods;
      } else if (type == "Percent") {
        policy.type = ScalingPolicyType::kPercent;
      } else {
        return ErrorAt(src, e["type"], p + ".type",
                       "expected one of Pods, Percent, found '" + type + "'");
      }
      GPUSCALE_ASSIGN_OR_RETURN(int64_t v,
                                internal::Int(src, e["value"], p + ".value", 1, kMaxInt32));
      GPUSCALE_ASSIGN_OR_RETURN(
          int64_t period, internal::Int(src, e["periodSeconds"], p + ".periodSeconds", 1, 1800));
      policy.value = static_cast<int32_t>(v);
      policy.period_seconds = static_cast<int32_t>(period);
      rules->policies.push_back(policy);
    }
  }
  if (n["tolerance"]) {
    GPUSCALE_ASSIGN_OR_RETURN(int64_t milli,
                              internal::Milli(src, n["tolerance"], path + ".tolerance"));
    if (milli < 0) {
      return ErrorAt(src, n["tolerance"], path + ".tolerance",
                     "must be greater than or equal to zero");
    }
    rules->tolerance = static_cast<double>(milli) / 1000.0;
  }
  return core::Status::Ok();
}

}  // namespace

core::Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::NotFound(path + ": cannot open file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

core::Result<HpaSpec> ParseHpaSpec(std::string_view text, const std::string& file) {
  const Source src{file, 0};
  GPUSCALE_ASSIGN_OR_RETURN(const YAML::Node root, internal::Load(src, text));
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, root, "(document)"));
  const YAML::Node api = root["apiVersion"];
  if (api) {
    GPUSCALE_ASSIGN_OR_RETURN(std::string v, internal::String(src, api, "apiVersion"));
    if (v != "autoscaling/v2" && v != "autoscaling/v2beta2") {
      return ErrorAt(src, api, "apiVersion",
                     "expected autoscaling/v2 or autoscaling/v2beta2, found '" + v + "'");
    }
  }
  if (root["kind"]) {
    GPUSCALE_ASSIGN_OR_RETURN(std::string k, internal::String(src, root["kind"], "kind"));
    if (k != "HorizontalPodAutoscaler") {
      return ErrorAt(src, root["kind"], "kind",
                     "expected HorizontalPodAutoscaler, found '" + k + "'");
    }
  }
  HpaSpec spec;
  if (root["metadata"]) {
    const YAML::Node md = root["metadata"];
    GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, md, "metadata"));
    if (md["name"]) {
      GPUSCALE_ASSIGN_OR_RETURN(spec.name, internal::String(src, md["name"], "metadata.name"));
    }
    if (md["namespace"]) {
      GPUSCALE_ASSIGN_OR_RETURN(spec.namespace_name,
                                internal::String(src, md["namespace"], "metadata.namespace"));
    }
  }
  const YAML::Node s = root["spec"];
  if (!s) return ErrorAt(src, root, "spec", "required field is missing");
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, s, "spec"));
  GPUSCALE_RETURN_IF_ERROR(CheckKeys(
      src, s, "spec", {"scaleTargetRef", "minReplicas", "maxReplicas", "metrics", "behavior"}));
  const YAML::Node ref = s["scaleTargetRef"];
  if (!ref) return ErrorAt(src, s, "spec.scaleTargetRef", "required field is missing");
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, ref, "spec.scaleTargetRef"));
  GPUSCALE_RETURN_IF_ERROR(
      CheckKeys(src, ref, "spec.scaleTargetRef", {"apiVersion", "kind", "name"}));
  for (const char* req : {"kind", "name"}) {
    if (!ref[req]) {
      return ErrorAt(src, ref, std::string("spec.scaleTargetRef.") + req,
                     "required field is missing");
    }
  }
  GPUSCALE_ASSIGN_OR_RETURN(spec.scale_target_ref.kind,
                            internal::String(src, ref["kind"], "spec.scaleTargetRef.kind"));
  GPUSCALE_ASSIGN_OR_RETURN(spec.scale_target_ref.name,
                            internal::String(src, ref["name"], "spec.scaleTargetRef.name"));
  if (ref["apiVersion"]) {
    GPUSCALE_ASSIGN_OR_RETURN(
        spec.scale_target_ref.api_version,
        internal::String(src, ref["apiVersion"], "spec.scaleTargetRef.apiVersion"));
  }
  if (!s["maxReplicas"]) return ErrorAt(src, s, "spec.maxReplicas", "required field is missing");
  GPUSCALE_ASSIGN_OR_RETURN(int64_t max_r,
                            internal::Int(src, s["maxReplicas"], "spec.maxReplicas", 1, kMaxInt32));
  spec.max_replicas = static_cast<int32_t>(max_r);
  if (s["minReplicas"] && !s["minReplicas"].IsNull()) {
    GPUSCALE_ASSIGN_OR_RETURN(
        int64_t min_r, internal::Int(src, s["minReplicas"], "spec.minReplicas", 0, kMaxInt32));
    spec.min_replicas = static_cast<int32_t>(min_r);
    if (min_r > max_r) {
      return ErrorAt(src, s["minReplicas"], "spec.minReplicas",
                     "must be less than or equal to maxReplicas (" + std::to_string(max_r) + ")");
    }
  }
  if (s["metrics"] && !s["metrics"].IsNull()) {
    const YAML::Node ms = s["metrics"];
    GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, ms, "spec.metrics"));
    for (size_t i = 0; i < ms.size(); ++i) {
      GPUSCALE_ASSIGN_OR_RETURN(MetricSpec m,
                                ParseMetric(src, ms[i], "spec.metrics[" + std::to_string(i) + "]"));
      spec.metrics.push_back(std::move(m));
    }
  }
  if (spec.metrics.empty()) {
    MetricSpec cpu;  // SetDefaults_HorizontalPodAutoscaler: cpu at 80% utilization
    cpu.type = MetricSourceType::kResource;
    cpu.type_name = "Resource";
    cpu.resource = "cpu";
    cpu.target.type = MetricTargetType::kUtilization;
    cpu.target.average_utilization = 80;
    spec.metrics.push_back(cpu);
  }
  if (spec.min_replicas == 0) {
    bool object_or_external = false;
    for (const auto& m : spec.metrics) {
      object_or_external = object_or_external || m.type == MetricSourceType::kObject ||
                           m.type == MetricSourceType::kExternal;
    }
    if (!object_or_external) {
      return ErrorAt(src, s["minReplicas"], "spec.minReplicas",
                     "must specify at least one Object or External metric to support scaling to "
                     "zero replicas");
    }
  }
  if (s["behavior"] && !s["behavior"].IsNull()) {
    const YAML::Node b = s["behavior"];
    GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, b, "spec.behavior"));
    GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, b, "spec.behavior", {"scaleUp", "scaleDown"}));
    Behavior behavior{DefaultScaleUpRules(), DefaultScaleDownRules()};
    GPUSCALE_RETURN_IF_ERROR(
        ParseRules(src, b["scaleUp"], "spec.behavior.scaleUp", &behavior.scale_up));
    GPUSCALE_RETURN_IF_ERROR(
        ParseRules(src, b["scaleDown"], "spec.behavior.scaleDown", &behavior.scale_down));
    spec.behavior = std::move(behavior);
  }
  return spec;
}

core::Result<HpaSpec> LoadHpaSpecFile(const std::string& path) {
  GPUSCALE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseHpaSpec(text, path);
}

}  // namespace gpuscale::hpa
