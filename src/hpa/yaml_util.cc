#include "hpa/yaml_util.h"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/duration.h"
#include "hpa/quantity.h"

namespace gpuscale::hpa::internal {
namespace {

std::string Found(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  return "'" + node.Scalar() + "'";
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

core::Error ErrorAt(const Source& src, const YAML::Mark& mark, std::string_view message) {
  std::string where = src.file;
  if (!mark.is_null()) {
    where += ":" + std::to_string(mark.line + 1 + src.line_offset) + ":" +
             std::to_string(mark.column + 1);
  }
  return core::InvalidArgument(where + ": " + std::string(message));
}

core::Error ErrorAt(const Source& src, const YAML::Node& node, std::string_view path,
                    std::string_view message) {
  YAML::Mark mark = node.IsDefined() ? node.Mark() : YAML::Mark::null_mark();
  return ErrorAt(src, mark, std::string(path) + ": " + std::string(message));
}

core::Result<YAML::Node> Load(const Source& src, std::string_view text) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return ErrorAt(src, e.mark, e.msg);
  }
}

core::Status ExpectMap(const Source& src, const YAML::Node& node, std::string_view path) {
  if (!node.IsMap()) return ErrorAt(src, node, path, "expected a mapping, found " + Found(node));
  return core::Status::Ok();
}

core::Status ExpectSeq(const Source& src, const YAML::Node& node, std::string_view path) {
  if (!node.IsSequence()) return ErrorAt(src, node, path, "expected a list, found " + Found(node));
  return core::Status::Ok();
}

core::Status CheckKeys(const Source& src, const YAML::Node& map, std::string_view path,
                       std::initializer_list<std::string_view> allowed) {
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>("");
    bool ok = false;
    for (auto a : allowed) ok = ok || a == key;
    if (!ok) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return ErrorAt(src, kv.first, std::string(path) + (path.empty() ? "" : ".") + key,
                     "unknown field; expected one of " + list);
    }
  }
  return core::Status::Ok();
}

core::Result<std::string> String(const Source& src, const YAML::Node& node, std::string_view path) {
  if (!node.IsScalar()) return ErrorAt(src, node, path, "expected a string, found " + Found(node));
  return node.Scalar();
}

core::Result<int64_t> Int(const Source& src, const YAML::Node& node, std::string_view path,
                          int64_t min, int64_t max) {
  if (!node.IsScalar()) {
    return ErrorAt(src, node, path, "expected an integer, found " + Found(node));
  }
  const std::string& s = node.Scalar();
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  if (i == s.size() || s.size() > 19) {
    return ErrorAt(src, node, path, "expected an integer, found " + Found(node));
  }
  for (size_t k = i; k < s.size(); ++k) {
    if (!std::isdigit(static_cast<unsigned char>(s[k]))) {
      return ErrorAt(src, node, path, "expected an integer, found " + Found(node));
    }
  }
  const int64_t v = std::stoll(s);
  if (v < min || v > max) {
    return ErrorAt(src, node, path,
                   "expected an integer from " + std::to_string(min) + " to " +
                       std::to_string(max) + ", found " + s);
  }
  return v;
}

core::Result<double> Double(const Source& src, const YAML::Node& node, std::string_view path) {
  if (!node.IsScalar()) return ErrorAt(src, node, path, "expected a number, found " + Found(node));
  const std::string& s = node.Scalar();
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) {
    return ErrorAt(src, node, path, "expected a number, found " + Found(node));
  }
  return v;
}

core::Result<bool> Bool(const Source& src, const YAML::Node& node, std::string_view path) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s == "true" || s == "True") return true;
    if (s == "false" || s == "False") return false;
  }
  return ErrorAt(src, node, path, "expected true or false, found " + Found(node));
}

core::Result<int64_t> Milli(const Source& src, const YAML::Node& node, std::string_view path) {
  if (!node.IsScalar()) {
    return ErrorAt(src, node, path, "expected a quantity, found " + Found(node));
  }
  auto v = ParseMilliQuantity(node.Scalar());
  if (!v.ok()) return ErrorAt(src, node, path, v.error().message);
  return *v;
}

core::Result<core::Timestamp> ParseRfc3339(std::string_view s) {
  auto bad = [&] {
    return core::InvalidArgument("expected an RFC 3339 time like 2025-01-01T00:00:00Z, found '" +
                                 std::string(s) + "'");
  };
  auto digits = [&](size_t pos, size_t n, int* out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!digits(0, 4, &y) || s.size() < 20 || s[4] != '-' || !digits(5, 2, &mo) || s[7] != '-' ||
      !digits(8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(11, 2, &h) ||
      s[13] != ':' || !digits(14, 2, &mi) || s[16] != ':' || !digits(17, 2, &sec)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return bad();
  size_t pos = 19;
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100'000'000;
    size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      nanos += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad();
  }
  int64_t offset_s = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!digits(pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !digits(pos + 4, 2, &om)) {
      return bad();
    }
    offset_s = (s[pos] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return bad();
  }
  if (pos != s.size()) return bad();
  const int64_t secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset_s;
  return core::Timestamp(std::chrono::seconds(secs) + std::chrono::nanoseconds(nanos));
}

std::string FormatRfc3339(core::Timestamp t) {
  const int64_t ns = t.time_since_epoch().count();
  int64_t secs = ns >= 0 ? ns / 1'000'000'000 : -((-ns + 999'999'999) / 1'000'000'000);
  const int64_t frac = ns - secs * 1'000'000'000;
  int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  int64_t rem = secs - days * 86400;
  // civil_from_days
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                static_cast<long long>(y), m, d, static_cast<long long>(rem / 3600),
                static_cast<long long>(rem / 60 % 60), static_cast<long long>(rem % 60));
  std::string out = buf;
  if (frac != 0) {
    char f[32];  // room for any long long, so -O2's truncation check holds
    std::snprintf(f, sizeof(f), ".%09lld", static_cast<long long>(frac));
    std::string fs = f;
    while (fs.back() == '0') fs.pop_back();
    out += fs;
  }
  return out + "Z";
}

core::Result<core::Timestamp> Time(const Source& src, const YAML::Node& node, std::string_view path,
                                   core::Timestamp relative_to) {
  if (!node.IsScalar()) return ErrorAt(src, node, path, "expected a time, found " + Found(node));
  const std::string& s = node.Scalar();
  if (!s.empty() && s[0] == '-' && s.size() > 1 &&
      !std::isdigit(static_cast<unsigned char>(s.back()))) {
    auto d = core::ParseDuration(s);
    if (!d.ok()) return ErrorAt(src, node, path, d.error().message);
    return relative_to + *d;
  }
  if (!s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-') &&
      s.find_first_of("T:") == std::string::npos) {
    GPUSCALE_ASSIGN_OR_RETURN(double secs, Double(src, node, path));
    return core::FromUnixSeconds(secs);
  }
  auto t = ParseRfc3339(s);
  if (!t.ok()) return ErrorAt(src, node, path, t.error().message);
  return *t;
}

}  // namespace gpuscale::hpa::internal
