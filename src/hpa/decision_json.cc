#include "hpa/decision_json.h"

#include "core/json_escape.h"
#include "hpa/quantity.h"
#include "hpa/yaml_util.h"

namespace gpuscale::hpa {
namespace {

class Writer {
 public:
  explicit Writer(std::string* out) : out_(out) {}
  void Key(std::string_view k) {
    Sep();
    core::AppendJsonString(k, out_);
    out_->push_back(':');
    pending_value_ = true;
  }
  void Str(std::string_view v) {
    Sep();
    core::AppendJsonString(v, out_);
  }
  void Int(int64_t v) {
    Sep();
    *out_ += std::to_string(v);
  }
  void Bool(bool v) {
    Sep();
    *out_ += v ? "true" : "false";
  }
  void Null() {
    Sep();
    *out_ += "null";
  }
  void Open(char c) {
    Sep();
    out_->push_back(c);
    first_ = true;
  }
  void Close(char c) {
    out_->push_back(c);
    first_ = false;
  }

 private:
  void Sep() {
    if (pending_value_) {
      pending_value_ = false;
      first_ = false;
      return;
    }
    if (!first_) out_->push_back(',');
    first_ = false;
  }
  std::string* out_;
  bool first_ = true;
  bool pending_value_ = false;
};

std::string Quantity(const MetricSpec* spec, int64_t milli) {
  if (spec != nullptr && spec->resource == "memory") return FormatMilliQuantityBinary(milli);
  return FormatMilliQuantity(milli);
}

void WriteCondition(Writer& w, const Condition& c) {
  w.Open('{');
  w.Key("type");
  w.Str(c.type);
  w.Key("status");
  w.Str(ConditionStatusName(c.status));
  w.Key("reason");
  w.Str(c.reason);
  w.Key("message");
  w.Str(c.message);
  w.Key("lastTransitionTime");
  w.Str(internal::FormatRfc3339(c.last_transition_time));
  w.Close('}');
}

void WriteTarget(Writer& w, const MetricSpec& m) {
  w.Open('{');
  w.Key("type");
  switch (m.target.type) {
    case MetricTargetType::kUtilization:
      w.Str("Utilization");
      break;
    case MetricTargetType::kValue:
      w.Str("Value");
      break;
    case MetricTargetType::kAverageValue:
      w.Str("AverageValue");
      break;
  }
  if (m.target.average_utilization) {
    w.Key("averageUtilization");
    w.Int(*m.target.average_utilization);
  }
  if (m.target.value_milli) {
    w.Key("value");
    w.Str(Quantity(&m, *m.target.value_milli));
  }
  if (m.target.average_value_milli) {
    w.Key("averageValue");
    w.Str(Quantity(&m, *m.target.average_value_milli));
  }
  w.Close('}');
}

}  // namespace

std::string EncodeDecision(const HpaSpec& spec, const Decision& d) {
  std::string out;
  out.reserve(1024);
  Writer w(&out);
  w.Open('{');
  w.Key("time");
  w.Str(internal::FormatRfc3339(d.time));
  w.Key("hpa");
  w.Str(spec.namespace_name + "/" + spec.name);
  w.Key("currentReplicas");
  w.Int(d.current_replicas);
  w.Key("desiredReplicas");
  w.Int(d.desired_replicas);
  w.Key("rescale");
  w.Bool(d.rescale);
  w.Key("reason");
  if (d.rescale_reason.empty()) {
    w.Null();
  } else {
    w.Str(d.rescale_reason);
  }
  w.Key("metricReplicas");
  d.metric_replicas ? w.Int(*d.metric_replicas) : w.Null();
  w.Key("stabilizedReplicas");
  d.stabilized_replicas ? w.Int(*d.stabilized_replicas) : w.Null();
  // The condition that explains why desired differs from what the metrics asked for.
  const Condition* limiting = nullptr;
  for (const auto& c : d.conditions) {
    if (c.type == "ScalingLimited" && c.status == ConditionStatus::kTrue) limiting = &c;
  }
  if (limiting == nullptr) {
    for (const auto& c : d.conditions) {
      if (c.type == "AbleToScale" &&
          (c.reason == "ScaleUpStabilized" || c.reason == "ScaleDownStabilized")) {
        limiting = &c;
      }
    }
  }
  if (limiting == nullptr) {
    for (const auto& c : d.conditions) {
      if (c.status == ConditionStatus::kFalse && c.type != "ScalingLimited") limiting = &c;
    }
  }
  w.Key("limitedBy");
  if (limiting != nullptr) {
    WriteCondition(w, *limiting);
  } else {
    w.Null();
  }
  w.Key("metrics");
  w.Open('[');
  for (size_t i = 0; i < d.metrics.size(); ++i) {
    const MetricProposal& p = d.metrics[i];
    const MetricSpec* m = i < spec.metrics.size() ? &spec.metrics[i] : nullptr;
    w.Open('{');
    w.Key("type");
    w.Str(m != nullptr && m->type == MetricSourceType::kUnknown ? m->type_name
                                                                : MetricSourceTypeName(p.type));
    w.Key("name");
    w.Str(p.name);
    w.Key("valid");
    w.Bool(p.valid);
    if (p.valid) {
      w.Key("replicas");
      w.Int(p.replicas);
      w.Key("current");
      w.Open('{');
      if (p.current_average_utilization) {
        w.Key("averageUtilization");
        w.Int(*p.current_average_utilization);
      }
      if (p.current_average_value_milli) {
        w.Key("averageValue");
        w.Str(Quantity(m, *p.current_average_value_milli));
      }
      if (p.current_value_milli) {
        w.Key("value");
        w.Str(Quantity(m, *p.current_value_milli));
      }
      w.Close('}');
    } else {
      w.Key("reason");
      w.Str(p.condition_reason);
      w.Key("error");
      w.Str(p.error);
    }
    if (m != nullptr && m->type != MetricSourceType::kUnknown) {
      w.Key("target");
      WriteTarget(w, *m);
    }
    w.Close('}');
  }
  w.Close(']');
  w.Key("conditions");
  w.Open('[');
  for (const auto& c : d.conditions) WriteCondition(w, c);
  w.Close(']');
  w.Key("events");
  w.Open('[');
  for (const auto& e : d.events) {
    w.Open('{');
    w.Key("type");
    w.Str(e.type);
    w.Key("reason");
    w.Str(e.reason);
    w.Key("message");
    w.Str(e.message);
    w.Close('}');
  }
  w.Close(']');
  w.Key("lastScaleTime");
  d.last_scale_time ? w.Str(internal::FormatRfc3339(*d.last_scale_time)) : w.Null();
  w.Key("error");
  d.error ? w.Str(*d.error) : w.Null();
  w.Close('}');
  return out;
}

}  // namespace gpuscale::hpa
