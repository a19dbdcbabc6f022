#include "adapter/encode.h"

#include <cmath>
#include <ctime>
#include <limits>

#include "core/json_escape.h"

namespace gpuscale::adapter {

using core::AppendJsonString;

std::string FormatMilliQuantity(std::int64_t milli) {
  if (milli == 0) return "0";
  // Canonical DecimalSI: strip trailing decimal zeros, then pad the mantissa so the exponent is
  // a multiple of 3, then pick the suffix.
  std::int64_t mantissa = milli;
  int exponent = -3;
  while (mantissa % 10 == 0) {
    mantissa /= 10;
    ++exponent;
  }
  while (exponent % 3 != 0) {
    // Go's remainder of a negative number is negative: lower the exponent.
    mantissa *= 10;
    --exponent;
  }
  const char* suffix = "";
  switch (exponent) {
    case -9:
      suffix = "n";
      break;
    case -6:
      suffix = "u";
      break;
    case -3:
      suffix = "m";
      break;
    case 0:
      suffix = "";
      break;
    case 3:
      suffix = "k";
      break;
    case 6:
      suffix = "M";
      break;
    case 9:
      suffix = "G";
      break;
    case 12:
      suffix = "T";
      break;
    case 15:
      suffix = "P";
      break;
    default:
      suffix = "E";
      while (exponent > 18) {
        mantissa *= 1000;
        exponent -= 3;
      }
  }
  return std::to_string(mantissa) + suffix;
}

std::int64_t ToMilli(double value, bool nan_is_zero) {
  if (std::isnan(value)) return nan_is_zero ? 0 : std::numeric_limits<std::int64_t>::min();
  double m = value * 1000;
  if (!(m > -9.2233720368547758e18 && m < 9.2233720368547758e18)) {
    return std::numeric_limits<std::int64_t>::min();
  }
  return static_cast<std::int64_t>(m);  // truncation toward zero
}

std::string FormatKubeTime(core::Timestamp t) {
  std::time_t secs = static_cast<std::time_t>(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// metav1.LabelSelector from a selector, as ParseToLabelSelector builds it.
void AppendSelector(const std::vector<Requirement>& selector, std::string* out) {
  if (selector.empty()) {
    *out += "null";
    return;
  }
  std::string match_labels;
  std::string exprs;
  for (const auto& r : selector) {
    if ((r.op == Requirement::Op::kEquals || r.op == Requirement::Op::kDoubleEquals) &&
        r.values.size() == 1) {
      if (!match_labels.empty()) match_labels += ',';
      AppendJsonString(r.key, &match_labels);
      match_labels += ':';
      AppendJsonString(r.values[0], &match_labels);
      continue;
    }
    const char* op = "";
    switch (r.op) {
      case Requirement::Op::kIn:
      case Requirement::Op::kEquals:
      case Requirement::Op::kDoubleEquals:
        op = "In";
        break;
      case Requirement::Op::kNotIn:
      case Requirement::Op::kNotEquals:
        op = "NotIn";
        break;
      case Requirement::Op::kExists:
        op = "Exists";
        break;
      case Requirement::Op::kDoesNotExist:
        op = "DoesNotExist";
        break;
      default:
        op = r.op == Requirement::Op::kGt ? "Gt" : "Lt";
    }
    if (!exprs.empty()) exprs += ',';
    exprs += "{\"key\":";
    AppendJsonString(r.key, &exprs);
    exprs += ",\"operator\":\"";
    exprs += op;
    exprs += '"';
    if (!r.values.empty()) {
      exprs += ",\"values\":[";
      for (std::size_t i = 0; i < r.values.size(); ++i) {
        if (i) exprs += ',';
        AppendJsonString(r.values[i], &exprs);
      }
      exprs += ']';
    }
    exprs += '}';
  }
  *out += '{';
  if (!match_labels.empty()) *out += "\"matchLabels\":{" + match_labels + "}";
  if (!exprs.empty()) {
    if (!match_labels.empty()) *out += ',';
    *out += "\"matchExpressions\":[" + exprs + "]";
  }
  *out += '}';
}

void AppendDescribedObject(const MetricValue& v, std::string* out) {
  *out += "{\"kind\":";
  AppendJsonString(v.kind, out);
  if (!v.namespace_.empty()) {
    *out += ",\"namespace\":";
    AppendJsonString(v.namespace_, out);
  }
  *out += ",\"name\":";
  AppendJsonString(v.name, out);
  *out += ",\"apiVersion\":";
  AppendJsonString(v.api_version, out);
  *out += '}';
}

}  // namespace

std::string EncodeMetricValueList(std::string_view version, const std::vector<MetricValue>& items,
                                  const std::vector<Requirement>& selector) {
  const bool beta2 = version == "v1beta2";
  std::string sel;
  AppendSelector(selector, &sel);
  std::string out;
  out.reserve(128 + items.size() * 200);
  out += "{\"kind\":\"MetricValueList\",\"apiVersion\":\"custom.metrics.k8s.io/";
  out += version;
  out += "\",\"metadata\":{},\"items\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& v = items[i];
    if (i) out += ',';
    out += "{\"describedObject\":";
    AppendDescribedObject(v, &out);
    if (beta2) {
      out += ",\"metric\":{\"name\":";
      AppendJsonString(v.metric, &out);
      out += ",\"selector\":" + sel + "}";
    } else {
      out += ",\"metricName\":";
      AppendJsonString(v.metric, &out);
    }
    out += ",\"timestamp\":\"" + FormatKubeTime(v.timestamp) + "\"";
    out += ",\"value\":\"" + FormatMilliQuantity(v.milli) + "\"";
    if (!beta2) out += ",\"selector\":" + sel;
    out += '}';
  }
  out += "]}\n";
  return out;
}

std::string EncodeExternalValueList(const std::vector<ExternalValue>& items) {
  std::string out =
      "{\"kind\":\"ExternalMetricValueList\",\"apiVersion\":\"external.metrics.k8s.io/v1beta1\","
      "\"metadata\":{},\"items\":[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto& v = items[i];
    if (i) out += ',';
    out += "{\"metricName\":";
    AppendJsonString(v.metric, &out);
    out += ",\"metricLabels\":";
    if (!v.labels) {
      out += "null";
    } else {
      out += '{';
      bool first = true;
      for (const auto& [k, val] : *v.labels) {
        if (!first) out += ',';
        first = false;
        AppendJsonString(k, &out);
        out += ':';
        AppendJsonString(val, &out);
      }
      out += '}';
    }
    out += ",\"timestamp\":\"" + FormatKubeTime(v.timestamp) + "\"";
    out += ",\"value\":\"" + FormatMilliQuantity(v.milli) + "\"}";
  }
  out += "]}\n";
  return out;
}

