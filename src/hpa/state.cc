#include "hpa/state.h"

#include <set>

#include "hpa/selector.h"
#include "hpa/spec.h"
#include "hpa/yaml_util.h"

namespace gpuscale::hpa {
namespace {

using internal::CheckKeys;
using internal::ErrorAt;
using internal::ExpectMap;
using internal::ExpectSeq;
using internal::Source;

constexpr int64_t kMaxInt32 = 2147483647;

std::string Idx(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

core::Result<std::map<std::string, int64_t>> QuantityMap(const Source& src, const YAML::Node& n,
                                                         const std::string& path) {
  std::map<std::string, int64_t> out;
  if (!n || n.IsNull()) return out;
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, n, path));
  for (const auto& kv : n) {
    GPUSCALE_ASSIGN_OR_RETURN(std::string k, internal::String(src, kv.first, path));
    GPUSCALE_ASSIGN_OR_RETURN(out[k], internal::Milli(src, kv.second, path + "." + k));
  }
  return out;
}

core::Result<std::optional<std::string>> OptString(const Source& src, const YAML::Node& n,
                                                   const std::string& path) {
  if (!n || n.IsNull()) return std::optional<std::string>();
  GPUSCALE_ASSIGN_OR_RETURN(std::string s, internal::String(src, n, path));
  return std::optional<std::string>(s);
}

struct PodParse {
  Pod pod;
  PodResourceUsage usage;  // containers' usage
  std::map<std::string, int64_t> metrics;
};

core::Status ParseContainers(const Source& src, const YAML::Node& n, const std::string& path,
                             bool init, core::Timestamp now, PodParse* out) {
  (void)now;
  if (!n || n.IsNull()) return core::Status::Ok();
  GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, n, path));
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string p = Idx(path, i);
    const YAML::Node c = n[i];
    GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, c, p));
    GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, c, p, {"name", "requests", "usage", "restartPolicy"}));
    Container ct;
    if (!c["name"]) return ErrorAt(src, c, p + ".name", "required field is missing");
    GPUSCALE_ASSIGN_OR_RETURN(ct.name, internal::String(src, c["name"], p + ".name"));
    GPUSCALE_ASSIGN_OR_RETURN(ct.requests_milli, QuantityMap(src, c["requests"], p + ".requests"));
    if (c["restartPolicy"]) {
      if (!init) {
        return ErrorAt(src, c["restartPolicy"], p + ".restartPolicy",
                       "only init containers take a restartPolicy");
      }
      GPUSCALE_ASSIGN_OR_RETURN(std::string rp,
                                internal::String(src, c["restartPolicy"], p + ".restartPolicy"));
      if (rp != "Always") {
        return ErrorAt(src, c["restartPolicy"], p + ".restartPolicy",
                       "expected Always, found '" + rp + "'");
      }
      ct.restartable_init = true;
    }
    GPUSCALE_ASSIGN_OR_RETURN(auto usage, QuantityMap(src, c["usage"], p + ".usage"));
    if (c["usage"]) out->usage.containers[ct.name] = std::move(usage);
    (init ? out->pod.init_containers : out->pod.containers).push_back(std::move(ct));
  }
  return core::Status::Ok();
}

