// Decoders of Prometheus API answers. Boost.JSON is confined to this file; errors name the JSON
// field path so a malformed answer can be found in a capture.
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <optional>

#include "prom/api.h"
#include "prom/internal/go_float.h"

namespace gpuscale::prom {
namespace {

namespace json = boost::json;

// A JSON value's kind as error messages name it; the streaming decoder sees no json::value.
enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };

std::string KindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "a boolean";
    case Kind::kNumber:
      return "a number";
    case Kind::kString:
      return "a string";
    case Kind::kArray:
      return "an array";
    case Kind::kObject:
      return "an object";
  }
  return "a value";
}

Kind KindOf(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return Kind::kNull;
    case json::kind::bool_:
      return Kind::kBool;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return Kind::kNumber;
    case json::kind::string:
      return Kind::kString;
    case json::kind::array:
      return Kind::kArray;
    case json::kind::object:
      return Kind::kObject;
  }
  return Kind::kNull;
}

std::string KindName(const json::value& v) { return KindName(KindOf(v)); }

core::Error Malformed(const std::string& path, std::string_view message) {
  return core::DataLoss(path + ": " + std::string(message));
}
core::Error WrongKind(const std::string& path, std::string_view expected, Kind kind) {
  return Malformed(path, "expected " + std::string(expected) + ", found " + KindName(kind));
}
core::Error WrongKind(const std::string& path, std::string_view expected, const json::value& v) {
  return WrongKind(path, expected, KindOf(v));
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

// Handler of json::basic_parser for /api/v1/series answers. It follows where each value sits
// (the root, a top-level member, a warning, a series, a label value), keeps the envelope's
// members and the current series, and records the first error of each kind; SeriesDecoder
// ranks them as DecodeSeriesResponse's checks do, so both give the same answer.
class SeriesHandler {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  explicit SeriesHandler(SeriesDecoder::OnSeries on_series) : on_series_(std::move(on_series)) {}

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return Begin(Kind::kArray); }
  bool on_array_end(std::size_t, json::error_code&) { return End(); }
  bool on_object_begin(json::error_code&) { return Begin(Kind::kObject); }
  bool on_object_end(std::size_t, json::error_code&) { return End(); }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    if (WantValue()) text_.append(s.data(), s.size());
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    if (WantValue()) text_.append(s.data(), s.size());
    Value(Kind::kString);
    text_.clear();
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    if (WantKey()) text_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    if (WantKey()) text_.append(s.data(), s.size());
    Key();
    text_.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) {
    return Scalar(Kind::kNumber);
  }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) {
    return Scalar(Kind::kNumber);
  }
  bool on_double(double, json::string_view, json::error_code&) { return Scalar(Kind::kNumber); }
  bool on_bool(bool, json::error_code&) { return Scalar(Kind::kBool); }
  bool on_null(json::error_code&) { return Scalar(Kind::kNull); }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

  // The answer once the JSON parsed: the checks of DecodeSeriesResponse, in its order.
  core::Result<std::vector<std::string>> Result() {
    if (root_ != Kind::kObject) return WrongKind("response", "an object", root_);
    if (!duplicate_.empty()) return Malformed(duplicate_, "duplicate key");
    if (!status_kind_) return Malformed("status", "missing");
    if (*status_kind_ != Kind::kString) return WrongKind("status", "a string", *status_kind_);
    if (status_ == "error") {
      std::string type = error_type_.value_or("unknown");
      return core::MakeError(CodeForErrorType(type), type + ": " + error_.value_or(""));
    }
    if (status_ != "success") {
      return Malformed("status", "expected \"success\" or \"error\", found \"" + status_ + "\"");
    }
    if (warnings_error_) return *warnings_error_;
    if (!data_seen_) return Malformed("data", "missing");
    if (data_error_) return *data_error_;
    return std::move(warnings_);
  }

 private:
  // What the innermost open container is.
  enum class Where { kRoot, kWarnings, kData, kSeries, kSkipped };
  // The top-level member being read.
  enum class Member { kStatus, kErrorType, kError, kWarnings, kData, kOther };

  // Whether the key or string value being read is kept (text_ collects it).
  bool WantKey() const {
    return !open_.empty() && (open_.back() == Where::kRoot || open_.back() == Where::kSeries);
  }
  bool WantValue() const {
    if (open_.empty()) return false;
    switch (open_.back()) {
      case Where::kRoot:
        return member_ == Member::kStatus || member_ == Member::kErrorType ||
               member_ == Member::kError;
      case Where::kWarnings:
      case Where::kSeries:
        return true;
      case Where::kData:
      case Where::kSkipped:
        return false;
    }
    return false;
  }

  void Key() {
    if (open_.empty()) return;
    if (open_.back() == Where::kRoot) {
      member_ = text_ == "status"      ? Member::kStatus
                : text_ == "errorType" ? Member::kErrorType
                : text_ == "error"     ? Member::kError
                : text_ == "warnings"  ? Member::kWarnings
                : text_ == "data"      ? Member::kData
                                       : Member::kOther;
    } else if (open_.back() == Where::kSeries) {
      // A repeated name keeps its first place and takes the last value, as a JSON object does.
      label_ = 0;
      while (label_ < labels_.size() && labels_[label_].name != text_) ++label_;
      if (label_ == labels_.size()) {
        labels_.push_back({text_, {}});
        kinds_.push_back(Kind::kNull);
      }
    }
  }

  bool Begin(Kind kind) {
    open_.push_back(Value(kind));
    return true;
  }
  bool End() {
    Where closed = open_.back();
    open_.pop_back();
    if (closed == Where::kSeries) EndSeries();
    return true;
  }
  bool Scalar(Kind kind) {
    Value(kind);
    return true;
  }

  // A value starts (a scalar, or a container about to open): takes what this place keeps and
  // says what the container holds.
  Where Value(Kind kind) {
    if (open_.empty()) {
      root_ = kind;
      return kind == Kind::kObject ? Where::kRoot : Where::kSkipped;
    }
    switch (open_.back()) {
      case Where::kRoot:
        return TopLevel(kind);
      case Where::kWarnings: {
        std::size_t i = warning_index_++;
        if (kind == Kind::kString) {
          warnings_.push_back(text_);
        } else if (!warnings_error_) {
          warnings_error_ = WrongKind("warnings[" + std::to_string(i) + "]", "a string", kind);
        }
        return Where::kSkipped;
      }
      case Where::kData:
        series_index_ = data_index_++;
        if (data_error_) return Where::kSkipped;  // the answer fails; stop decoding series
        if (kind == Kind::kObject) {
          labels_.clear();
          kinds_.clear();
          return Where::kSeries;
        }
        data_error_ = WrongKind("data[" + std::to_string(series_index_) + "]",
                                "an object of label names to values", kind);
        return Where::kSkipped;
      case Where::kSeries:
        kinds_[label_] = kind;
        if (kind == Kind::kString) labels_[label_].value = text_;
        return Where::kSkipped;
      case Where::kSkipped:
        return Where::kSkipped;
    }
    return Where::kSkipped;
  }

  Where TopLevel(Kind kind) {
    switch (member_) {
      case Member::kStatus:
        if (status_kind_) {
          if (duplicate_.empty()) duplicate_ = "status";
          return Where::kSkipped;
        }
        status_kind_ = kind;
        if (kind == Kind::kString) status_ = text_;
        // Series held until now are kept for a success answer, else dropped.
        deliver_ = kind == Kind::kString && status_ == "success";
        if (deliver_) {
          for (Labels& labels : held_) on_series_(labels);
        }
        held_.clear();
        held_.shrink_to_fit();
        return Where::kSkipped;
      case Member::kErrorType:
        error_type_ = kind == Kind::kString ? std::optional(text_) : std::nullopt;
        return Where::kSkipped;
      case Member::kError:
        error_ = kind == Kind::kString ? std::optional(text_) : std::nullopt;
        return Where::kSkipped;
      case Member::kWarnings:  // a repeated key: the last one counts
        warnings_.clear();
        warnings_error_.reset();
        warning_index_ = 0;
        if (kind == Kind::kArray) return Where::kWarnings;
        if (kind != Kind::kNull) warnings_error_ = WrongKind("warnings", "an array", kind);
        return Where::kSkipped;
      case Member::kData:
        if (data_seen_) {
          if (duplicate_.empty()) duplicate_ = "data";
          return Where::kSkipped;
        }
        data_seen_ = true;
        if (kind == Kind::kArray) return Where::kData;
        if (kind != Kind::kNull) data_error_ = WrongKind("data", "an array", kind);
        return Where::kSkipped;
      case Member::kOther:
        return Where::kSkipped;
    }
    return Where::kSkipped;
  }

  void EndSeries() {
    for (std::size_t i = 0; i < labels_.size(); ++i) {
      if (kinds_[i] != Kind::kString) {
        data_error_ = WrongKind("data[" + std::to_string(series_index_) + "]." + labels_[i].name,
                                "a string", kinds_[i]);
        return;
      }
    }
    if (!status_kind_) {
      held_.push_back(std::move(labels_));
    } else if (deliver_) {
      on_series_(labels_);
    }
    labels_.clear();
  }

  SeriesDecoder::OnSeries on_series_;
  std::vector<Where> open_;  // the containers open, outermost first
  std::string text_;         // the string or key being read, where it is kept
  Member member_ = Member::kOther;

  Kind root_ = Kind::kNull;
  std::string duplicate_;  // the first repeated "status" or "data" key
  std::optional<Kind> status_kind_;
  std::string status_;
  bool deliver_ = false;  // status is "success": hand series over
  std::optional<std::string> error_type_, error_;
  std::vector<std::string> warnings_;
  std::optional<core::Error> warnings_error_;
  std::size_t warning_index_ = 0;
  bool data_seen_ = false;
  std::optional<core::Error> data_error_;
  std::size_t data_index_ = 0;
  std::size_t series_index_ = 0;
  Labels labels_;             // the series being read
  std::vector<Kind> kinds_;   // the kind of each of its values
  std::size_t label_ = 0;     // the label whose value comes next
  std::vector<Labels> held_;  // complete series that came before "status"
};

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
  SeriesSet result;
  SeriesDecoder decoder([&result](Labels& labels) { result.series.push_back(std::move(labels)); });
  decoder.Feed(text);
  GPUSCALE_ASSIGN_OR_RETURN(result.warnings, decoder.Finish());
  return result;
}

class SeriesDecoder::Impl {
 public:
  explicit Impl(OnSeries on_series) : parser_(json::parse_options(), std::move(on_series)) {}

  bool Feed(std::string_view piece) {
    if (error_) return false;
    std::size_t n = parser_.write_some(true, piece.data(), piece.size(), error_);
    // The answer ended inside this piece and something other than whitespace follows.
    if (!error_ && n < piece.size()) {
      error_ = json::error::extra_data;
      parser_.fail(error_);
    }
    return !error_;
  }

  core::Result<std::vector<std::string>> Finish() {
    if (!error_) parser_.write_some(false, "", 0, error_);
    if (error_) return core::DataLoss("malformed JSON: " + error_.message());
    return parser_.handler().Result();
  }

 private:
  json::basic_parser<SeriesHandler> parser_;
  json::error_code error_;
};

SeriesDecoder::SeriesDecoder(OnSeries on_series)
    : impl_(std::make_unique<Impl>(std::move(on_series))) {}
SeriesDecoder::~SeriesDecoder() = default;
bool SeriesDecoder::Feed(std::string_view piece) { return impl_->Feed(piece); }
core::Result<std::vector<std::string>> SeriesDecoder::Finish() { return impl_->Finish(); }

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
