// Decoders of Prometheus API answers. Boost.JSON is confined to this file; errors name the JSON
// field path so a malformed answer can be found in a capture.
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "prom/api.h"
#include "prom/internal/go_float.h"

namespace gpuscale::prom {
namespace {

namespace json = boost::json;

std::string KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

core::Error Malformed(const std::string& path, std::string_view message) {
  return core::DataLoss(path + ": " + std::string(message));
}
core::Error WrongKind(const std::string& path, std::string_view expected, const json::value& v) {
  return Malformed(path, "expected " + std::string(expected) + ", found " + KindName(v));
}

core::Result<json::value> ParseJson(std::string_view text) {
  json::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return core::DataLoss("malformed JSON: " + ec.message());
  if (!v.is_object()) return WrongKind("response", "an object", v);
  return v;
}

core::Code CodeForErrorType(std::string_view type) {
  if (type == "bad_data" || type == "execution") return core::Code::kInvalidArgument;
  if (type == "timeout") return core::Code::kDeadlineExceeded;
  if (type == "canceled") return core::Code::kCancelled;
  if (type == "unavailable") return core::Code::kUnavailable;
  if (type == "not_found") return core::Code::kNotFound;
  return core::Code::kInternal;
}

core::Result<std::string> GetString(const json::value& v, const std::string& path) {
  if (!v.is_string()) return WrongKind(path, "a string", v);
  return std::string(v.get_string());
}

// Checks "status"; returns the "data" member of a success answer, or the API error.
core::Result<const json::value*> Envelope(const json::value& root,
                                          std::vector<std::string>* warnings) {
  const json::object& obj = root.get_object();
  const json::value* status = obj.if_contains("status");
  if (status == nullptr) return Malformed("status", "missing");
  GPUSCALE_ASSIGN_OR_RETURN(std::string s, GetString(*status, "status"));
  if (s == "error") {
    std::string type = "unknown", message;
    if (const json::value* t = obj.if_contains("errorType"); t && t->is_string()) {
      type = std::string(t->get_string());
    }
    if (const json::value* e = obj.if_contains("error"); e && e->is_string()) {
      message = std::string(e->get_string());
    }
    return core::MakeError(CodeForErrorType(type), type + ": " + message);
  }
  if (s != "success")
    return Malformed("status", "expected \"success\" or \"error\", found \"" + s + "\"");
  if (const json::value* w = obj.if_contains("warnings"); w && !w->is_null()) {
    if (!w->is_array()) return WrongKind("warnings", "an array", *w);
    for (std::size_t i = 0; i < w->get_array().size(); ++i) {
      GPUSCALE_ASSIGN_OR_RETURN(
          std::string text, GetString(w->get_array()[i], "warnings[" + std::to_string(i) + "]"));
      warnings->push_back(std::move(text));
    }
  }
  const json::value* data = obj.if_contains("data");
  if (data == nullptr) return Malformed("data", "missing");
  return data;
}

core::Result<Labels> DecodeLabelSet(const json::value& v, const std::string& path) {
  if (!v.is_object()) return WrongKind(path, "an object of label names to values", v);
  Labels labels;
  labels.reserve(v.get_object().size());
  for (const auto& [name, value] : v.get_object()) {
    std::string field = path + "." + std::string(name);
    if (!value.is_string()) return WrongKind(field, "a string", value);
    labels.push_back({std::string(name), std::string(value.get_string())});
  }
  return labels;
}

core::Result<double> DecodeNumber(const json::value& v, const std::string& path) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return WrongKind(path, "a number", v);
}

// A [timestamp, "value"] pair. The value is a string so NaN and ±Inf survive JSON.
core::Result<std::pair<double, double>> DecodePoint(const json::value& v, const std::string& path) {
  constexpr std::string_view kShape = "expected [timestamp, \"value\"]";
  if (!v.is_array() || v.get_array().size() != 2) {
    return Malformed(path, std::string(kShape) + ", found " +
                               (v.is_array() ? "an array of " + std::to_string(v.get_array().size())
                                             : KindName(v)));
  }
  const json::array& a = v.get_array();
  GPUSCALE_ASSIGN_OR_RETURN(double ts, DecodeNumber(a[0], path + "[0]"));
  if (!a[1].is_string()) return WrongKind(path + "[1]", "a string holding a number", a[1]);
  double value = 0;
  std::string_view text = a[1].get_string();
  if (internal::ParseGoFloat(text, &value) != internal::FloatStatus::kOk) {
    return Malformed(path + "[1]", "expected a number, found \"" + std::string(text) + "\"");
  }
  return std::make_pair(ts, value);
}

core::Result<QueryResult> DecodeQueryData(const json::value& data, QueryResult result) {
  if (!data.is_object()) return WrongKind("data", "an object", data);
  const json::object& obj = data.get_object();
  const json::value* type = obj.if_contains("resultType");
  if (type == nullptr) return Malformed("data.resultType", "missing");
  GPUSCALE_ASSIGN_OR_RETURN(std::string type_name, GetString(*type, "data.resultType"));
  const json::value* raw = obj.if_contains("result");
  if (raw == nullptr) return Malformed("data.result", "missing");
  const json::value& r = *raw;
  if (type_name == "vector" || type_name == "matrix") {
    bool vector = type_name == "vector";
    result.type = vector ? ResultType::kVector : ResultType::kMatrix;
    if (r.is_null()) return result;  // some proxies send null for no series
    if (!r.is_array()) return WrongKind("data.result", "an array", r);
    const json::array& items = r.get_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      std::string path = "data.result[" + std::to_string(i) + "]";
      if (!items[i].is_object()) return WrongKind(path, "an object", items[i]);
      const json::object& item = items[i].get_object();
      const json::value* metric = item.if_contains("metric");
      Labels labels;
      if (metric != nullptr) {
        GPUSCALE_ASSIGN_OR_RETURN(labels, DecodeLabelSet(*metric, path + ".metric"));
      }
      if (vector) {
        const json::value* value = item.if_contains("value");
        if (value == nullptr) {
          if (item.contains("histogram")) {
            return Malformed(path + ".histogram", "native histogram samples are not supported");
          }
          return Malformed(path + ".value", "missing");
        }
        GPUSCALE_ASSIGN_OR_RETURN(auto point, DecodePoint(*value, path + ".value"));
        result.vector.push_back({std::move(labels), point.first, point.second});
      } else {
        const json::value* values = item.if_contains("values");
        if (values == nullptr) {
          if (item.contains("histograms")) {
            return Malformed(path + ".histograms", "native histogram samples are not supported");
          }
          return Malformed(path + ".values", "missing");
        }
        if (!values->is_array()) return WrongKind(path + ".values", "an array", *values);
        MatrixSeries series{std::move(labels), {}};
        series.values.reserve(values->get_array().size());
        for (std::size_t j = 0; j < values->get_array().size(); ++j) {
          GPUSCALE_ASSIGN_OR_RETURN(
              auto point,
              DecodePoint(values->get_array()[j], path + ".values[" + std::to_string(j) + "]"));
          series.values.push_back(point);
        }
        result.matrix.push_back(std::move(series));
      }
    }
    return result;
  }
  if (type_name == "scalar") {
    result.type = ResultType::kScalar;
    GPUSCALE_ASSIGN_OR_RETURN(auto point, DecodePoint(r, "data.result"));
    result.scalar_timestamp = point.first;
    result.scalar_value = point.second;
    return result;
  }
  if (type_name == "string") {
    result.type = ResultType::kString;
    if (!r.is_array() || r.get_array().size() != 2 || !r.get_array()[1].is_string()) {
      return Malformed("data.result", "expected [timestamp, \"string\"]");
    }
    GPUSCALE_ASSIGN_OR_RETURN(result.scalar_timestamp,
                              DecodeNumber(r.get_array()[0], "data.result[0]"));
    result.string_value = std::string(r.get_array()[1].get_string());
    return result;
  }
  return Malformed("data.resultType",
                   "expected vector, matrix, scalar or string, found \"" + type_name + "\"");
}

}  // namespace

