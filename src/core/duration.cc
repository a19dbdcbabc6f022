#include "core/duration.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdint>

namespace gpuscale::core {

Result<Duration> ParseDuration(std::string_view text) {
  auto fail = [&](std::string_view why) {
    return InvalidArgument(fmt::format("invalid duration \"{}\": {}", text, why));
  };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration::zero();
  if (s.empty()) return fail("empty");
  long double total_ns = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == 0) return fail("expected a number");
    std::string number(s.substr(0, i));
    if (number == ".") return fail("expected a number");
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && !((s[j] >= '0' && s[j] <= '9') || s[j] == '.')) ++j;
    std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    long double scale;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs")
      scale = 1e3;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "s")
      scale = 1e9;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else if (unit.empty())
      return fail("missing unit");
    else
      return fail(fmt::format("unknown unit \"{}\"", unit));
    char* end = nullptr;
    long double value = std::strtold(number.c_str(), &end);
    if (end != number.c_str() + number.size()) return fail("bad number");
    total_ns += value * scale;
  }
  if (total_ns > static_cast<long double>(INT64_MAX)) return fail("overflow");
  auto ns = static_cast<std::int64_t>(std::llround(total_ns));
  return Duration(negative ? -ns : ns);
}

std::string FormatDuration(Duration d) {
  std::int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  std::uint64_t u = ns < 0 ? -static_cast<std::uint64_t>(ns) : ns;
  if (u < 1000) return fmt::format("{}{}ns", sign, u);
  if (u < 1000000) return fmt::format("{}{}µs", sign, static_cast<double>(u) / 1e3);
  if (u < 1000000000) return fmt::format("{}{}ms", sign, static_cast<double>(u) / 1e6);
  std::uint64_t h = u / 3600000000000ULL;
  u %= 3600000000000ULL;
  std::uint64_t m = u / 60000000000ULL;
  u %= 60000000000ULL;
  double secs = static_cast<double>(u) / 1e9;
  std::string out = sign;
  if (h) out += fmt::format("{}h", h);
  if (h || m) out += fmt::format("{}m", m);
  out += fmt::format("{}s", secs);
  return out;
}

}  // namespace gpuscale::core