core::Result<PodParse> ParsePod(const Source& src, const YAML::Node& n, const std::string& path,
                                core::Timestamp now) {
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, n, path));
  GPUSCALE_RETURN_IF_ERROR(
      CheckKeys(src, n, path,
                {"name", "labels", "phase", "ready", "readyTransitionTime", "startTime",
                 "deletionTimestamp", "containers", "initContainers", "requests", "metrics",
                 "usageTimestamp", "usageWindowSeconds"}));
  PodParse out;
  Pod& pod = out.pod;
  if (!n["name"]) return ErrorAt(src, n, path + ".name", "required field is missing");
  GPUSCALE_ASSIGN_OR_RETURN(pod.name, internal::String(src, n["name"], path + ".name"));
  if (n["labels"]) {
    GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, n["labels"], path + ".labels"));
    for (const auto& kv : n["labels"]) {
      GPUSCALE_ASSIGN_OR_RETURN(std::string k, internal::String(src, kv.first, path + ".labels"));
      GPUSCALE_ASSIGN_OR_RETURN(pod.labels[k],
                                internal::String(src, kv.second, path + ".labels." + k));
    }
  }
  if (n["phase"]) {
    GPUSCALE_ASSIGN_OR_RETURN(std::string ph, internal::String(src, n["phase"], path + ".phase"));
    if (ph == "Pending") {
      pod.phase = PodPhase::kPending;
    } else if (ph == "Running") {
      pod.phase = PodPhase::kRunning;
    } else if (ph == "Succeeded") {
      pod.phase = PodPhase::kSucceeded;
    } else if (ph == "Failed") {
      pod.phase = PodPhase::kFailed;
    } else if (ph == "Unknown") {
      pod.phase = PodPhase::kUnknown;
    } else {
      return ErrorAt(
          src, n["phase"], path + ".phase",
          "expected one of Pending, Running, Succeeded, Failed, Unknown, found '" + ph + "'");
    }
  }
  if (n["startTime"] && !n["startTime"].IsNull()) {
    GPUSCALE_ASSIGN_OR_RETURN(pod.start_time,
                              internal::Time(src, n["startTime"], path + ".startTime", now));
  }
  if (n["deletionTimestamp"] && !n["deletionTimestamp"].IsNull()) {
    GPUSCALE_ASSIGN_OR_RETURN(
        pod.deletion_timestamp,
        internal::Time(src, n["deletionTimestamp"], path + ".deletionTimestamp", now));
  }
  // Ready condition: omitted means Ready=True since the start time (or Pending: no condition).
  const YAML::Node ready = n["ready"];
  if (ready && ready.IsNull()) {
    pod.ready.reset();
  } else {
    PodReadyCondition cond;
    if (ready) {
      const std::string& r = ready.IsScalar() ? ready.Scalar() : "";
      if (r == "true" || r == "True") {
        cond.status = ConditionStatus::kTrue;
      } else if (r == "false" || r == "False") {
        cond.status = ConditionStatus::kFalse;
      } else if (r == "Unknown") {
        cond.status = ConditionStatus::kUnknown;
      } else {
        return ErrorAt(src, ready, path + ".ready",
                       "expected true, false, \"Unknown\" or null, found '" + r + "'");
      }
    } else if (pod.phase == PodPhase::kPending) {
      cond.status = ConditionStatus::kFalse;
    }
    cond.last_transition_time = pod.start_time.value_or(now);
    if (n["readyTransitionTime"]) {
      GPUSCALE_ASSIGN_OR_RETURN(
          cond.last_transition_time,
          internal::Time(src, n["readyTransitionTime"], path + ".readyTransitionTime", now));
    }
    pod.ready = cond;
  }
  GPUSCALE_RETURN_IF_ERROR(
      ParseContainers(src, n["containers"], path + ".containers", false, now, &out));
  GPUSCALE_RETURN_IF_ERROR(
      ParseContainers(src, n["initContainers"], path + ".initContainers", true, now, &out));
  GPUSCALE_ASSIGN_OR_RETURN(pod.pod_requests_milli,
                            QuantityMap(src, n["requests"], path + ".requests"));
  GPUSCALE_ASSIGN_OR_RETURN(out.metrics, QuantityMap(src, n["metrics"], path + ".metrics"));
  out.usage.timestamp = now;
  if (n["usageTimestamp"]) {
    GPUSCALE_ASSIGN_OR_RETURN(out.usage.timestamp, internal::Time(src, n["usageTimestamp"],
                                                                  path + ".usageTimestamp", now));
  }
  if (n["usageWindowSeconds"]) {
    GPUSCALE_ASSIGN_OR_RETURN(int64_t w, internal::Int(src, n["usageWindowSeconds"],
                                                       path + ".usageWindowSeconds", 1, 86400));
    out.usage.window = std::chrono::seconds(w);
  }
  return out;
}

