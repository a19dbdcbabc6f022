// Go's strconv.ParseFloat, the subset Prometheus accepts.
#include "prom/internal/go_float.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>

namespace gpuscale::prom::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace

FloatStatus ParseGoFloat(std::string_view s, double* out) {
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (EqualsIgnoreCase(body, "inf") || EqualsIgnoreCase(body, "infinity")) {
    *out = negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
    return FloatStatus::kOk;
  }
  if (body.size() == s.size() && EqualsIgnoreCase(body, "nan")) {
    *out = std::numeric_limits<double>::quiet_NaN();
    return FloatStatus::kOk;
  }
  // [digits][.digits] with at least one digit, then an optional exponent.
  std::size_t i = 0, mantissa_digits = 0;
  while (i < body.size() && IsDigit(body[i])) ++i, ++mantissa_digits;
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && IsDigit(body[i])) ++i, ++mantissa_digits;
  }
  if (mantissa_digits == 0) return FloatStatus::kSyntax;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) ++i;
    std::size_t exp_digits = 0;
    while (i < body.size() && IsDigit(body[i])) ++i, ++exp_digits;
    if (exp_digits == 0) return FloatStatus::kSyntax;
  }
  if (i != body.size()) return FloatStatus::kSyntax;
  double v = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), v);
  if (ec == std::errc::result_out_of_range) {
    // from_chars reports underflow too; Go rounds that to zero or a subnormal, so only an
    // overflow to infinity is an error. The syntax is checked, so strtod reads the same text.
    std::string copy(body);
    v = std::strtod(copy.c_str(), nullptr);
    if (std::isinf(v)) return FloatStatus::kRange;
  } else if (ec != std::errc() || ptr != body.data() + body.size()) {
    return FloatStatus::kSyntax;
  }
  *out = negative ? -v : v;
  return FloatStatus::kOk;
}

}  // namespace gpuscale::prom::internal
