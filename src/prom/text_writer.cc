// The exposition writer. Number formatting follows Go's strconv.FormatFloat(v, 'g', -1, 64),
// which Prometheus's own expfmt uses, so our bodies are byte-identical to client_golang's.
#include <charconv>
#include <cmath>
#include <cstring>

#include "prom/exposition.h"

namespace gpuscale::prom {

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
    case MetricType::kSummary:
      return "summary";
    case MetricType::kUntyped:
      return "untyped";
  }
  return "untyped";
}

void AppendValue(double value, std::string* out) {
  if (std::isnan(value)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out->append(value > 0 ? "+Inf" : "-Inf");
    return;
  }
  char buf[40];
  // Integers below 1e6 print as themselves in 'g' form; this is the common case for counters.
  if (value == std::trunc(value) && std::fabs(value) < 1e6 &&
      !(value == 0 && std::signbit(value))) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value));
    out->append(buf, end);
    return;
  }
  // Shortest round-trip digits in scientific form: [-]d[.ddd]e(+|-)XX.
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string_view s(buf, end - buf);
  bool negative = s.front() == '-';
  if (negative) s.remove_prefix(1);
  std::size_t e = s.find('e');
  std::string_view mantissa = s.substr(0, e);
  int exp = 0;
  std::from_chars(s.data() + e + 1 + (s[e + 1] == '+'), s.data() + s.size(), exp);
  char digits[24];
  std::size_t nd = 0;
  for (char c : mantissa) {
    if (c != '.') digits[nd++] = c;
  }
  if (negative) out->push_back('-');
  // Go uses %e when the exponent is < -4 or >= 6 (precision 6 for shortest formatting).
  if (exp < -4 || exp >= 6) {
    out->append(mantissa);
    out->push_back('e');
    out->push_back(exp < 0 ? '-' : '+');
    int a = exp < 0 ? -exp : exp;
    if (a < 10) out->push_back('0');
    auto [ee, ec2] = std::to_chars(buf, buf + sizeof buf, a);
    out->append(buf, ee);
    return;
  }
  // %f with exactly the significant digits: the decimal point sits after exp + 1 digits.
  int dp = exp + 1;
  if (dp <= 0) {
    out->append("0.");
    out->append(static_cast<std::size_t>(-dp), '0');
    out->append(digits, nd);
  } else if (static_cast<std::size_t>(dp) >= nd) {
    out->append(digits, nd);
    out->append(dp - nd, '0');
  } else {
    out->append(digits, dp);
    out->push_back('.');
    out->append(digits + dp, nd - dp);
  }
}

std::string FormatValue(double value) {
  std::string out;
  AppendValue(value, &out);
  return out;
}

void AppendEscapedLabelValue(std::string_view value, std::string* out) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c != '\\' && c != '"' && c != '\n') continue;
    out->append(value.data() + start, i - start);
    out->push_back('\\');
    out->push_back(c == '\n' ? 'n' : c);
    start = i + 1;
  }
  out->append(value.data() + start, value.size() - start);
}

void AppendEscapedHelp(std::string_view help, std::string* out) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < help.size(); ++i) {
    char c = help[i];
    if (c != '\\' && c != '\n') continue;
    out->append(help.data() + start, i - start);
    out->push_back('\\');
    out->push_back(c == '\n' ? 'n' : c);
    start = i + 1;
  }
  out->append(help.data() + start, help.size() - start);
}

void AppendHeader(std::string_view name, std::string_view help, MetricType type, std::string* out) {
  if (!help.empty()) {
    out->append("# HELP ");
    out->append(name);
    out->push_back(' ');
    AppendEscapedHelp(help, out);
    out->push_back('\n');
  }
  out->append("# TYPE ");
  out->append(name);
  out->push_back(' ');
  out->append(MetricTypeName(type));
  out->push_back('\n');
}

namespace {

void AppendLabel(const Label& label, std::string* out) {
  out->append(label.name);
  out->append("=\"");
  AppendEscapedLabelValue(label.value, out);
  out->push_back('"');
}

void AppendTail(double value, std::optional<int64_t> timestamp_ms, std::string* out) {
  out->push_back(' ');
  AppendValue(value, out);
  if (timestamp_ms) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *timestamp_ms);
    out->push_back(' ');
    out->append(buf, end);
  }
  out->push_back('\n');
}

}  // namespace

void AppendSample(std::string_view name, const Labels& labels, double value,
                  std::optional<int64_t> timestamp_ms, std::string* out) {
  out->append(name);
  if (!labels.empty()) {
    out->push_back('{');
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i) out->push_back(',');
      AppendLabel(labels[i], out);
    }
    out->push_back('}');
  }
  AppendTail(value, timestamp_ms, out);
}

void AppendSample(std::string_view name, const Labels& labels, const Label& extra, double value,
                  std::optional<int64_t> timestamp_ms, std::string* out) {
  out->append(name);
  out->push_back('{');
  for (const Label& label : labels) {
    AppendLabel(label, out);
    out->push_back(',');
  }
  AppendLabel(extra, out);
  out->push_back('}');
  AppendTail(value, timestamp_ms, out);
}

void AppendFamily(const MetricFamily& family, std::string* out) {
  AppendHeader(family.name, family.help, family.type, out);
  for (const Sample& s : family.samples) {
    AppendSample(s.name, s.labels, s.value, s.timestamp_ms, out);
  }
}

std::string Render(const std::vector<MetricFamily>& families) {
  std::string out;
  std::size_t estimate = 0;
  for (const MetricFamily& f : families) estimate += 64 + f.samples.size() * 96;
  out.reserve(estimate);
  for (const MetricFamily& f : families) AppendFamily(f, &out);
  return out;
}

namespace {
bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool IsNameChar(char c, bool colon) { return IsNameStart(c, colon) || (c >= '0' && c <= '9'); }
bool IsValidName(std::string_view name, bool colon) {
  if (name.empty() || !IsNameStart(name[0], colon)) return false;
  for (char c : name.substr(1)) {
    if (!IsNameChar(c, colon)) return false;
  }
  return true;
}
}  // namespace

bool IsValidMetricName(std::string_view name) { return IsValidName(name, true); }
bool IsValidLabelName(std::string_view name) { return IsValidName(name, false); }

}  // namespace gpuscale::prom