core::Status ParseHistory(const Source& src, const YAML::Node& root, core::Timestamp now,
                          ControllerHistory* h) {
  if (root["recommendations"] && !root["recommendations"].IsNull()) {
    const YAML::Node rs = root["recommendations"];
    GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, rs, "recommendations"));
    std::vector<Recommendation> recs;
    for (size_t i = 0; i < rs.size(); ++i) {
      const std::string p = Idx("recommendations", i);
      GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, rs[i], p));
      GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, rs[i], p, {"replicas", "time"}));
      for (const char* req : {"replicas", "time"}) {
        if (!rs[i][req]) return ErrorAt(src, rs[i], p + "." + req, "required field is missing");
      }
      Recommendation r;
      GPUSCALE_ASSIGN_OR_RETURN(
          int64_t v, internal::Int(src, rs[i]["replicas"], p + ".replicas", 0, kMaxInt32));
      r.replicas = static_cast<int32_t>(v);
      GPUSCALE_ASSIGN_OR_RETURN(r.timestamp, internal::Time(src, rs[i]["time"], p + ".time", now));
      recs.push_back(r);
    }
    h->recommendations = std::move(recs);
  }
  for (auto [key, out] : {std::pair{"scaleUpEvents", &h->scale_up_events},
                          std::pair{"scaleDownEvents", &h->scale_down_events}}) {
    const YAML::Node es = root[key];
    if (!es || es.IsNull()) continue;
    GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, es, key));
    for (size_t i = 0; i < es.size(); ++i) {
      const std::string p = Idx(key, i);
      GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, es[i], p));
      GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, es[i], p, {"replicaChange", "time"}));
      for (const char* req : {"replicaChange", "time"}) {
        if (!es[i][req]) return ErrorAt(src, es[i], p + "." + req, "required field is missing");
      }
      ScaleEvent e;
      GPUSCALE_ASSIGN_OR_RETURN(int64_t v, internal::Int(src, es[i]["replicaChange"],
                                                         p + ".replicaChange", 0, kMaxInt32));
      e.replica_change = static_cast<int32_t>(v);
      GPUSCALE_ASSIGN_OR_RETURN(e.timestamp, internal::Time(src, es[i]["time"], p + ".time", now));
      out->push_back(e);
    }
  }
  return core::Status::Ok();
}

}  // namespace