std::string EncodeApiResourceList(std::string_view group_version, std::string_view kind,
                                  const std::vector<ApiResource>& resources) {
  std::string out = "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":";
  AppendJsonString(group_version, &out);
  out += ",\"resources\":[";
  for (std::size_t i = 0; i < resources.size(); ++i) {
    if (i) out += ',';
    out += "{\"name\":";
    AppendJsonString(resources[i].name, &out);
    out += ",\"singularName\":\"\",\"namespaced\":";
    out += resources[i].namespaced ? "true" : "false";
    out += ",\"kind\":";
    AppendJsonString(kind, &out);
    out += ",\"verbs\":[\"get\"]}";
  }
  out += "]}\n";
  return out;
}

namespace {
void AppendGroup(std::string_view group, const std::vector<std::string>& versions,
                 std::string* out) {
  *out += "\"name\":";
  AppendJsonString(group, out);
  *out += ",\"versions\":[";
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (i) *out += ',';
    *out += "{\"groupVersion\":";
    AppendJsonString(std::string(group) + "/" + versions[i], out);
    *out += ",\"version\":";
    AppendJsonString(versions[i], out);
    *out += '}';
  }
  *out += "],\"preferredVersion\":{\"groupVersion\":";
  AppendJsonString(std::string(group) + "/" + versions.front(), out);
  *out += ",\"version\":";
  AppendJsonString(versions.front(), out);
  *out += '}';
}
}  // namespace

std::string EncodeApiGroup(std::string_view group, const std::vector<std::string>& versions) {
  std::string out = "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",";
  AppendGroup(group, versions, &out);
  return out + "}\n";
}

std::string EncodeApiGroupList(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& groups) {
  std::string out = "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i) out += ',';
    out += '{';
    AppendGroup(groups[i].first, groups[i].second, &out);
    out += '}';
  }
  return out + "]}\n";
}

std::string EncodeStatus(int code, std::string_view reason, std::string_view message,
                         std::string_view details_json) {
  std::string out =
      "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
      "\"message\":";
  AppendJsonString(message, &out);
  if (!reason.empty()) {
    out += ",\"reason\":";
    AppendJsonString(reason, &out);
  }
  if (!details_json.empty()) {
    out += ",\"details\":";
    out += details_json;
  }
  out += ",\"code\":" + std::to_string(code) + "}\n";
  return out;
}

std::string EncodeStatus(const core::Error& error) {
  return EncodeStatus(core::HttpStatus(error.code), core::KubeReason(error.code), error.message);
}

}  // namespace gpuscale::adapter