std::string_view ResultTypeName(ResultType type) {
  switch (type) {
    case ResultType::kVector:
      return "vector";
    case ResultType::kMatrix:
      return "matrix";
    case ResultType::kScalar:
      return "scalar";
    case ResultType::kString:
      return "string";
  }
  return "vector";
}

core::Result<QueryResult> DecodeQueryResponse(std::string_view text) {
  GPUSCALE_ASSIGN_OR_RETURN(json::value root, ParseJson(text));
  QueryResult result;
  GPUSCALE_ASSIGN_OR_RETURN(const json::value* data, Envelope(root, &result.warnings));
  return DecodeQueryData(*data, std::move(result));
}

core::Result<SeriesSet> DecodeSeriesResponse(std::string_view text) {
  GPUSCALE_ASSIGN_OR_RETURN(json::value root, ParseJson(text));
  SeriesSet result;
  GPUSCALE_ASSIGN_OR_RETURN(const json::value* data, Envelope(root, &result.warnings));
  if (data->is_null()) return result;
  if (!data->is_array()) return WrongKind("data", "an array", *data);
  result.series.reserve(data->get_array().size());
  for (std::size_t i = 0; i < data->get_array().size(); ++i) {
    GPUSCALE_ASSIGN_OR_RETURN(
        Labels labels, DecodeLabelSet(data->get_array()[i], "data[" + std::to_string(i) + "]"));
    result.series.push_back(std::move(labels));
  }
  return result;
}

core::Result<LabelNames> DecodeLabelsResponse(std::string_view text) {
  GPUSCALE_ASSIGN_OR_RETURN(json::value root, ParseJson(text));
  LabelNames result;
  GPUSCALE_ASSIGN_OR_RETURN(const json::value* data, Envelope(root, &result.warnings));
  if (data->is_null()) return result;
  if (!data->is_array()) return WrongKind("data", "an array", *data);
  for (std::size_t i = 0; i < data->get_array().size(); ++i) {
    GPUSCALE_ASSIGN_OR_RETURN(std::string name,
                              GetString(data->get_array()[i], "data[" + std::to_string(i) + "]"));
    result.names.push_back(std::move(name));
  }
  return result;
}

}  // namespace gpuscale::prom