core::Result<StateInput> ParseState(std::string_view text, const std::string& file,
                                    int line_offset) {
  const Source src{file, line_offset};
  GPUSCALE_ASSIGN_OR_RETURN(const YAML::Node root, internal::Load(src, text));
  GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, root, "(state)"));
  GPUSCALE_RETURN_IF_ERROR(
      CheckKeys(src, root, "",
                {"time", "replicas", "statusReplicas", "selector", "ambiguousWith", "getScaleError",
                 "updateScaleError", "pods", "resourceMetrics", "podMetrics", "objectMetrics",
                 "externalMetrics", "recommendations", "scaleUpEvents", "scaleDownEvents"}));
  StateInput in;
  State& s = in.state;
  if (!root["time"]) return ErrorAt(src, root, "time", "required field is missing");
  GPUSCALE_ASSIGN_OR_RETURN(s.time, internal::Time(src, root["time"], "time", core::Timestamp{}));
  const core::Timestamp now = s.time;
  if (!root["replicas"]) return ErrorAt(src, root, "replicas", "required field is missing");
  GPUSCALE_ASSIGN_OR_RETURN(int64_t replicas,
                            internal::Int(src, root["replicas"], "replicas", 0, kMaxInt32));
  s.spec_replicas = static_cast<int32_t>(replicas);
  s.status_replicas = s.spec_replicas;
  if (root["statusReplicas"]) {
    GPUSCALE_ASSIGN_OR_RETURN(
        int64_t sr, internal::Int(src, root["statusReplicas"], "statusReplicas", 0, kMaxInt32));
    s.status_replicas = static_cast<int32_t>(sr);
  }
  GPUSCALE_ASSIGN_OR_RETURN(s.selector, OptString(src, root["selector"], "selector"));
  GPUSCALE_ASSIGN_OR_RETURN(s.get_scale_error,
                            OptString(src, root["getScaleError"], "getScaleError"));
  GPUSCALE_ASSIGN_OR_RETURN(s.update_scale_error,
                            OptString(src, root["updateScaleError"], "updateScaleError"));
  if (root["ambiguousWith"]) {
    GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, root["ambiguousWith"], "ambiguousWith"));
    for (size_t i = 0; i < root["ambiguousWith"].size(); ++i) {
      GPUSCALE_ASSIGN_OR_RETURN(
          std::string a, internal::String(src, root["ambiguousWith"][i], Idx("ambiguousWith", i)));
      s.ambiguous_with.push_back(a);
    }
  }
  // A selector that parses filters the listed pods, as the pod lister does; one that does not is
  // left for the controller to report.
  std::optional<Selector> selector;
  if (s.selector && !s.selector->empty()) {
    auto parsed = Selector::Parse(*s.selector);
    if (parsed.ok()) selector = std::move(*parsed);
  }
  if (root["pods"] && !root["pods"].IsNull()) {
    const YAML::Node ps = root["pods"];
    GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, ps, "pods"));
    for (size_t i = 0; i < ps.size(); ++i) {
      GPUSCALE_ASSIGN_OR_RETURN(PodParse pp, ParsePod(src, ps[i], Idx("pods", i), now));
      if (selector && !selector->Matches(pp.pod.labels)) continue;
      std::set<std::string> resources;
      for (const auto& [c, usage] : pp.usage.containers) {
        for (const auto& [r, v] : usage) resources.insert(r);
      }
      for (const auto& r : resources) s.resource_metrics[r].pods[pp.pod.name] = pp.usage;
      for (const auto& [metric, v] : pp.metrics) {
        PodsMetricReading* reading = nullptr;
        for (auto& pm : s.pods_metrics) {
          if (pm.metric_name == metric) reading = &pm;
        }
        if (reading == nullptr) {
          s.pods_metrics.push_back(PodsMetricReading{metric, {}, {}, now});
          reading = &s.pods_metrics.back();
        }
        reading->values_milli[pp.pod.name] = v;
      }
      s.pods.push_back(std::move(pp.pod));
    }
  }
  if (root["resourceMetrics"]) {
    const YAML::Node rm = root["resourceMetrics"];
    GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, rm, "resourceMetrics"));
    for (const auto& kv : rm) {
      GPUSCALE_ASSIGN_OR_RETURN(std::string res,
                                internal::String(src, kv.first, "resourceMetrics"));
      const std::string p = "resourceMetrics." + res;
      GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, kv.second, p));
      GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, kv.second, p, {"error", "pods"}));
      ResourceMetricsReading& reading = s.resource_metrics[res];
      GPUSCALE_ASSIGN_OR_RETURN(reading.error, OptString(src, kv.second["error"], p + ".error"));
      if (kv.second["pods"]) {
        // Samples for pods the list does not hold: name -> container -> usage.
        const YAML::Node pods = kv.second["pods"];
        GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, pods, p + ".pods"));
        for (const auto& pod : pods) {
          GPUSCALE_ASSIGN_OR_RETURN(std::string name,
                                    internal::String(src, pod.first, p + ".pods"));
          PodResourceUsage usage;
          usage.timestamp = now;
          GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, pod.second, p + ".pods." + name));
          for (const auto& c : pod.second) {
            GPUSCALE_ASSIGN_OR_RETURN(std::string cname,
                                      internal::String(src, c.first, p + ".pods." + name));
            GPUSCALE_ASSIGN_OR_RETURN(
                usage.containers[cname][res],
                internal::Milli(src, c.second, p + ".pods." + name + "." + cname));
          }
          reading.pods[name] = std::move(usage);
        }
      }
    }
  }
  if (root["podMetrics"]) {
    const YAML::Node pm = root["podMetrics"];
    GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, pm, "podMetrics"));
    for (const auto& kv : pm) {
      GPUSCALE_ASSIGN_OR_RETURN(std::string metric, internal::String(src, kv.first, "podMetrics"));
      const std::string p = "podMetrics." + metric;
      GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, kv.second, p));
      GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, kv.second, p, {"error", "values"}));
      PodsMetricReading* reading = nullptr;
      for (auto& r : s.pods_metrics) {
        if (r.metric_name == metric) reading = &r;
      }
      if (reading == nullptr) {
        s.pods_metrics.push_back(PodsMetricReading{metric, {}, {}, now});
        reading = &s.pods_metrics.back();
      }
      GPUSCALE_ASSIGN_OR_RETURN(reading->error, OptString(src, kv.second["error"], p + ".error"));
      GPUSCALE_ASSIGN_OR_RETURN(auto values, QuantityMap(src, kv.second["values"], p + ".values"));
      for (auto& [pod, v] : values) reading->values_milli[pod] = v;
    }
  }
  if (root["objectMetrics"]) {
    const YAML::Node om = root["objectMetrics"];
    GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, om, "objectMetrics"));
    for (size_t i = 0; i < om.size(); ++i) {
      const std::string p = Idx("objectMetrics", i);
      const YAML::Node e = om[i];
      GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, e, p));
      GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, e, p, {"kind", "name", "metric", "value", "error"}));
      ObjectMetricReading r;
      r.timestamp = now;
      for (const char* req : {"kind", "name", "metric"}) {
        if (!e[req]) return ErrorAt(src, e, p + "." + req, "required field is missing");
      }
      GPUSCALE_ASSIGN_OR_RETURN(r.kind, internal::String(src, e["kind"], p + ".kind"));
      GPUSCALE_ASSIGN_OR_RETURN(r.name, internal::String(src, e["name"], p + ".name"));
      GPUSCALE_ASSIGN_OR_RETURN(r.metric_name, internal::String(src, e["metric"], p + ".metric"));
      GPUSCALE_ASSIGN_OR_RETURN(r.error, OptString(src, e["error"], p + ".error"));
      if (e["value"] && !e["value"].IsNull()) {
        GPUSCALE_ASSIGN_OR_RETURN(r.value_milli, internal::Milli(src, e["value"], p + ".value"));
      }
      s.object_metrics.push_back(std::move(r));
    }
  }
  if (root["externalMetrics"]) {
    const YAML::Node em = root["externalMetrics"];
    GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, em, "externalMetrics"));
    for (size_t i = 0; i < em.size(); ++i) {
      const std::string p = Idx("externalMetrics", i);
      const YAML::Node e = em[i];
      GPUSCALE_RETURN_IF_ERROR(ExpectMap(src, e, p));
      GPUSCALE_RETURN_IF_ERROR(CheckKeys(src, e, p, {"metric", "values", "error"}));
      ExternalMetricReading r;
      r.timestamp = now;
      if (!e["metric"]) return ErrorAt(src, e, p + ".metric", "required field is missing");
      GPUSCALE_ASSIGN_OR_RETURN(r.metric_name, internal::String(src, e["metric"], p + ".metric"));
      GPUSCALE_ASSIGN_OR_RETURN(r.error, OptString(src, e["error"], p + ".error"));
      if (e["values"]) {
        GPUSCALE_RETURN_IF_ERROR(ExpectSeq(src, e["values"], p + ".values"));
        for (size_t k = 0; k < e["values"].size(); ++k) {
          GPUSCALE_ASSIGN_OR_RETURN(int64_t v,
                                    internal::Milli(src, e["values"][k], Idx(p + ".values", k)));
          r.values_milli.push_back(v);
        }
      }
      s.external_metrics.push_back(std::move(r));
    }
  }
  GPUSCALE_RETURN_IF_ERROR(ParseHistory(src, root, now, &in.history));
  return in;
}

core::Result<StateInput> LoadStateFile(const std::string& path) {
  GPUSCALE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseState(text, path);
}

core::Result<std::vector<StateInput>> ParseStateLines(std::string_view text,
                                                      const std::string& file) {
  std::vector<StateInput> out;
  size_t pos = 0;
  int line = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    if (l.find_first_not_of(" \t\r") != std::string_view::npos) {
      GPUSCALE_ASSIGN_OR_RETURN(StateInput in, ParseState(l, file, line));
      if (!out.empty() && in.state.time < out.back().state.time) {
        return core::InvalidArgument(file + ":" + std::to_string(line + 1) +
                                     ": time: goes backwards from the previous state");
      }
      out.push_back(std::move(in));
    }
    pos = end + 1;
    ++line;
  }
  if (out.empty()) return core::InvalidArgument(file + ": no states (expected one JSON per line)");
  return out;
}

core::Result<std::vector<StateInput>> LoadStateLinesFile(const std::string& path) {
  GPUSCALE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseStateLines(text, path);
}

}  // namespace gpuscale::hpa
